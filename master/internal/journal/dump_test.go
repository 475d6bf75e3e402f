package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

func TestDump(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{LogSizeBytesMax: 256})
	w, cpSeq := writeBlocks(t, j, 1, 1, 30, false)
	state := &memSM{}
	for id := int64(1); id <= 30; id++ {
		state.entries = append(state.entries, newBlock(id))
	}
	if err := j.Checkpoint(ctx, cpSeq, snapOf(state)); err != nil {
		t.Fatal(err)
	}
	var last int64
	for id := int64(31); id <= 60; id++ {
		last, _ = w.Append(newBlock(id))
	}
	if err := w.Flush(ctx, last); err != nil {
		t.Fatal(err)
	}
	// Dump and Replay see the same entries in the same order, the live open
	// log included.
	var dumped []*journalpb.JournalEntry
	if err := Dump(ctx, j.cfg, func(e *journalpb.JournalEntry) error { dumped = append(dumped, e); return nil }); err != nil {
		t.Fatal(err)
	}
	sm := &memSM{}
	if _, err := reopen(t, j).Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}
	if len(dumped) != len(sm.entries) || len(dumped) != 60 {
		t.Fatalf("dumped %d entries, replay applied %d", len(dumped), len(sm.entries))
	}
	for i := range dumped {
		if !proto.Equal(dumped[i], sm.entries[i]) {
			t.Fatalf("entry %d: dump %v, replay %v", i, dumped[i], sm.entries[i])
		}
	}
	if dumped[0].GetSequenceNumber() != 0 || dumped[30].GetSequenceNumber() != cpSeq+1 || dumped[59].GetSequenceNumber() != last {
		t.Fatalf("checkpoint entries first, then logs: %v ... %v", dumped[0], dumped[30])
	}
	// An error from fn stops the dump and comes back.
	errStop := errors.New("stop")
	n := 0
	if err := Dump(ctx, j.cfg, func(*journalpb.JournalEntry) error {
		if n++; n == 40 {
			return errStop
		}
		return nil
	}); !errors.Is(err, errStop) || n != 40 {
		t.Fatalf("dump with failing fn: %v after %d", err, n)
	}
	w.Close()
	// A corrupt checkpoint body: nothing of it reaches fn.
	cp := filepath.Join(j.Dir(), checkpointsDir, segName(0, cpSeq+1))
	b, _ := os.ReadFile(cp)
	b[len(b)-footerSize-3] ^= 0xff
	os.WriteFile(cp, b, 0o644)
	n = 0
	err := Dump(ctx, j.cfg, func(*journalpb.JournalEntry) error { n++; return nil })
	if !errors.Is(err, ErrCorrupt) || n != 0 {
		t.Fatalf("dump of a journal with a corrupt checkpoint: %v after %d entries", err, n)
	}
	if err := Dump(ctx, Config{Folder: t.TempDir()}, func(*journalpb.JournalEntry) error { return nil }); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("dump of an unformatted folder: %v", err)
	}
}
