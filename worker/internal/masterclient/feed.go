package masterclient

import (
	"context"
	"sync"
	"time"
)

// leaderFeed holds what a LeaderWatcher last reported, for the whole of
// Run: sessions follow it to leave a leader that was replaced or left, and
// the back-off between sessions ends as soon as it reports a new leader.
type leaderFeed struct {
	mu      sync.Mutex
	addr    string        // the published leader; "" when none is, or nothing was reported yet
	gen     uint64        // reports so far
	changed chan struct{} // closed and replaced at every report
}

func newLeaderFeed() *leaderFeed { return &leaderFeed{changed: make(chan struct{})} }

// report records a report of the watch.
func (f *leaderFeed) report(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr = addr
	f.gen++
	close(f.changed)
	f.changed = make(chan struct{})
}

// forget drops the last report without counting a new one (the watch
// ended, so it may be stale).
func (f *leaderFeed) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr = ""
}

// get returns the last report, how many reports came so far, and a channel
// closed at the next report.
func (f *leaderFeed) get() (string, uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr, f.gen, f.changed
}

// waitLeader waits up to d for a leader to be reported after report gen.
// It returns true if one was, and ctx's error if ctx ended first.
func (f *leaderFeed) waitLeader(ctx context.Context, gen uint64, d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		a, g, changed := f.get()
		if g > gen && a != "" {
			return true, nil
		}
		select {
		case <-changed:
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}
