package hdfstest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one cluster for a whole test package, for packages whose tests
// each need an HDFS but not a fresh one (a start costs 5-15 s). The first
// test that calls Cluster starts it; later tests get the same cluster
// (started again if a test left it stopped); Close, called from TestMain
// after m.Run, stops it and removes its directory.
//
//	var hdfs = &hdfstest.Shared{}
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		hdfs.Close()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		c := hdfs.Cluster(t) // skips with -short, like Start
//		...
//	}
//
// The cluster's methods report to the test that last called Cluster, so
// tests that share it must not run in parallel (no t.Parallel).
type Shared struct {
	// Options configure the cluster at its first start.
	Options []Option

	mu      sync.Mutex
	c       *Cluster
	failed  bool // the first start failed: later tests fail at once
	testBad bool // a test that used the cluster failed: Close keeps Dir
}

// Cluster returns the package's cluster, starting it on first use, running
// and bound to t (its log tail is shown if t fails).
func (s *Shared) Cluster(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("hdfstest: starts a real HDFS; skipped with -short (the project's unit-only tier)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		t.Fatalf("hdfstest: the shared HDFS failed to start in an earlier test of this package (see its output)")
	}
	if s.c == nil {
		started := false
		var dir string
		defer func() { // also runs when t.Fatalf ends the goroutine
			if !started {
				s.failed = true
				if dir != "" {
					os.RemoveAll(dir)
				}
			}
		}()
		c := newCluster(t, s.Options)
		var err error
		if dir, err = os.MkdirTemp("", "hdfstest-shared"); err != nil {
			t.Fatalf("hdfstest: %v", err)
		}
		c.Dir = dir
		c.start(0)
		s.c, started = c, true
	}
	c := s.c
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hdfstest: last lines of %s (kept after the package's tests):\n%s", c.LogFile(), tail(c.LogFile(), 60))
			s.mu.Lock()
			s.testBad = true
			s.mu.Unlock()
		}
	})
	if !c.Running() {
		if c.opts.ha {
			t.Fatalf("hdfstest: the shared HA cluster was stopped by an earlier test; it cannot start again")
		}
		c.start(c.Port())
	}
	return c
}

// Close stops the cluster (if it was started) and removes its directory,
// unless a test that used it failed: then the directory (data and
// minihdfs.log) stays for a post-mortem and Close says where on stderr.
// Idempotent.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return
	}
	s.c.Stop()
	if s.testBad {
		fmt.Fprintf(os.Stderr, "hdfstest: a test failed; kept the shared HDFS's data and log in %s\n", s.c.Dir)
	} else {
		os.RemoveAll(s.c.Dir)
	}
	s.c = nil
}
