package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/proto/journalpb"
)

func TestCorruptCompletedLogIsFatal(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(b []byte, off int64) []byte // off: offset of the damaged record
		want   string
	}{
		{"crc mismatch", func(b []byte, off int64) []byte { b[off+3] ^= 0xff; return b }, "crc mismatch"},
		{"truncated", func(b []byte, off int64) []byte { return b[:off+3] }, "truncated record"},
		{"bad length", func(b []byte, off int64) []byte {
			return append(append(b[:off:off], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), b[off+1:]...)
		}, "bad record length"},
		{"zero length", func(b []byte, off int64) []byte { b[off] = 0; return b }, "bad record length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{LogSizeBytesMax: 512})
			writeBlocks(t, j, 1, 1, 100, true)
			path := findLog(t, j, false)
			if !strings.HasPrefix(filepath.Base(path), "0x1-") {
				t.Fatalf("first log %s", path)
			}
			offs := recordOffsets(t, path)
			off := offs[len(offs)/2]
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b, off), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = reopen(t, j).Replay(ctx, &memSM{})
			want := fmt.Sprintf("journal: corrupt record in %s at offset %d: %s", path, off, tc.want)
			if !errors.Is(err, ErrCorrupt) || err == nil || err.Error() != want {
				t.Fatalf("replay error\n got %v\nwant %s", err, want)
			}
			if _, err := reopen(t, j).StartWriting(ctx, 2); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("start writing on a corrupt journal: %v", err)
			}
		})
	}
}

func TestOpenLogCorruptTail(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		damage   func(b []byte, lastOff int64) []byte
		lost     int64 // records lost from the end
		wantFail bool
	}{
		{"truncated mid record", func(b []byte, off int64) []byte { return b[:len(b)-3] }, 1, false},
		{"truncated in length", func(b []byte, off int64) []byte { return append(b[:off:off], 0x80) }, 1, false},
		{"zero filled tail", func(b []byte, off int64) []byte { return append(b, make([]byte, 4096)...) }, 0, false},
		{"garbage tail", func(b []byte, off int64) []byte { return append(b, 0x05, 1, 2, 3) }, 0, false},
		{"last record crc", func(b []byte, off int64) []byte { b[len(b)-1] ^= 1; return b }, 1, false},
		{"middle record crc", func(b []byte, off int64) []byte { b[off-2] ^= 1; return b }, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{})
			_, last := writeBlocks(t, j, 1, 1, 20, true) // seqs 1..21 in the open log
			path := findLog(t, j, true)
			offs := recordOffsets(t, path)
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(b, offs[len(offs)-1]), 0o644); err != nil {
				t.Fatal(err)
			}
			sm := &memSM{}
			res, err := reopen(t, j).Replay(ctx, sm)
			if tc.wantFail {
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
					t.Fatalf("replay: %v, want corruption naming %s", err, path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.LastSeq != last-tc.lost {
				t.Fatalf("last seq %d, want %d", res.LastSeq, last-tc.lost)
			}
			// A new term seals the open log at its last valid record and
			// continues right after it.
			j2 := reopen(t, j)
			w, err := j2.StartWriting(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			seq, err := w.Append(newBlock(1000))
			if err != nil {
				t.Fatal(err)
			}
			if want := res.LastSeq + 2; seq != want { // +1 is the NewTermEntry
				t.Fatalf("first append seq %d, want %d", seq, want)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			sealed := filepath.Join(j.Dir(), logsDir, segName(1, res.LastSeq+1))
			st, err := os.Stat(sealed)
			if err != nil {
				t.Fatalf("sealed log: %v (logs %v)", err, logNames(t, j))
			}
			offs2 := recordOffsets(t, sealed)
			if int64(len(offs2)) != res.LastSeq || st.Size() > int64(len(b)) {
				t.Fatalf("sealed log has %d records, %d bytes", len(offs2), st.Size())
			}
			sm2 := &memSM{}
			res2, err := reopen(t, j).Replay(ctx, sm2)
			if err != nil {
				t.Fatal(err)
			}
			if res2.LastSeq != seq || res2.LastEpoch != 2 {
				t.Fatalf("after new term: %+v", res2)
			}
			ids := sm2.blockIDs()
			if ids[len(ids)-1] != 1000 || !equalInts(ids[:len(ids)-1], seqRange(1, 20-tc.lost)) {
				t.Fatalf("blocks %v", ids)
			}
		})
	}
}

func TestSequenceErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		files map[string][]int64 // file -> seqs (epoch 1)
		want  string
	}{
		{"gap between files", map[string][]int64{"0x1-0x3": {1, 2}, "0x4-0x7fffffffffffffff": {4, 5}}, "gap: log"},
		{"gap in a file", map[string][]int64{"0x1-0x7fffffffffffffff": {1, 2, 4}}, "gap in"},
		{"duplicate", map[string][]int64{"0x1-0x7fffffffffffffff": {1, 2, 2, 3}}, "duplicate in"},
		{"first log not at 1", map[string][]int64{"0x2-0x7fffffffffffffff": {2, 3}}, "gap: log"},
		{"completed log short", map[string][]int64{"0x1-0x5": {1, 2, 3}, "0x5-0x7fffffffffffffff": {5}}, "ends at seq 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{})
			for name, seqs := range tc.files {
				var es []*journalpb.JournalEntry
				for _, s := range seqs {
					es = append(es, rec(s, 1, s))
				}
				writeRawLog(t, j, name, es...)
			}
			_, err := j.Replay(ctx, &memSM{})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("replay: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFencing(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	// Term 1 writes 1..3; term 2 seals it at 2 and writes 3 (its NewTerm),
	// 4; the deposed leader's late records (epoch 1) land after it and in
	// the sealed file, and must be skipped.
	writeRawLog(t, j, "0x1-0x3", term(1, 1), rec(2, 1, 2), rec(3, 1, 3))
	writeRawLog(t, j, "0x3-0x7fffffffffffffff", term(3, 2), rec(4, 1, 99), rec(4, 2, 4), rec(5, 1, 98), rec(5, 2, 5))
	sm := &memSM{}
	res, err := j.Replay(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq != 5 || res.LastEpoch != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := sm.blockIDs(); !equalInts(got, []int64{2, 4, 5}) {
		t.Fatalf("blocks %v, want [2 4 5]", got)
	}
	// A new leader with epoch 2 is refused, 3 continues at 6.
	if _, err := j.StartWriting(ctx, 2); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("epoch 2: %v", err)
	}
	w, err := j.StartWriting(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := w.Append(newBlock(6)); seq != 7 {
		t.Fatalf("seq %d, want 7", seq)
	}
	w.Close()
}

// TestDeposedWriter: a leader that keeps writing after a new leader sealed
// its open log writes past the sealed end; readers ignore those records and
// its next rotation fails instead of renaming the new leader's file.
func TestDeposedWriter(t *testing.T) {
	ctx := context.Background()
	old := newTestJournal(t, Config{LogSizeBytesMax: 4096})
	w1, _ := writeBlocks(t, old, 1, 1, 10, false) // seqs 1..11, open log stays open

	j2 := reopen(t, old)
	w2, last := writeBlocks(t, j2, 2, 11, 12, false) // seqs 12 (term), 13, 14
	if last != 14 {
		t.Fatalf("new leader last seq %d", last)
	}
	// The deposed leader writes on through its file descriptor.
	var seq int64
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		if seq, err = w1.Append(newBlock(int64(500 + i))); err == nil {
			err = w1.Flush(ctx, seq)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "sealed by another writer") {
		t.Fatalf("deposed writer kept going: %v", err)
	}
	if _, err := w1.Append(newBlock(1)); err == nil {
		t.Fatal("broken writer accepted an append")
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	sm := &memSM{}
	res, err := reopen(t, old).Replay(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq != 14 {
		t.Fatalf("last seq %d, want 14", res.LastSeq)
	}
	if got := sm.blockIDs(); !equalInts(got, append(seqRange(1, 10), 11, 12)) {
		t.Fatalf("blocks %v", got)
	}
}

func TestReplayErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := Open(Config{Folder: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Replay(ctx, &memSM{}); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("unformatted: %v", err)
	}
	if _, err := j.StartWriting(ctx, 1); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("unformatted: %v", err)
	}
	j = newTestJournal(t, Config{})
	writeBlocks(t, j, 1, 1, 5000, true)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := reopen(t, j).Replay(cctx, &memSM{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if _, err := reopen(t, j).Replay(ctx, &memSM{failAt: 7}); err == nil || !strings.Contains(err.Error(), "apply seq 7") {
		t.Fatalf("apply failure: %v", err)
	}
}
