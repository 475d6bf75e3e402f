package journal

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlushLingersForPeak checks the group commit's wait: when fewer Flush
// calls are in progress than the recent peak, the round's leader waits for
// the others, so one sync covers every entry; with no more calls expected
// it syncs at once.
func TestFlushLingersForPeak(t *testing.T) {
	old := maxLinger
	maxLinger = time.Minute
	defer func() { maxLinger = old }()
	j := newTestJournal(t, Config{})
	j.flushDelay = 0 // no background Flush to join the round
	var syncs atomic.Int64
	j.hooks.beforeSync = func() error { syncs.Add(1); return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wr, err := j.StartWriting(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	w := wr.(*writer)

	// A lone writer: no wait, one sync per Flush.
	syncs.Store(0)
	for i := int64(1); i <= 3; i++ {
		seq, err := w.Append(newBlock(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	if n := syncs.Load(); n != 3 {
		t.Fatalf("lone writer: %d syncs for 3 flushes, want 3", n)
	}

	// Two writers lately, one in progress: its round waits for the second.
	w.syncMu.Lock()
	w.peak, w.lastSync = 2, time.Hour
	w.syncMu.Unlock()
	syncs.Store(0)
	seq1, err := w.Append(newBlock(10))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Flush(ctx, seq1) }()
	// The first Flush is lingering (it has not synced) until a second
	// Flush call arrives.
	for deadline := time.Now().Add(10 * time.Second); ; {
		w.syncMu.Lock()
		lingering := w.lingerCh != nil
		w.syncMu.Unlock()
		if lingering {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first Flush did not linger")
		}
		time.Sleep(time.Millisecond)
	}
	if n := syncs.Load(); n != 0 {
		t.Fatalf("%d syncs while lingering, want 0", n)
	}
	seq2, err := w.Append(newBlock(11))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx, seq2); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := syncs.Load(); n != 1 {
		t.Fatalf("two writers: %d syncs, want 1 covering both entries", n)
	}
}

// TestFlushLingerBounded checks that a leader waiting for a peak that does
// not come syncs after the bound, and lowers the peak.
func TestFlushLingerBounded(t *testing.T) {
	old := maxLinger
	maxLinger = 20 * time.Millisecond
	defer func() { maxLinger = old }()
	j := newTestJournal(t, Config{})
	j.flushDelay = 0 // no background Flush to join the round
	ctx := context.Background()
	wr, err := j.StartWriting(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	w := wr.(*writer)
	w.syncMu.Lock()
	w.peak, w.lastSync = 5, time.Hour
	w.syncMu.Unlock()
	seq, err := w.Append(newBlock(1))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := w.Flush(ctx, seq); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < maxLinger || d > 10*time.Second {
		t.Fatalf("flush took %v, want about %v", d, maxLinger)
	}
	w.syncMu.Lock()
	peak := w.peak
	w.syncMu.Unlock()
	if peak != 4 {
		t.Fatalf("peak %d after a wait that fell short, want 4", peak)
	}
}
