package journal

import (
	"context"
	"errors"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// newMemJournal formats a memStorage and opens a journal on it (no local
// folder at all: every file operation must go through Storage).
func newMemJournal(t testing.TB, cfg Config) (*Journal, *memStorage) {
	t.Helper()
	st := newMemStorage()
	if err := FormatStorage(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	cfg.Storage = st
	j, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j.flushDelay = 0 // as newTestJournal
	return j, st
}

func TestJournalOnMemStorage(t *testing.T) {
	ctx := context.Background()
	j, st := newMemJournal(t, Config{LogSizeBytesMax: 400})
	if ok, err := IsFormattedStorage(ctx, st); !ok || err != nil {
		t.Fatalf("formatted: %v %v", ok, err)
	}
	if ok, err := IsFormattedStorage(ctx, newMemStorage()); ok || err != nil {
		t.Fatalf("empty storage formatted: %v %v", ok, err)
	}
	if got := j.Dir(); got != "mem://journal/FileSystemMaster/v1" {
		t.Fatalf("Dir = %q", got)
	}
	standby := reopen(t, j)
	if _, err := standby.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	ssm := &memSM{}
	if _, err := standby.Replay(ctx, ssm); err != nil {
		t.Fatal(err)
	}
	w, last := writeBlocks(t, j, 1, 1, 100, false) // rotates many times
	if res, err := standby.CatchUp(ctx, ssm); err != nil || res.LastSeq != last {
		t.Fatalf("catch up: %+v %v, want last %d", res, err, last)
	}
	// The checkpoint covers the completed logs and deletes them.
	sm := &memSM{}
	if _, err := reopen(t, j).Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}
	if err := j.Checkpoint(ctx, last, snapOf(sm)); err != nil {
		t.Fatal(err)
	}
	var more int64
	for id := int64(101); id <= 150; id++ {
		if more, _ = w.Append(newBlock(id)); more == 0 {
			t.Fatal("append failed")
		}
	}
	if err := w.Flush(ctx, more); err != nil {
		t.Fatal(err)
	}
	if res, err := standby.CatchUp(ctx, ssm); err != nil || res.LastSeq != more {
		t.Fatalf("catch up after checkpoint: %+v %v", res, err)
	}
	// A second term seals the first one's open log (the writer is still
	// running: it is fenced).
	j2 := reopen(t, j)
	if _, err := j2.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	w2, last2 := writeBlocks(t, j2, 2, 151, 160, true)
	if seq, err := w.Append(newBlock(999)); err == nil {
		if err := w.Flush(ctx, seq); err == nil {
			t.Fatal("the deposed writer acknowledged an entry after the seal")
		}
	}
	_ = w.Close()
	_ = w2
	final := &memSM{}
	res, err := reopen(t, j).Replay(ctx, final)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq != last2 || res.CheckpointSeq != last {
		t.Fatalf("replay: %+v, want last %d checkpoint %d", res, last2, last)
	}
	if got := final.blockIDs(); !equalInts(got, seqRange(1, 160)) {
		t.Fatalf("replayed blocks %v", got)
	}
	var dumped []int64
	if err := Dump(ctx, Config{Storage: st}, func(e *journalpb.JournalEntry) error {
		if nb := e.GetNewBlock(); nb != nil {
			dumped = append(dumped, nb.GetBlockId())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !equalInts(dumped, seqRange(1, 160)) {
		t.Fatalf("dumped %v", dumped)
	}
	// Format wipes it.
	if err := FormatStorage(ctx, st); err != nil {
		t.Fatal(err)
	}
	if res, err := reopen(t, j).Replay(ctx, &memSM{}); err != nil || res.LastSeq != 0 {
		t.Fatalf("replay after format: %+v %v", res, err)
	}
}

// indexOf returns the index of the first op at or after from that starts
// with prefix, or -1.
func indexOf(ops []string, from int, prefix string) int {
	for i := from; i < len(ops); i++ {
		if strings.HasPrefix(ops[i], prefix) {
			return i
		}
	}
	return -1
}

// TestSealOrder checks the storage operations of a seal: rename to
// .sealing, then Recover (never the other way round), then the reread, a
// truncate of the torn tail (which memStorage refuses unless the file was
// recovered), the rename to the completed name, and only then the new
// open log.
func TestSealOrder(t *testing.T) {
	ctx := context.Background()
	old, st := newMemJournal(t, Config{})
	w1, last := writeBlocks(t, old, 1, 1, 10, false)
	// A torn record after the last synced one, as a crashed writer leaves.
	open := path.Join(old.logs, segName(1, openEnd))
	f := w1.(*writer).h.f
	if _, err := f.Write([]byte{0x40, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	before := len(st.opLog())
	j2 := reopen(t, old)
	if _, err := j2.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	w2, err := j2.StartWriting(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	ops := st.opLog()
	sealing := open + sealingSuffix
	done := path.Join(old.logs, segName(1, last+1))
	steps := []string{
		"rename " + open + " " + sealing,
		"recover " + sealing,
		"open " + sealing,
		"truncate " + sealing,
		"rename " + sealing + " " + done,
		"create " + path.Join(old.logs, segName(last+1, openEnd)),
	}
	at := before
	for _, s := range steps {
		i := indexOf(ops, at, s)
		if i < 0 {
			t.Fatalf("step %q missing or out of order in %q", s, ops[before:])
		}
		at = i + 1
	}
	if i := indexOf(ops, before, "recover "); i < indexOf(ops, before, "rename "+open) {
		t.Fatalf("recover before the fencing rename: %q", ops[before:])
	}
	// The deposed writer cannot add anything: Recover took its file away.
	if seq, err := w1.Append(newBlock(11)); err == nil {
		if err := w1.Flush(ctx, seq); err == nil {
			t.Fatal("deposed writer flushed after the seal")
		}
	}
	info, err := st.Stat(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	if offs := memRecordEnd(t, st, done); info.Size != offs {
		t.Fatalf("sealed log is %d bytes, its records end at %d", info.Size, offs)
	}
}

// memRecordEnd returns the offset after the last valid record of name.
func memRecordEnd(t *testing.T, st Storage, name string) int64 {
	t.Helper()
	fi, err := st.Stat(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open(context.Background(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rr := newRecordReader(rc, fi.Size)
	for {
		if _, _, err := rr.next(); err != nil {
			return rr.off
		}
	}
}

// TestSealResumesAfterStorageFailure: a seal that fails at any storage step
// leaves the journal for the next StartWriting to finish, losing nothing.
func TestSealResumesAfterStorageFailure(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"rename", "recover", "open", "truncate", "delete", "create"} {
		t.Run(op, func(t *testing.T) {
			old, st := newMemJournal(t, Config{})
			w1, last := writeBlocks(t, old, 1, 1, 10, false)
			f := w1.(*writer).h.f
			if _, err := f.Write([]byte{0x40, 1}); err != nil { // a torn tail to truncate
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if op == "delete" {
				// An open log without records is deleted, not sealed.
				w1.Close()
				writeRaw(t, st, path.Join(old.logs, segName(last+1, openEnd)), []byte{0x40})
			}
			j2 := reopen(t, old)
			if _, err := j2.Replay(ctx, &memSM{}); err != nil {
				t.Fatal(err)
			}
			var failed atomic.Bool
			st.fail = func(o, name string) error {
				if o == op && strings.Contains(name, "0x7fffffffffffffff") && failed.CompareAndSwap(false, true) {
					return errInjected
				}
				return nil
			}
			if _, err := j2.StartWriting(ctx, 2); !errors.Is(err, errInjected) {
				t.Fatalf("start writing with a failing %s: %v", op, err)
			}
			st.fail = nil
			j3 := reopen(t, old)
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				// The first attempt may finish the seal and ask for a
				// replay (the journal grew past the .sealing log).
				if _, err = j3.Replay(ctx, &memSM{}); err != nil {
					t.Fatal(err)
				}
				var w3 Writer
				if w3, err = j3.StartWriting(ctx, 3); err == nil {
					w3.Close()
					break
				}
				if !errors.Is(err, ErrReplayNeeded) {
					t.Fatal(err)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j3.Replay(ctx, &memSM{}); err != nil {
				t.Fatal(err)
			}
			_, last3 := writeBlocks(t, j3, 4, 11, 12, true)
			sm := &memSM{}
			res, err := reopen(t, old).Replay(ctx, sm)
			if err != nil {
				t.Fatal(err, "\n", strings.Join(st.opLog(), "\n"))
			}
			if res.LastSeq != last3 || !equalInts(sm.blockIDs(), seqRange(1, 12)) {
				t.Fatalf("after the resumed seal: %+v, blocks %v", res, sm.blockIDs())
			}
			for _, n := range memNames(t, st, old.logs) {
				if strings.HasSuffix(n, sealingSuffix) {
					t.Fatalf("left a sealing log: %s", n)
				}
			}
		})
	}
}

func writeRaw(t *testing.T, st Storage, name string, b []byte) {
	t.Helper()
	f, err := st.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func memNames(t *testing.T, st Storage, dir string) []string {
	t.Helper()
	ents, err := st.List(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

// TestFenceRaceMemStorage is TestFenceRace on storage whose Recover fences
// the writer (as HDFS's lease recovery does): every acknowledged entry is
// in the history.
func TestFenceRaceMemStorage(t *testing.T) {
	ctx := context.Background()
	for iter := 0; iter < 10; iter++ {
		seg := int64(1 << 20)
		if iter%2 == 1 {
			seg = 300
		}
		old, _ := newMemJournal(t, Config{LogSizeBytesMax: seg})
		w1, _ := writeBlocks(t, old, 1, 1, 1, false)
		acked := map[int64]int64{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for id := int64(2); ; id++ {
				seq, err := w1.Append(newBlock(id))
				if err == nil {
					err = w1.Flush(ctx, seq)
				}
				if err != nil {
					return
				}
				acked[seq] = id
			}
		}()
		time.Sleep(time.Duration(iter%5) * time.Millisecond)
		j2 := reopen(t, old)
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			if _, err = j2.Replay(ctx, &memSM{}); err != nil {
				t.Fatal(err)
			}
			var w2 Writer
			if w2, err = j2.StartWriting(ctx, 2); err == nil {
				w2.Close()
				break
			}
			if !errors.Is(err, ErrReplayNeeded) {
				t.Fatal(err)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		<-done
		sm := &memSM{}
		if _, err := reopen(t, old).Replay(ctx, sm); err != nil {
			t.Fatal(err)
		}
		got := map[int64]int64{}
		for _, e := range sm.entries {
			if nb := e.GetNewBlock(); nb != nil {
				got[e.GetSequenceNumber()] = nb.GetBlockId()
			}
		}
		for seq, id := range acked {
			if got[seq] != id {
				t.Fatalf("iter %d: acknowledged seq %d (block %d) replayed as %d", iter, seq, id, got[seq])
			}
		}
	}
}

func TestNewestCheckpointAndFingerprint(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Journal
	}{
		{"local", func(t *testing.T) *Journal { return newTestJournal(t, Config{}) }},
		{"mem", func(t *testing.T) *Journal { j, _ := newMemJournal(t, Config{}); return j }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.open(t)
			if n, err := j.NewestCheckpoint(ctx); err != nil || n != 0 {
				t.Fatalf("no checkpoint: %d %v", n, err)
			}
			fp0, err := j.Fingerprint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w, last := writeBlocks(t, j, 1, 1, 5, false)
			fp1, err := j.Fingerprint(ctx)
			if err != nil || fp1 == fp0 {
				t.Fatalf("fingerprint unchanged by writes: %q %v", fp1, err)
			}
			if fp, _ := j.Fingerprint(ctx); fp != fp1 {
				t.Fatalf("fingerprint changed without writes: %q, %q", fp, fp1)
			}
			sm := &memSM{}
			other := reopen(t, j)
			if _, err := other.Replay(ctx, sm); err != nil {
				t.Fatal(err)
			}
			// Another master's checkpoint counts too.
			if err := other.Checkpoint(ctx, last, snapOf(sm)); err != nil {
				t.Fatal(err)
			}
			if n, err := j.NewestCheckpoint(ctx); err != nil || n != last {
				t.Fatalf("newest checkpoint %d %v, want %d", n, err, last)
			}
			if fp, _ := j.Fingerprint(ctx); fp == fp1 {
				t.Fatal("fingerprint unchanged by a checkpoint")
			}
			w.Close()
		})
	}
}

// TestRecoverOpenLogs: a new leader that cannot read an open log recovers
// it in place. On a storage whose Recover fences (HDFS, the memory storage),
// the deposed writer can add nothing afterwards, every acknowledged entry is
// still read, and StartWriting then seals the recovered log as usual.
func TestRecoverOpenLogs(t *testing.T) {
	ctx := context.Background()
	old, _ := newMemJournal(t, Config{LogSizeBytesMax: 1 << 20})
	w1, last := writeBlocks(t, old, 1, 1, 5, false)
	j2 := reopen(t, old)
	n, err := j2.RecoverOpenLogs(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverOpenLogs = %d, %v; want 1 open log recovered", n, err)
	}
	seq, err := w1.Append(newBlock(6))
	if err == nil {
		err = w1.Flush(ctx, seq)
	}
	if err == nil {
		t.Fatal("the deposed writer flushed an entry after its open log was recovered")
	}
	sm := &memSM{}
	res, err := j2.Replay(ctx, sm)
	if err != nil || res.LastSeq != last {
		t.Fatalf("replay after recovery: %+v, %v; want last seq %d", res, err, last)
	}
	w2, err := j2.StartWriting(ctx, 2)
	if err != nil {
		t.Fatalf("StartWriting after RecoverOpenLogs: %v", err)
	}
	defer w2.Close()
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 5)) {
		t.Fatalf("blocks replayed: %v, want 1..5", got)
	}
}
