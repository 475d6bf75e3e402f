package journal

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// memSM is a StateMachine that records what it was given.
type memSM struct {
	entries []*journalpb.JournalEntry
	resets  int
	failAt  int64 // Apply fails for this seq if non-zero
}

func (m *memSM) Apply(e *journalpb.JournalEntry) error {
	if m.failAt != 0 && e.GetSequenceNumber() == m.failAt {
		return fmt.Errorf("apply failed at %d", m.failAt)
	}
	m.entries = append(m.entries, proto.Clone(e).(*journalpb.JournalEntry))
	return nil
}

func (m *memSM) Reset() { m.entries = nil; m.resets++ }

// blockIDs returns the block ids of the NewBlock entries applied, in order.
func (m *memSM) blockIDs() []int64 {
	var out []int64
	for _, e := range m.entries {
		if nb := e.GetNewBlock(); nb != nil {
			out = append(out, nb.GetBlockId())
		}
	}
	return out
}

func newBlock(id int64) *journalpb.JournalEntry {
	return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_NewBlock{NewBlock: &journalpb.NewBlockEntry{FileId: 1, BlockId: id}}}
}

func newTestJournal(t testing.TB, cfg Config) *Journal {
	t.Helper()
	if cfg.Folder == "" {
		cfg.Folder = t.TempDir()
		if err := Format(cfg.Folder); err != nil {
			t.Fatal(err)
		}
	}
	j, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Tests flush explicitly and change hooks while writers run: no
	// background flushes (TestBackgroundFlush turns them on).
	j.flushDelay = 0
	return j
}

// reopen returns a fresh Journal over the same folder (a restarted master).
func reopen(t testing.TB, j *Journal) *Journal {
	t.Helper()
	j2, err := Open(j.cfg)
	if err != nil {
		t.Fatal(err)
	}
	j2.flushDelay = j.flushDelay
	return j2
}

// writeBlocks starts a writer with epoch, appends blocks [from, to] and
// flushes, returning the last seq.
func writeBlocks(t testing.TB, j *Journal, epoch, from, to int64, closeAfter bool) (Writer, int64) {
	t.Helper()
	ctx := context.Background()
	w, err := j.StartWriting(ctx, epoch)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for id := from; id <= to; id++ {
		if last, err = w.Append(newBlock(id)); err != nil {
			t.Fatal(err)
		}
	}
	if last > 0 {
		if err := w.Flush(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	if closeAfter {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return w, last
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func logNames(t testing.TB, j *Journal) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(j.Dir(), logsDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// writeRawLog writes entries as records to logs/<name>, for hand-built
// journals. Entries keep the seq and epoch they carry.
func writeRawLog(t testing.TB, j *Journal, name string, entries ...*journalpb.JournalEntry) {
	t.Helper()
	var b []byte
	for _, e := range entries {
		p, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b = appendRecord(b, p)
	}
	if err := os.WriteFile(filepath.Join(j.Dir(), logsDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rec(seq, epoch, block int64) *journalpb.JournalEntry {
	e := newBlock(block)
	e.SequenceNumber, e.Epoch = seq, epoch
	return e
}

func term(seq, epoch int64) *journalpb.JournalEntry {
	return &journalpb.JournalEntry{SequenceNumber: seq, Epoch: epoch,
		Entry: &journalpb.JournalEntry_NewTerm{NewTerm: &journalpb.NewTermEntry{Epoch: epoch}}}
}

// recordOffsets returns the offset of every valid record of a file.
func recordOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rr := newRecordReader(f, st.Size())
	var offs []int64
	for {
		_, off, err := rr.next()
		if err != nil {
			return offs
		}
		offs = append(offs, off)
	}
}

func findLog(t testing.TB, j *Journal, open bool) string {
	t.Helper()
	segs, err := listSegments(context.Background(), j.st, j.logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.open() == open {
			return filepath.Join(j.Dir(), logsDir, path.Base(s.name))
		}
	}
	t.Fatalf("no log with open=%v", open)
	return ""
}
