package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
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

// TestDeposedWriter: a leader that keeps appending and flushing after a new
// leader sealed its open log gets ErrFenced from its first Flush (and every
// call after); what it writes lands past the sealed end, and neither Replay,
// CatchUp nor Dump return it.
func TestDeposedWriter(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		segSize int64
	}{{"no rotation", 1 << 20}, {"rotating", 256}} {
		t.Run(tc.name, func(t *testing.T) {
			old := newTestJournal(t, Config{LogSizeBytesMax: tc.segSize})
			w1, _ := writeBlocks(t, old, 1, 1, 10, false) // seqs 1..11
			standby := reopen(t, old)
			ssm := &memSM{}
			if _, err := standby.Replay(ctx, ssm); err != nil {
				t.Fatal(err)
			}
			j2 := reopen(t, old)
			w2, last := writeBlocks(t, j2, 2, 11, 12, false) // seqs 12 (term), 13, 14
			if last != 14 {
				t.Fatalf("new leader last seq %d", last)
			}
			// The deposed leader writes on through its file descriptor.
			for i := 0; i < 20; i++ {
				seq, err := w1.Append(newBlock(int64(500 + i)))
				if err == nil {
					err = w1.Flush(ctx, seq)
				}
				if !errors.Is(err, ErrFenced) {
					t.Fatalf("deposed writer, write %d: %v, want ErrFenced", i, err)
				}
			}
			if err := w1.Close(); !errors.Is(err, ErrFenced) {
				t.Fatalf("close: %v", err)
			}
			// Bytes and records past the sealed end, as a deposed writer
			// with its own buffer would leave them.
			sealed := filepath.Join(old.Dir(), logsDir, segName(1, 12))
			if _, err := os.Stat(sealed); err != nil && tc.segSize > 1000 {
				t.Fatalf("sealed log: %v (logs %v)", err, logNames(t, old))
			}
			if tc.segSize > 1000 {
				f, _ := os.OpenFile(sealed, os.O_WRONLY|os.O_APPEND, 0)
				for _, e := range []*journalpb.JournalEntry{rec(12, 1, 900), rec(13, 1, 901)} {
					p, _ := proto.Marshal(e)
					f.Write(appendRecord(nil, p))
				}
				f.Write([]byte{0x40, 1, 2})
				f.Close()
			}
			if _, err := standby.CatchUp(ctx, ssm); err != nil {
				t.Fatal(err)
			}
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
			want := append(seqRange(1, 10), 11, 12)
			sm := &memSM{}
			res, err := reopen(t, old).Replay(ctx, sm)
			if err != nil {
				t.Fatal(err)
			}
			if res.LastSeq != 14 {
				t.Fatalf("last seq %d, want 14", res.LastSeq)
			}
			if got := sm.blockIDs(); !equalInts(got, want) {
				t.Fatalf("replayed blocks %v", got)
			}
			if got := ssm.blockIDs(); !equalInts(got, want) {
				t.Fatalf("standby blocks %v", got)
			}
			dm := &memSM{}
			if err := Dump(ctx, old.cfg, dm.Apply); err != nil {
				t.Fatal(err)
			}
			if got := dm.blockIDs(); !equalInts(got, want) {
				t.Fatalf("dumped blocks %v", got)
			}
		})
	}
}

// TestFenceWindow: the old leader writes and flushes after the new leader
// scanned the journal but before it fenced the open log. Its fence check
// passes, so the entry was acknowledged: the seal must keep it (the sealer
// reads the log again after fencing it), and the new leader, whose replay
// did not include it, is told to replay.
func TestFenceWindow(t *testing.T) {
	ctx := context.Background()
	old := newTestJournal(t, Config{})
	w1, _ := writeBlocks(t, old, 1, 1, 5, false) // seqs 1..6
	j2 := reopen(t, old)
	sm2 := &memSM{}
	if _, err := j2.Replay(ctx, sm2); err != nil {
		t.Fatal(err)
	}
	var acked int64
	j2.hooks.beforeFence = func() {
		j2.hooks.beforeFence = nil
		seq, err := w1.Append(newBlock(6))
		if err == nil {
			err = w1.Flush(ctx, seq)
		}
		if err != nil {
			t.Errorf("flush before the fence: %v", err)
		}
		acked = seq
	}
	if _, err := j2.StartWriting(ctx, 2); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("start writing: %v, want ErrReplayNeeded", err)
	}
	if acked != 7 {
		t.Fatalf("acked %d", acked)
	}
	// The deposed writer is fenced from now on.
	seq, _ := w1.Append(newBlock(7))
	if err := w1.Flush(ctx, seq); !errors.Is(err, ErrFenced) {
		t.Fatalf("flush after the fence: %v", err)
	}
	if got := strings.Join(logNames(t, old), ","); got != "0x1-0x8" {
		t.Fatalf("logs %s", got)
	}
	if res, err := j2.Replay(ctx, sm2); err != nil || res.LastSeq != 7 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	w2, err := j2.StartWriting(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	sm := &memSM{}
	if _, err := reopen(t, old).Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 6)) {
		t.Fatalf("blocks %v", got)
	}
}

// TestFenceRace: a leader appends and flushes as fast as it can while a new
// leader seals its log at a random moment. Every entry whose Flush returned
// nil must be in the history, with its seq and payload; nothing the old
// writer flushed after the fence is acknowledged.
func TestFenceRace(t *testing.T) {
	ctx := context.Background()
	for iter := 0; iter < 30; iter++ {
		seg := int64(1 << 20)
		if iter%2 == 1 {
			seg = 300 // rotations race with the seal
		}
		old := newTestJournal(t, Config{LogSizeBytesMax: seg})
		w1, _ := writeBlocks(t, old, 1, 1, 1, false)
		acked := map[int64]int64{} // seq -> block id
		var fenceErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			for id := int64(2); ; id++ {
				seq, err := w1.Append(newBlock(id))
				if err == nil {
					err = w1.Flush(ctx, seq)
				}
				if err != nil {
					fenceErr = err
					return
				}
				acked[seq] = id
			}
		}()
		time.Sleep(time.Duration(iter%7) * time.Millisecond)
		j2 := reopen(t, old)
		var w2 Writer
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			if _, err = j2.Replay(ctx, &memSM{}); err != nil {
				t.Fatal(err)
			}
			if w2, err = j2.StartWriting(ctx, 2); !errors.Is(err, ErrReplayNeeded) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		<-done
		if !errors.Is(fenceErr, ErrFenced) {
			t.Fatalf("iter %d: old writer stopped with %v, want ErrFenced", iter, fenceErr)
		}
		w2.Close()
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

// TestSealerCrashAfterFence: a new leader fenced the open log (renamed it to
// .sealing) and crashed. Readers stop before the fenced log; the next
// leader completes the seal and, since its replay lacked those entries, is
// told to replay first.
func TestSealerCrashAfterFence(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{LogSizeBytesMax: 512})
	writeBlocks(t, j, 1, 1, 40, true) // seqs 1..41
	open := findLog(t, j, true)
	if err := os.Rename(open, open+sealingSuffix); err != nil {
		t.Fatal(err)
	}
	j2 := reopen(t, j)
	sm := &memSM{}
	res, err := j2.Replay(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq >= 41 || res.LastSeq < 1 {
		t.Fatalf("replay read the fenced log: %+v", res)
	}
	if r, err := j2.CatchUp(ctx, sm); err != nil || r.LastSeq != res.LastSeq {
		t.Fatalf("catch up read the fenced log: %+v %v", r, err)
	}
	if _, err := j2.StartWriting(ctx, 2); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("start writing: %v, want ErrReplayNeeded", err)
	}
	for _, n := range logNames(t, j) {
		if strings.HasSuffix(n, sealingSuffix) || strings.HasSuffix(n, "-0x7fffffffffffffff") {
			t.Fatalf("log %s left after sealing: %v", n, logNames(t, j))
		}
	}
	if res, err := j2.Replay(ctx, sm); err != nil || res.LastSeq != 41 {
		t.Fatalf("replay after seal: %+v %v", res, err)
	}
	w, err := j2.StartWriting(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 40)) {
		t.Fatalf("blocks %v", got)
	}
}
