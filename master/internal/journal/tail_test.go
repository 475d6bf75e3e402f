package journal

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// renameEntry is an entry with a payload of random length.
func renameEntry(rng *rand.Rand, id int64) *journalpb.JournalEntry {
	name := strings.Repeat(string(rune('a'+id%26)), 1+rng.Intn(300))
	return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_Rename{Rename: &journalpb.RenameEntry{Id: id, NewName: name}}}
}

// appendSome appends n entries with ids from id on, flushing after a random
// number of them, and returns the acknowledged entries (seq and epoch set)
// and the first error.
func appendSome(ctx context.Context, rng *rand.Rand, w Writer, id int64, n int) (acked []*journalpb.JournalEntry, err error) {
	var batch []*journalpb.JournalEntry
	flushAt := 1 + rng.Intn(20)
	for i := 0; i < n; i++ {
		e := renameEntry(rng, id+int64(i))
		seq, err := w.Append(e)
		if err != nil {
			return acked, err
		}
		batch = append(batch, proto.Clone(e).(*journalpb.JournalEntry))
		if len(batch) >= flushAt || i == n-1 {
			if err := w.Flush(ctx, seq); err != nil {
				return acked, err
			}
			acked = append(acked, batch...)
			batch, flushAt = nil, 1+rng.Intn(20)
		}
	}
	return acked, nil
}

// TestCatchUpWhileWriting: a hot standby calls CatchUp in a tight loop while
// a leader appends, flushes and rotates; then a second leader (a new epoch)
// seals the first one's log while the first keeps writing, and continues.
// The standby ends with exactly the journal's history (as Dump gives it),
// holding every acknowledged entry with its seq, epoch and payload.
func TestCatchUpWhileWriting(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	leader := newTestJournal(t, Config{LogSizeBytesMax: 8 << 10})
	standby := reopen(t, leader)
	var lists atomic.Int64
	standby.hooks.listed = func() { lists.Add(1) }
	sm := &memSM{}
	if _, err := standby.Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}

	// The standby's loop: CatchUp every millisecond until told to stop at a seq.
	var target atomic.Int64
	target.Store(-1)
	var calls atomic.Int64
	readerErr := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(60 * time.Second)
		for {
			res, err := standby.CatchUp(ctx, sm)
			calls.Add(1)
			if err != nil {
				readerErr <- err
				return
			}
			if tg := target.Load(); tg >= 0 && res.LastSeq >= tg {
				readerErr <- nil
				return
			}
			if time.Now().After(deadline) {
				readerErr <- fmt.Errorf("standby stuck at seq %d (target %d)", res.LastSeq, target.Load())
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	// Term 1.
	w1, err := leader.StartWriting(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	acked1, err := appendSome(ctx, rng, w1, 1, 3000)
	if err != nil {
		t.Fatal(err)
	}
	// Term 2 seals term 1 while term 1 keeps writing.
	var wg sync.WaitGroup
	var late []*journalpb.JournalEntry
	var lateErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		lrng := rand.New(rand.NewSource(2))
		late, lateErr = appendSome(ctx, lrng, w1, 100000, 1<<30)
	}()
	time.Sleep(5 * time.Millisecond)
	j2 := reopen(t, leader)
	var w2 Writer
	for attempt := 0; ; attempt++ {
		if _, err := j2.Replay(ctx, &memSM{}); err != nil {
			t.Fatal(err)
		}
		if w2, err = j2.StartWriting(ctx, 2); !errors.Is(err, ErrReplayNeeded) || attempt > 20 {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !errors.Is(lateErr, ErrFenced) {
		t.Fatalf("deposed writer stopped with %v, want ErrFenced", lateErr)
	}
	acked2, err := appendSome(ctx, rng, w2, 200000, 3000)
	if err != nil {
		t.Fatal(err)
	}
	last := acked2[len(acked2)-1].GetSequenceNumber()
	target.Store(last)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}

	var history []*journalpb.JournalEntry
	if err := Dump(ctx, leader.cfg, func(e *journalpb.JournalEntry) error { history = append(history, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sm.entries) != len(history) {
		t.Fatalf("standby applied %d entries, the history has %d", len(sm.entries), len(history))
	}
	for i := range history {
		if !proto.Equal(sm.entries[i], history[i]) {
			t.Fatalf("entry %d: standby %v, history %v", i, sm.entries[i], history[i])
		}
	}
	bySeq := map[int64]*journalpb.JournalEntry{}
	for _, e := range history {
		bySeq[e.GetSequenceNumber()] = e
	}
	for _, e := range append(append(acked1, late...), acked2...) {
		if h := bySeq[e.GetSequenceNumber()]; !proto.Equal(h, e) {
			t.Fatalf("acknowledged %v, history has %v", e, h)
		}
	}
	if history[len(history)-1].GetSequenceNumber() != last {
		t.Fatalf("history ends at %d, want %d", history[len(history)-1].GetSequenceNumber(), last)
	}
	nlogs := len(logNames(t, leader))
	t.Logf("%d entries (%d acknowledged late by the deposed writer), %d logs, %d CatchUp calls, %d listings",
		len(history), len(late), nlogs, calls.Load(), lists.Load())

	// Idle calls list nothing and apply nothing.
	before := lists.Load()
	for i := 0; i < 100; i++ {
		if res, err := standby.CatchUp(ctx, sm); err != nil || res.Entries != 0 || res.LastSeq != last {
			t.Fatalf("idle catch up: %+v %v", res, err)
		}
	}
	if n := lists.Load() - before; n != 0 {
		t.Fatalf("100 idle CatchUp calls listed the logs %d times", n)
	}
}

// BenchmarkCatchUpIdle: the cost of a CatchUp that finds nothing new.
func BenchmarkCatchUpIdle(b *testing.B) {
	ctx := context.Background()
	leader := newTestJournal(b, Config{})
	w, _ := writeBlocks(b, leader, 1, 1, 1000, false)
	defer w.Close()
	standby := reopen(b, leader)
	sm := &memSM{}
	if _, err := standby.Replay(ctx, sm); err != nil {
		b.Fatal(err)
	}
	if _, err := standby.CatchUp(ctx, sm); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := standby.CatchUp(ctx, sm); err != nil {
			b.Fatal(err)
		}
	}
}

// lagSM records when each seq was applied.
type lagSM struct {
	mu      sync.Mutex
	applied map[int64]time.Time
}

func (s *lagSM) Apply(e *journalpb.JournalEntry) error {
	now := time.Now()
	s.mu.Lock()
	s.applied[e.GetSequenceNumber()] = now
	s.mu.Unlock()
	return nil
}
func (s *lagSM) Reset() {}

// BenchmarkCatchUpLag measures the time from a leader's Flush returning to a
// standby, polling with CatchUp every 20 ms, having applied the entry.
// "spaced": one entry at a time, at random moments (0-10 ms apart);
// "busy": the leader appends and flushes continuously (64 KiB logs, so it
// rotates often). Run with -benchtime=1000x.
func BenchmarkCatchUpLag(b *testing.B) {
	const poll = 20 * time.Millisecond
	for _, bc := range []struct {
		name    string
		segSize int64
		spacing time.Duration
	}{{"spaced", 0, 10 * time.Millisecond}, {"busy", 64 << 10, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			rng := rand.New(rand.NewSource(3))
			leader := newTestJournal(b, Config{LogSizeBytesMax: bc.segSize})
			w, err := leader.StartWriting(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			standby := reopen(b, leader)
			sm := &lagSM{applied: map[int64]time.Time{}}
			if _, err := standby.Replay(ctx, sm); err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan error, 1)
			var callTime time.Duration
			var ncalls int64
			go func() {
				tk := time.NewTicker(poll)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						_, err := standby.CatchUp(ctx, sm)
						done <- err
						return
					case <-tk.C:
					}
					t0 := time.Now()
					if _, err := standby.CatchUp(ctx, sm); err != nil {
						done <- err
						return
					}
					callTime += time.Since(t0)
					ncalls++
				}
			}()
			flushed := make(map[int64]time.Time, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seq, err := w.Append(renameEntry(rng, int64(i)))
				if err == nil {
					err = w.Flush(ctx, seq)
				}
				if err != nil {
					b.Fatal(err)
				}
				flushed[seq] = time.Now()
				if bc.spacing > 0 {
					time.Sleep(time.Duration(rng.Int63n(int64(bc.spacing))))
				}
			}
			// Wait for the standby to apply the last entry, then stop it.
			deadline := time.Now().Add(10 * time.Second)
			for {
				sm.mu.Lock()
				n := len(sm.applied)
				sm.mu.Unlock()
				if n >= len(flushed)+1 || time.Now().After(deadline) {
					break
				}
				time.Sleep(poll)
			}
			b.StopTimer()
			close(stop)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			w.Close()
			var lags []time.Duration
			for seq, ft := range flushed {
				at, ok := sm.applied[seq]
				if !ok {
					b.Fatalf("seq %d never applied", seq)
				}
				lags = append(lags, max(at.Sub(ft), 0))
			}
			sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
			var sum time.Duration
			for _, l := range lags {
				sum += l
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(sum/time.Duration(len(lags))), "mean-lag-ms")
			b.ReportMetric(ms(lags[len(lags)/2]), "p50-lag-ms")
			b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-lag-ms")
			b.ReportMetric(ms(lags[len(lags)-1]), "max-lag-ms")
			if ncalls > 0 {
				b.ReportMetric(float64(callTime.Microseconds())/float64(ncalls), "µs/catchup")
			}
		})
	}
}

// TestStandbyTakesOver: a hot standby that caught up becomes the leader
// while the old leader's log is still open. If the old leader appended after
// the standby's last CatchUp, StartWriting seals and asks for a replay, and
// a CatchUp (not a full Replay) is enough.
func TestStandbyTakesOver(t *testing.T) {
	ctx := context.Background()
	for _, more := range []bool{false, true} {
		t.Run(fmt.Sprintf("appended after catch up=%v", more), func(t *testing.T) {
			leader := newTestJournal(t, Config{LogSizeBytesMax: 2048})
			w1, _ := writeBlocks(t, leader, 1, 1, 200, false)
			standby := reopen(t, leader)
			sm := &memSM{}
			if _, err := standby.Replay(ctx, sm); err != nil {
				t.Fatal(err)
			}
			last, _ := w1.Append(newBlock(201))
			w1.Flush(ctx, last)
			if _, err := standby.CatchUp(ctx, sm); err != nil {
				t.Fatal(err)
			}
			if more {
				last, _ = w1.Append(newBlock(202))
				w1.Flush(ctx, last)
			}
			w, err := standby.StartWriting(ctx, 2)
			if more {
				if !errors.Is(err, ErrReplayNeeded) {
					t.Fatalf("start writing: %v, want ErrReplayNeeded", err)
				}
				if res, err := standby.CatchUp(ctx, sm); err != nil || res.LastSeq != last {
					t.Fatalf("catch up after the seal: %+v %v", res, err)
				}
				w, err = standby.StartWriting(ctx, 2)
			}
			if err != nil {
				t.Fatal(err)
			}
			seq, _ := w.Append(newBlock(1000))
			if seq != last+2 {
				t.Fatalf("first seq of the new term %d, want %d", seq, last+2)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if s, _ := w1.Append(newBlock(5000)); w1.Flush(ctx, s) == nil {
				t.Fatal("old leader not fenced")
			}
			full := &memSM{}
			if _, err := reopen(t, leader).Replay(ctx, full); err != nil {
				t.Fatal(err)
			}
			if len(full.entries) != len(sm.entries)+2 { // + NewTerm, block 1000
				t.Fatalf("replay has %d entries, standby %d", len(full.entries), len(sm.entries))
			}
			for i := range sm.entries {
				if !proto.Equal(full.entries[i], sm.entries[i]) {
					t.Fatalf("entry %d differs", i)
				}
			}
		})
	}
}

// TestStandbyNeverAppliesPastFence: a standby tailing the open log reads
// records that the deposed leader wrote after a new leader fenced the log.
// Until the seal decides their fate it must not apply them; here the sealer
// read the log before they were written, so they are not history.
func TestStandbyNeverAppliesPastFence(t *testing.T) {
	ctx := context.Background()
	leader := newTestJournal(t, Config{})
	w1, last := writeBlocks(t, leader, 1, 1, 10, false) // seqs 1..11
	standby := reopen(t, leader)
	sm := &memSM{}
	if _, err := standby.Replay(ctx, sm); err != nil {
		t.Fatal(err)
	}
	if res, err := standby.CatchUp(ctx, sm); err != nil || res.LastSeq != last {
		t.Fatalf("catch up: %+v %v", res, err)
	}
	open := findLog(t, leader, true)
	info, _ := os.Stat(open)
	sealedSize := info.Size()
	// Step 1 of a seal: fence.
	if err := os.Rename(open, open+sealingSuffix); err != nil {
		t.Fatal(err)
	}
	// The deposed leader writes on; its flush fails the fence check but
	// the bytes are in the file, where the standby's descriptor sees them.
	seq, _ := w1.Append(newBlock(11))
	if err := w1.Flush(ctx, seq); !errors.Is(err, ErrFenced) {
		t.Fatalf("flush after fence: %v", err)
	}
	for i := 0; i < 3; i++ {
		if res, err := standby.CatchUp(ctx, sm); err != nil || res.LastSeq != last || res.Entries != 0 {
			t.Fatalf("catch up during the seal: %+v %v", res, err)
		}
	}
	// Steps 2-3 as if the sealer had read before the late record: truncate
	// to what it saw and rename to the true end.
	if err := os.Truncate(open+sealingSuffix, sealedSize); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(open+sealingSuffix, filepath.Join(leader.Dir(), logsDir, segName(1, last+1))); err != nil {
		t.Fatal(err)
	}
	j2 := reopen(t, leader)
	if _, err := j2.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	w2, last2 := writeBlocks(t, j2, 2, 100, 105, false)
	defer w2.Close()
	if res, err := standby.CatchUp(ctx, sm); err != nil || res.LastSeq != last2 {
		t.Fatalf("catch up after the seal: %+v %v", res, err)
	}
	if got := sm.blockIDs(); !equalInts(got, append(seqRange(1, 10), seqRange(100, 105)...)) {
		t.Fatalf("standby blocks %v", got)
	}
}
