package journal

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultyFile injects write failures into a log file.
type faultyFile struct {
	LogFile
	failWrite *atomic.Bool
}

var errInjected = errors.New("injected failure")

func (f faultyFile) Write(p []byte) (int, error) {
	if f.failWrite.Load() {
		return 0, errInjected
	}
	return f.LogFile.Write(p)
}

// runConcurrent has n goroutines each Append and Flush per times, failing t on any error.
func runConcurrent(t testing.TB, w Writer, n, per int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				seq, err := w.Append(newBlock(int64(g*per + i)))
				if err == nil {
					err = w.Flush(ctx, seq)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestGroupCommit(t *testing.T) {
	const goroutines, per = 64, 50
	for _, tc := range []struct {
		name      string
		syncDelay time.Duration // simulates a slow disk, making the test deterministic
		maxRatio  float64       // fsyncs / appends must stay below
		segSize   int64
	}{
		{"slow disk", 2 * time.Millisecond, 0.1, 0},
		{"this disk", 0, 1, 0}, // measured and logged
		{"rotating under concurrent flushes", 0, 1, 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{LogSizeBytesMax: tc.segSize})
			var syncs atomic.Int64
			j.hooks.beforeSync = func() error {
				syncs.Add(1)
				if tc.syncDelay > 0 {
					time.Sleep(tc.syncDelay)
				}
				return nil
			}
			ctx := context.Background()
			w, err := j.StartWriting(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			syncs.Store(0)
			counted := j.Syncs()
			start := time.Now()
			runConcurrent(t, w, goroutines, per)
			el := time.Since(start)
			appends := int64(goroutines * per)
			got := syncs.Load()
			if n := j.Syncs() - counted; n != got {
				t.Fatalf("Syncs counted %d fsyncs, the storage saw %d", n, got)
			}
			t.Logf("%d appends+flushes by %d goroutines: %d fsyncs (%.1f appends/fsync), %v, %.0f acknowledged entries/s",
				appends, goroutines, got, float64(appends)/float64(got), el.Round(time.Millisecond), float64(appends)/el.Seconds())
			if float64(got) > tc.maxRatio*float64(appends) {
				t.Fatalf("%d fsyncs for %d appends: no group commit", got, appends)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			sm := &memSM{}
			res, err := reopen(t, j).Replay(ctx, sm)
			if err != nil || res.LastSeq != appends+1 {
				t.Fatalf("replay %+v %v", res, err)
			}
			seen := map[int64]bool{}
			for _, id := range sm.blockIDs() {
				seen[id] = true
			}
			if int64(len(seen)) != appends {
				t.Fatalf("replayed %d distinct blocks, want %d", len(seen), appends)
			}
		})
	}
}

func TestBrokenWriter(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		inject func(j *Journal, fail *atomic.Bool)
	}{
		{"write error", func(j *Journal, fail *atomic.Bool) {}},
		{"before fsync", func(j *Journal, fail *atomic.Bool) {
			j.hooks.beforeSync = func() error {
				if fail.Load() {
					return errInjected
				}
				return nil
			}
		}},
		{"after fsync", func(j *Journal, fail *atomic.Bool) {
			j.hooks.afterSync = func() error {
				if fail.Load() {
					return errInjected
				}
				return nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{})
			var failWrite, failSync atomic.Bool
			j.hooks.wrapLog = func(_ string, f LogFile) LogFile {
				return faultyFile{LogFile: f, failWrite: &failWrite}
			}
			tc.inject(j, &failSync)
			w, durable := writeBlocks(t, j, 1, 1, 10, false)
			seq, err := w.Append(newBlock(11))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "write error" {
				failWrite.Store(true)
			} else {
				failSync.Store(true)
			}
			err = w.Flush(ctx, seq)
			if !errors.Is(err, errInjected) {
				t.Fatalf("flush: %v, want injected error", err)
			}
			// Broken for good, even once the fault is gone.
			failWrite.Store(false)
			failSync.Store(false)
			if _, err := w.Append(newBlock(12)); !errors.Is(err, errInjected) {
				t.Fatalf("append after failure: %v", err)
			}
			if err := w.Flush(ctx, seq); !errors.Is(err, errInjected) {
				t.Fatalf("flush after failure: %v", err)
			}
			if err := w.Close(); !errors.Is(err, errInjected) {
				t.Fatalf("close after failure: %v", err)
			}
			// A new term recovers what was durable.
			sm := &memSM{}
			res, err := reopen(t, j).Replay(ctx, sm)
			if err != nil {
				t.Fatal(err)
			}
			if res.LastSeq < durable {
				t.Fatalf("lost durable entries: last %d < %d", res.LastSeq, durable)
			}
			w2, err := reopen(t, j).StartWriting(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriterMisuse(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	w, last := writeBlocks(t, j, 1, 1, 3, false)
	if _, err := j.StartWriting(ctx, 2); !errors.Is(err, ErrWriting) {
		t.Fatalf("second writer: %v", err)
	}
	if _, err := j.Replay(ctx, &memSM{}); !errors.Is(err, ErrWriting) {
		t.Fatalf("replay while writing: %v", err)
	}
	if err := w.Flush(ctx, last+5); err == nil {
		t.Fatal("flush of an unappended seq succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	seq, _ := w.Append(newBlock(4))
	cancel()
	if err := w.Flush(cctx, seq); !errors.Is(err, context.Canceled) {
		t.Fatalf("flush with canceled ctx: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := w.Append(newBlock(5)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	// Closing released the journal; the unflushed-at-cancel entry was
	// flushed by Close.
	res, err := j.Replay(ctx, &memSM{})
	if err != nil || res.LastSeq != seq {
		t.Fatalf("replay after close: %+v %v", res, err)
	}
}

func BenchmarkAppendFlush(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			j := newTestJournal(b, Config{})
			var syncs atomic.Int64
			j.hooks.beforeSync = func() error { syncs.Add(1); return nil }
			ctx := context.Background()
			w, err := j.StartWriting(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			syncs.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			op := func() {
				seq, err := w.Append(newBlock(1))
				if err == nil {
					err = w.Flush(ctx, seq)
				}
				if err != nil {
					b.Error(err)
				}
			}
			if bc.parallel {
				b.SetParallelism(32)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op()
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					op()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(syncs.Load())/float64(b.N), "fsyncs/op")
		})
	}
}

func TestStartWritingNeedsFreshReplay(t *testing.T) {
	ctx := context.Background()
	j1 := newTestJournal(t, Config{})
	w1, _ := writeBlocks(t, j1, 1, 1, 5, false)
	standby := reopen(t, j1)
	if _, err := standby.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	// The old leader appends after the standby's replay.
	seq, _ := w1.Append(newBlock(6))
	if err := w1.Flush(ctx, seq); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.StartWriting(ctx, 2); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("start writing with a stale state: %v", err)
	}
	sm := &memSM{}
	if res, err := standby.Replay(ctx, sm); err != nil || res.LastSeq != seq {
		t.Fatalf("replay: %+v %v", res, err)
	}
	w2, err := standby.StartWriting(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	// A writer that broke leaves the state machine possibly ahead.
	j := newTestJournal(t, Config{})
	j.hooks.afterSync = func() error { return errInjected }
	if _, err := j.StartWriting(ctx, 1); !errors.Is(err, errInjected) {
		t.Fatalf("start with failing sync: %v", err)
	}
	j.hooks.afterSync = nil
	w, _ := writeBlocks(t, j, 2, 1, 1, false)
	j.hooks.afterSync = func() error { return errInjected }
	s, _ := w.Append(newBlock(2))
	w.Flush(ctx, s)
	w.Close()
	j.hooks.afterSync = nil
	if _, err := j.StartWriting(ctx, 3); !errors.Is(err, ErrReplayNeeded) {
		t.Fatalf("start after a broken writer: %v", err)
	}
	if _, err := j.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	w3, err := j.StartWriting(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	w3.Close()
}

// TestBackgroundFlush: an entry appended without a Flush becomes durable
// and visible to a standby within the flush delay; a fenced writer's
// background flush breaks it.
func TestBackgroundFlush(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	j.flushDelay = 5 * time.Millisecond
	standby := reopen(t, j)
	standby.flushDelay = 0
	w, last := writeBlocks(t, j, 1, 1, 3, false)
	sm := &memSM{}
	if res, err := standby.Replay(ctx, sm); err != nil || res.LastSeq != last {
		t.Fatalf("replay: %+v %v", res, err)
	}
	seq, err := w.Append(newBlock(4)) // nobody waits for it
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := standby.CatchUp(ctx, sm)
		if err != nil {
			t.Fatal(err)
		}
		if res.LastSeq == seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry %d not flushed in the background (standby at %d)", seq, res.LastSeq)
		}
		time.Sleep(time.Millisecond)
	}
	if got := sm.blockIDs(); !equalInts(got, seqRange(1, 4)) {
		t.Fatalf("standby blocks %v", got)
	}
	// A new term fences the writer; its next unwaited entry's background
	// flush fails the fence check and breaks it.
	w2, err := standby.StartWriting(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	// (The background flush of entry 4 may still have been checking the
	// fence when the standby read it: then the writer is broken already.)
	for {
		_, err := w.Append(newBlock(5))
		if errors.Is(err, ErrFenced) {
			break
		}
		if err != nil {
			t.Fatalf("append after the background flush: %v, want ErrFenced", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the fenced writer's background flush did not break it")
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(); !errors.Is(err, ErrFenced) {
		t.Fatalf("close: %v", err)
	}
}
