package zkleader

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogger sends logs to t.Log until the test ends (background goroutines
// may outlive it by a little).
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func testConfig(t testing.TB, servers []string, sessionTimeout time.Duration) Config {
	return Config{
		Servers:           servers,
		SessionTimeout:    sessionTimeout,
		ConnectionTimeout: 5 * time.Second,
		ElectionPath:      "/alluxio/election",
		LeaderPath:        "/alluxio/leader",
		InquiryRetry:      3,
		Logger:            testLogger(t),
	}
}

func newElector(t testing.TB, cfg Config, id string) *Elector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := NewElector(ctx, cfg, id)
	if err != nil {
		t.Fatalf("NewElector(%s): %v", id, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

type campaignResult struct {
	e    *Elector
	term *Term
	err  error
	at   time.Time
}

// campaign runs e.Campaign in the background and reports on the channel.
func campaign(ctx context.Context, e *Elector, results chan<- campaignResult) {
	go func() {
		t, err := e.Campaign(ctx)
		results <- campaignResult{e: e, term: t, err: err, at: time.Now()}
	}()
}

func waitResult(t testing.TB, results <-chan campaignResult, timeout time.Duration) campaignResult {
	t.Helper()
	select {
	case r := <-results:
		if r.err != nil {
			t.Fatalf("Campaign(%s): %v", r.e.ID(), r.err)
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("no campaign finished within %v", timeout)
	}
	return campaignResult{}
}

func expectNoResult(t testing.TB, results <-chan campaignResult, d time.Duration) {
	t.Helper()
	select {
	case r := <-results:
		t.Fatalf("unexpected campaign result: %s err=%v", r.e.ID(), r.err)
	case <-time.After(d):
	}
}

func waitLost(t testing.TB, term *Term, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-term.Lost():
		return time.Since(start)
	case <-time.After(timeout):
		t.Fatalf("term %d not lost within %v", term.Epoch(), timeout)
	}
	return 0
}

// eventually polls cond every 10ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
