package journalstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// TestIntegrationHDFSSyncWhileTailing is helper E's reproduction of the
// lost open log (close/append per Sync while a standby reads the file:
// the only replica vanished) through the Storage interface: 200 rounds of
// Write + Sync of journal-sized records on one open log, each checked from
// a second Storage (another master) while the log stays open, with a third
// Storage reading the log from the start in a loop. Every synced byte must
// be visible (Stat) and readable (Open) at once, no read may fail, and the
// log then seals (rename, Recover) with every synced byte.
func TestIntegrationHDFSSyncWhileTailing(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx := testCtx(t)
	s := openT(t, c.URI+"/tailing", nil)
	standby := reopen(t, s)
	defer standby.Close()
	tailer := reopen(t, s)
	defer tailer.Close()
	if err := s.Mkdirs(ctx, "logs"); err != nil {
		t.Fatal(err)
	}
	f, err := s.Create(ctx, "logs/open")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer // every byte synced so far (written by this goroutine only)
	var synced atomic.Int64
	var stop atomic.Bool
	var reads, fails atomic.Int64
	var firstFail error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			min := synced.Load()
			r, err := tailer.Open(ctx, "logs/open", 0)
			var b []byte
			if err == nil {
				b, err = io.ReadAll(r)
				r.Close()
			}
			if err == nil && int64(len(b)) < min {
				err = fmt.Errorf("read %d bytes, %d were synced before the open", len(b), min)
			}
			reads.Add(1)
			if err != nil && fails.Add(1) == 1 {
				firstFail = err
			}
		}
	}()
	for round := 0; round < 200; round++ {
		rec := bytes.Repeat([]byte{byte('a' + round%26)}, 100+round%97)
		if _, err := f.Write(rec); err != nil {
			t.Fatalf("round %d: write: %v", round, err)
		}
		if err := f.Sync(); err != nil {
			t.Fatalf("round %d: sync: %v", round, err)
		}
		want.Write(rec)
		synced.Store(int64(want.Len()))
		fi, err := standby.Stat(ctx, "logs/open")
		if err != nil || fi.Size != int64(want.Len()) || fi.ID != f.ID() {
			t.Fatalf("round %d: standby's Stat = size %d id %d, %v; want %d, %d", round, fi.Size, fi.ID, err, want.Len(), f.ID())
		}
		off := int64(want.Len() - len(rec))
		r, err := standby.Open(ctx, "logs/open", off)
		if err != nil {
			t.Fatalf("round %d: standby's open: %v", round, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(b, rec) {
			t.Fatalf("round %d: standby read %q, %v; want the synced record %q", round, b, err, rec)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("200 syncs of %d bytes; the tailing reader read the open log %d times", want.Len(), reads.Load())
	if fails.Load() > 0 {
		t.Errorf("tailing reader: %d of %d reads failed, first: %v", fails.Load(), reads.Load(), firstFail)
	}
	// The new leader seals the log; the old writer is fenced.
	if err := standby.Rename(ctx, "logs/open", "logs/open.sealing"); err != nil {
		t.Fatal(err)
	}
	size, err := standby.Recover(ctx, "logs/open.sealing")
	if err != nil || size != int64(want.Len()) {
		t.Fatalf("Recover = %d, %v; want %d", size, err, want.Len())
	}
	if got := read(t, standby, "logs/open.sealing"); got != want.String() {
		t.Fatalf("sealed log holds %d bytes, want the %d synced", len(got), want.Len())
	}
	_, werr := f.Write([]byte("late"))
	if werr == nil {
		werr = f.Sync()
	}
	if !errors.Is(werr, journal.ErrFenced) {
		t.Fatalf("old writer's Write+Sync after the seal = %v, want journal.ErrFenced", werr)
	}
	// The HDFS failure under it is the lost lease, not an unreachable HDFS.
	if !errors.Is(werr, ufs.ErrLeaseLost) || strings.Contains(werr.Error(), "unreachable") {
		t.Errorf("old writer's Write+Sync after the seal = %v; want it to say the lease was lost (ufs.ErrLeaseLost)", werr)
	}
	f.Close()
	if fi, err := standby.Stat(ctx, "logs/open.sealing"); err != nil || fi.Size != size {
		t.Fatalf("sealed log after the old writer's attempt: %d, %v; want %d", fi.Size, err, size)
	}
}

func read(t *testing.T, s journal.Storage, name string) string {
	t.Helper()
	r, err := s.Open(testCtx(t), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
