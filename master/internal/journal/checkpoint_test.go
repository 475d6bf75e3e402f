package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// snapOf returns a Snapshotter that emits sm's entries.
func snapOf(sm *memSM) Snapshotter {
	return func(emit func(*journalpb.JournalEntry) error) error {
		for _, e := range sm.entries {
			if err := emit(proto.Clone(e).(*journalpb.JournalEntry)); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestCheckpointAndReplay(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		segSize int64
		cpAt    int64 // checkpoint after this many blocks (seq cpAt+1)
	}{
		{"file boundary unknown, small segments", 256, 300},
		{"one big open log", 10 << 20, 50},
		{"checkpoint at start", 256, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{LogSizeBytesMax: tc.segSize, CheckpointPeriodEntries: 100})
			w, last := writeBlocks(t, j, 1, 1, tc.cpAt, false)
			if last == 0 {
				last = 1 // only the NewTermEntry
			}
			if !j.NeedsCheckpoint(last) == (last >= 100) {
				t.Fatalf("NeedsCheckpoint(%d) = %v", last, j.NeedsCheckpoint(last))
			}
			// The leader checkpoints its state as of last.
			state := &memSM{}
			for id := int64(1); id <= tc.cpAt; id++ {
				state.entries = append(state.entries, newBlock(id))
			}
			if err := j.Checkpoint(ctx, last, snapOf(state)); err != nil {
				t.Fatal(err)
			}
			if j.NeedsCheckpoint(last + 99) {
				t.Fatal("NeedsCheckpoint right after a checkpoint")
			}
			if !j.NeedsCheckpoint(last + 100) {
				t.Fatal("NeedsCheckpoint false after a period")
			}
			if _, err := os.Stat(filepath.Join(j.Dir(), checkpointsDir, segName(0, last+1))); err != nil {
				t.Fatal(err)
			}
			for _, n := range logNames(t, j) {
				if s, e, _ := parseSegName(n); e != openEnd && e <= last+1 {
					t.Fatalf("log %s (start %d) not deleted by checkpoint at %d", n, s, last)
				}
			}
			// More entries after the checkpoint.
			var seq int64
			var err error
			for id := tc.cpAt + 1; id <= tc.cpAt+200; id++ {
				if seq, err = w.Append(newBlock(id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			sm := &memSM{}
			res, err := reopen(t, j).Replay(ctx, sm)
			if err != nil {
				t.Fatal(err)
			}
			if res.CheckpointSeq != last || res.LastSeq != seq || res.LastEpoch != 1 || res.Entries != int64(len(state.entries))+200 {
				t.Fatalf("result %+v (checkpoint at %d, last %d)", res, last, seq)
			}
			if got := sm.blockIDs(); !equalInts(got, seqRange(1, tc.cpAt+200)) {
				t.Fatalf("replayed blocks %d, want %d", len(got), tc.cpAt+200)
			}
			if sm.resets != 1 {
				t.Fatalf("resets %d", sm.resets)
			}
			// The epoch survives the deletion of the logs: epoch 1 is stale.
			if _, err := reopen(t, j).StartWriting(ctx, 1); !errors.Is(err, ErrStaleEpoch) {
				t.Fatalf("epoch 1 after checkpoint: %v", err)
			}
			// A second checkpoint replaces the first.
			j2 := reopen(t, j)
			sm2 := &memSM{}
			if _, err := j2.Replay(ctx, sm2); err != nil {
				t.Fatal(err)
			}
			if err := j2.Checkpoint(ctx, seq, snapOf(sm2)); err != nil {
				t.Fatal(err)
			}
			cps, _ := os.ReadDir(filepath.Join(j.Dir(), checkpointsDir))
			if len(cps) != 1 || cps[0].Name() != segName(0, seq+1) {
				t.Fatalf("checkpoints %v", cps)
			}
			sm3 := &memSM{}
			if res, err := reopen(t, j).Replay(ctx, sm3); err != nil || res.LastSeq != seq || res.CheckpointSeq != seq {
				t.Fatalf("replay after second checkpoint: %+v %v", res, err)
			}
			if got := sm3.blockIDs(); !equalInts(got, seqRange(1, tc.cpAt+200)) {
				t.Fatalf("replayed blocks %d, want %d", len(got), tc.cpAt+200)
			}
		})
	}
}

func TestCheckpointErrors(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	writeBlocks(t, j, 1, 1, 10, true)
	j = reopen(t, j)
	if err := j.Checkpoint(ctx, 5, snapOf(&memSM{})); err == nil {
		t.Fatal("checkpoint before replay: accepted a seq the journal does not know")
	}
	if _, err := j.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	if err := j.Checkpoint(ctx, 100, snapOf(&memSM{})); err == nil {
		t.Fatal("checkpoint past the end accepted")
	}
	boom := errors.New("boom")
	err := j.Checkpoint(ctx, 5, func(emit func(*journalpb.JournalEntry) error) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("snapshot error: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(j.Dir(), tmpDir)); len(ents) != 0 {
		t.Fatalf("tmp not cleaned: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(j.Dir(), checkpointsDir)); len(ents) != 0 {
		t.Fatalf("failed checkpoint left %v", ents)
	}
}

func TestCorruptCheckpoint(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		damage    func(b []byte) []byte
		wantError string
	}{
		{"truncated footer, no fallback", func(b []byte) []byte { return b[:len(b)-10] }, "gap: log"},
		{"bad body, no fallback", func(b []byte) []byte { b[12] ^= 0xff; return b }, "gap: log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{LogSizeBytesMax: 256})
			_, last := writeBlocks(t, j, 1, 1, 100, true)
			sm := &memSM{}
			if _, err := j.Replay(ctx, sm); err != nil {
				t.Fatal(err)
			}
			if err := j.Checkpoint(ctx, last, snapOf(sm)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(j.Dir(), checkpointsDir, segName(0, last+1))
			b, _ := os.ReadFile(path)
			os.WriteFile(path, tc.damage(b), 0o644)
			_, err := reopen(t, j).Replay(ctx, &memSM{})
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("replay: %v, want %q", err, tc.wantError)
			}
		})
	}
}

// TestCheckpointFallback: an invalid newest checkpoint is skipped for an
// older valid one when the logs after that one still exist.
func TestCheckpointFallback(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{}) // one open log: never deleted
	w, first := writeBlocks(t, j, 1, 1, 10, false)
	state := &memSM{}
	for id := int64(1); id <= 10; id++ {
		state.entries = append(state.entries, newBlock(id))
	}
	if err := j.Checkpoint(ctx, first, snapOf(state)); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(j.Dir(), checkpointsDir, segName(0, first+1))
	saved, _ := os.ReadFile(old)
	var seq int64
	for id := int64(11); id <= 20; id++ {
		seq, _ = w.Append(newBlock(id))
		state.entries = append(state.entries, newBlock(id))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Checkpoint(ctx, seq, snapOf(state)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(old, saved, 0o644)
	newest := filepath.Join(j.Dir(), checkpointsDir, segName(0, seq+1))
	b, _ := os.ReadFile(newest)
	b[len(b)-1] ^= 1 // footer crc
	os.WriteFile(newest, b, 0o644)
	sm := &memSM{}
	res, err := reopen(t, j).Replay(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.CheckpointSeq != first || res.LastSeq != seq {
		t.Fatalf("result %+v", res)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 20)) {
		t.Fatalf("blocks %v", got)
	}
}

// TestCheckpointFlushesFirst: a leader may checkpoint a state that includes
// appended entries not yet flushed; they are made durable first.
func TestCheckpointFlushesFirst(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	w, _ := writeBlocks(t, j, 1, 1, 5, false)
	state := &memSM{}
	for id := int64(1); id <= 8; id++ {
		state.entries = append(state.entries, newBlock(id))
	}
	var seq int64
	for id := int64(6); id <= 8; id++ {
		seq, _ = w.Append(newBlock(id)) // not flushed
	}
	if err := j.Checkpoint(ctx, seq, snapOf(state)); err != nil {
		t.Fatal(err)
	}
	if err := j.Checkpoint(ctx, seq+1, snapOf(state)); err == nil {
		t.Fatal("checkpoint past the last appended seq accepted")
	}
	w.(*writer).closeFile() // crash: nothing more is flushed
	sm := &memSM{}
	res, err := reopen(t, j).Replay(ctx, sm)
	if err != nil || res.LastSeq != seq {
		t.Fatalf("replay: %+v %v", res, err)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 8)) {
		t.Fatalf("blocks %v", got)
	}
}
