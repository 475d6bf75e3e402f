package journal

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestCatchUp(t *testing.T) {
	ctx := context.Background()
	leader := newTestJournal(t, Config{LogSizeBytesMax: 512})
	standby := reopen(t, leader)
	if _, err := standby.CatchUp(ctx, &memSM{}); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("catch up before replay: %v", err)
	}
	w, _ := writeBlocks(t, leader, 1, 1, 50, false)
	sm := &memSM{}
	if _, err := standby.Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}
	var seq int64
	for id := int64(51); id <= 300; id++ {
		seq, _ = w.Append(newBlock(id))
	}
	if err := w.Flush(ctx, seq); err != nil {
		t.Fatal(err)
	}
	res, err := standby.CatchUp(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq != seq || res.Entries != 250 {
		t.Fatalf("catch up: %+v, want last %d", res, seq)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 300)) {
		t.Fatalf("standby has %d blocks", len(got))
	}
	if sm.resets != 1 {
		t.Fatalf("catch up reset the state machine")
	}
	// Nothing new: nothing applied.
	if res, err := standby.CatchUp(ctx, sm); err != nil || res.Entries != 0 || res.LastSeq != seq {
		t.Fatalf("idle catch up: %+v %v", res, err)
	}
	// A partial record at the end of the open log waits for a later call.
	f, err := os.OpenFile(findLog(t, leader, true), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x20, 1, 2})
	f.Close()
	if res, err := standby.CatchUp(ctx, sm); err != nil || res.LastSeq != seq {
		t.Fatalf("catch up with partial tail: %+v %v", res, err)
	}
	w.Close()

	// A checkpoint deletes logs a lagging standby still needs.
	lagging := reopen(t, leader)
	lsm := &memSM{}
	if _, err := lagging.Replay(ctx, lsm); err != nil {
		t.Fatal(err)
	}
	j2 := reopen(t, leader)
	st2 := &memSM{}
	if _, err := j2.Replay(ctx, st2); err != nil {
		t.Fatal(err)
	}
	w2, last := writeBlocks(t, j2, 2, 301, 400, false)
	if err := j2.Checkpoint(ctx, last, snapOf(st2)); err != nil { // state is approximate; only the layout matters here
		t.Fatal(err)
	}
	w2.Close()
	if _, err := lagging.CatchUp(ctx, lsm); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("catch up across a checkpoint: %v", err)
	}
}
