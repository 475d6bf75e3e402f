package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRoundTripAcrossRotations(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		segSize int64
		n       int64
	}{
		{"one segment", 1 << 20, 100},
		{"tiny segments", 64, 500},
		{"small segments", 1024, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{LogSizeBytesMax: tc.segSize})
			_, last := writeBlocks(t, j, 1, 1, tc.n, true)
			if last != tc.n+1 { // NewTermEntry is seq 1
				t.Fatalf("last seq %d, want %d", last, tc.n+1)
			}
			sm := &memSM{}
			res, err := reopen(t, j).Replay(ctx, sm)
			if err != nil {
				t.Fatal(err)
			}
			if res.LastSeq != tc.n+1 || res.LastEpoch != 1 || res.Entries != tc.n+1 || res.CheckpointSeq != 0 {
				t.Fatalf("result %+v", res)
			}
			if got := sm.blockIDs(); !equalInts(got, seqRange(1, tc.n)) {
				t.Fatalf("replayed %d blocks, want %d", len(got), tc.n)
			}
			for i, e := range sm.entries {
				if e.GetSequenceNumber() != int64(i+1) || e.GetEpoch() != 1 {
					t.Fatalf("entry %d: seq %d epoch %d", i, e.GetSequenceNumber(), e.GetEpoch())
				}
			}
			if nt := sm.entries[0].GetNewTerm(); nt == nil || nt.GetEpoch() != 1 {
				t.Fatalf("first entry %v, want NewTermEntry", sm.entries[0])
			}
			names := logNames(t, j)
			if tc.segSize < 2000 && len(names) < 3 {
				t.Fatalf("expected rotations, logs %v", names)
			}
			if !strings.Contains(strings.Join(names, ","), "-0x7fffffffffffffff") {
				t.Fatalf("no open log: %v", names)
			}
		})
	}
}

func TestSecondTermSealsAndContinues(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{LogSizeBytesMax: 1 << 20})
	writeBlocks(t, j, 1, 1, 10, true) // seqs 1..11
	j2 := reopen(t, j)
	if _, err := j2.StartWriting(ctx, 1); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("epoch 1 again: %v, want ErrStaleEpoch", err)
	}
	writeBlocks(t, j2, 5, 11, 20, true) // seqs 12 (new term), 13..22
	names := logNames(t, j2)
	want := []string{"0x1-0xc", "0xc-0x7fffffffffffffff"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("logs %v, want %v", names, want)
	}
	sm := &memSM{}
	res, err := reopen(t, j).Replay(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastSeq != 22 || res.LastEpoch != 5 {
		t.Fatalf("result %+v", res)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 20)) {
		t.Fatalf("blocks %v", got)
	}
}
