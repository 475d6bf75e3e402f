package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// outcome is what a client was told about one operation.
type outcome int

const (
	opOK            outcome = iota
	opFailed                // a definite failure: the operation must not have applied
	opIndeterminate         // the error wraps ErrIndeterminate: it may or may not have applied
)

func (o outcome) String() string {
	return [...]string{"ok", "failed", "indeterminate"}[o]
}

func classify(err error) outcome {
	switch {
	case err == nil:
		return opOK
	case errors.Is(err, client.ErrIndeterminate):
		return opIndeterminate
	default:
		return opFailed
	}
}

// opRecord is one client operation as the client saw it.
type opRecord struct {
	kind       string // "create" (CreateFile+Write+Close) or "mkdir"
	path       string
	content    []byte
	start, end time.Time
	outcome    outcome
	err        error
}

// opLog collects the records of concurrent clients.
type opLog struct {
	mu      sync.Mutex
	records []opRecord
	ok      atomic.Int64 // acknowledged operations of any kind
	created atomic.Int64 // acknowledged file creates (master and worker path)
}

func (l *opLog) add(r opRecord) {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
	if r.outcome == opOK {
		l.ok.Add(1)
		if r.kind == "create" {
			l.created.Add(1)
		}
	}
}

func (l *opLog) all() []opRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]opRecord(nil), l.records...)
}

// createFile writes content to a new file through fsys and returns the error
// the client reported (Close completes the file on the master).
func createFile(ctx context.Context, fsys *client.FileSystem, path string, content []byte, wt client.WriteType) error {
	w, err := fsys.CreateFile(ctx, path, wt)
	if err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		_ = w.Cancel()
		return err
	}
	return w.Close()
}

func readFile(ctx context.Context, fsys *client.FileSystem, path string) ([]byte, error) {
	r, err := fsys.OpenFile(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func fileContent(g, i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("client %d file %d;", g, i), 40))
}

// runClients runs n client goroutines until stop is closed (or each has done
// maxOps operations). Each alternates between creating a file with known
// content and a directory, and reads back one of its acknowledged files
// after every create. Reads that return wrong bytes are reported at once.
func runClients(t *testing.T, c *haCluster, n, maxOps int, stop <-chan struct{}, log *opLog) *sync.WaitGroup {
	var wg sync.WaitGroup
	var readErrs atomic.Int64
	for g := 0; g < n; g++ {
		fsys := c.mustClient(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := fsys.CreateDirectory(ctx, fmt.Sprintf("/ha/c%d", g), client.Recursive(), client.AllowExists())
		cancel()
		if err != nil {
			t.Fatalf("client %d: mkdir: %v", g, err)
		}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			dir := fmt.Sprintf("/ha/c%d", g)
			var acked []opRecord
			for i := 0; i < maxOps; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
				r := opRecord{kind: "create", path: fmt.Sprintf("%s/f%05d", dir, i), content: fileContent(g, i), start: time.Now()}
				if i%4 == 3 {
					r.kind, r.content = "mkdir", nil
					r.path = fmt.Sprintf("%s/d%05d", dir, i)
					r.err = fsys.CreateDirectory(ctx, r.path, client.Recursive())
				} else {
					r.err = createFile(ctx, fsys, r.path, r.content, client.CacheThrough)
				}
				r.end, r.outcome = time.Now(), classify(r.err)
				log.add(r)
				if r.err != nil {
					time.Sleep(20 * time.Millisecond) // no hot loop while the cluster fails over
				}
				if r.kind == "create" && r.outcome == opOK {
					acked = append(acked, r)
					back := acked[(i*7)%len(acked)]
					got, err := readFile(ctx, fsys, back.path)
					switch {
					case err != nil:
						readErrs.Add(1)
					case !bytes.Equal(got, back.content):
						t.Errorf("read of acknowledged %s returned %d bytes %.40q, want %d bytes %.40q", back.path, len(got), got, len(back.content), back.content)
					}
				}
				cancel()
			}
		}(g)
	}
	t.Cleanup(func() {
		if n := readErrs.Load(); n > 0 {
			t.Logf("%d reads failed during failovers (retry budget exhausted; not a correctness problem)", n)
		}
	})
	return &wg
}

// waitProgress polls until counter (one of log's) is at least n above its
// value at the call, or fails after limit.
func waitProgress(t *testing.T, counter *atomic.Int64, n int64, limit time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	base := counter.Load()
	for time.Since(start) < limit {
		if counter.Load() >= base+n {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	t.Fatalf("%s: fewer than %d acknowledged within %v", what, n, limit)
	return 0
}

// verifyRecords checks every record against the cluster's final state:
// acknowledged creates exist, complete, with their content; acknowledged
// directories exist; definite failures left nothing behind (a complete file
// would be a false error, an incomplete one a half-applied operation).
func verifyRecords(t *testing.T, fsys *client.FileSystem, records []opRecord) {
	t.Helper()
	counts := map[string]map[outcome]int{"create": {}, "mkdir": {}}
	samples := map[string]int{}
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, r := range records {
		counts[r.kind][r.outcome]++
		if r.err != nil {
			samples[r.kind+": "+digits.ReplaceAllString(r.err.Error(), "N")]++
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		st, err := fsys.GetStatus(ctx, r.path)
		exists := err == nil
		if err != nil && !errors.Is(err, client.ErrNotFound) {
			cancel()
			t.Fatalf("GetStatus %s: %v", r.path, err)
		}
		switch r.outcome {
		case opOK:
			if !exists {
				report("acknowledged %s %s (ok at %s) is missing", r.kind, r.path, r.end.Format("15:04:05.000"))
				break
			}
			if r.kind == "mkdir" {
				if !st.IsDir {
					report("acknowledged mkdir %s is not a directory", r.path)
				}
				break
			}
			got, err := readFile(ctx, fsys, r.path)
			if err != nil {
				report("acknowledged create %s unreadable: %v", r.path, err)
			} else if !bytes.Equal(got, r.content) {
				report("acknowledged create %s has %d bytes %.40q, want %d bytes %.40q", r.path, len(got), got, len(r.content), r.content)
			}
		case opFailed:
			if exists {
				state := "an incomplete file (half-applied)"
				if r.kind == "mkdir" || st.Completed {
					state = "fully applied (a false error)"
				}
				report("%s %s reported a definite failure (%v) at %s but is present: %s", r.kind, r.path, r.err, r.end.Format("15:04:05.000"), state)
			}
		case opIndeterminate:
			// Either way is allowed; the client was told.
		}
		cancel()
	}
	if bad > 20 {
		t.Errorf("%d record problems in all", bad)
	}
	t.Logf("client operations: create %v, mkdir %v", fmtCounts(counts["create"]), fmtCounts(counts["mkdir"]))
	errs := make([]string, 0, len(samples))
	for e, n := range samples {
		errs = append(errs, fmt.Sprintf("%5d x %s", n, e))
	}
	sort.Strings(errs)
	if len(errs) > 15 {
		errs = errs[:15]
	}
	if len(errs) > 0 {
		t.Logf("client errors (first 15 kinds):\n%s", strings.Join(errs, "\n"))
	}
}

var digits = regexp.MustCompile(`[0-9]+`)

func fmtCounts(m map[outcome]int) string {
	return fmt.Sprintf("ok=%d failed=%d indeterminate=%d", m[opOK], m[opFailed], m[opIndeterminate])
}

// TestIntegrationFailover is issue 3's first "must show": real ZooKeeper,
// three masters sharing one journal folder, two workers; four clients write
// and read continuously while the leader is killed with SIGKILL three times
// and stopped with SIGTERM once (each time restarted, so three masters
// remain). Afterwards every acknowledged create is present with its content,
// no definite failure is half-applied, the shared journal is one linear
// history and every master has replayed it into the same state.
func TestIntegrationFailover(t *testing.T) {
	c := newHACluster(t, haConfig{masters: 3, workers: 2})
	c.startAll()
	leader, epoch := c.waitLeader(nil)
	t.Logf("initial leader %s epoch %d", leader.name, epoch)

	log := &opLog{}
	stop := make(chan struct{})
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	t.Cleanup(stopClients)
	wg := runClients(t, c, 4, 5000, stop, log)
	waitProgress(t, &log.created, 20, 30*time.Second, "file creates before the first failover")

	testStart := time.Now()
	for round, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGKILL, syscall.SIGKILL, syscall.SIGTERM} {
		old, oldEpoch := c.waitLeader(nil)
		killed := time.Now()
		c.signal(old, sig)
		next, nextEpoch := c.waitLeader(old)
		elected := time.Since(killed)
		if nextEpoch <= oldEpoch {
			t.Errorf("round %d: new leader %s has epoch %d, not greater than %d of %s", round, next.name, nextEpoch, oldEpoch, old.name)
		}
		resumed := waitProgress(t, &log.ok, 5, 30*time.Second, fmt.Sprintf("operations after failover %d (%v of %s)", round, sig, old.name))
		created := waitProgress(t, &log.created, 2, 30*time.Second, fmt.Sprintf("file creates after failover %d (%v of %s)", round, sig, old.name))
		t.Logf("round %d: %s of leader %s (epoch %d): %s leads with epoch %d after %v; then clients had 5 more operations acknowledged within %v, 2 more file creates within %v",
			round, sigName(sig), old.name, oldEpoch, next.name, nextEpoch, elected.Round(time.Millisecond), resumed.Round(time.Millisecond), created.Round(time.Millisecond))
		c.start(old) // back to three masters, as a standby
		if time.Since(testStart) > 90*time.Second {
			t.Fatalf("failover rounds took more than 90s")
		}
	}
	waitProgress(t, &log.created, 10, 30*time.Second, "file creates after the last failover")
	stopClients()
	wg.Wait()
	// Block locations live only in worker registrations: wait until both
	// workers have registered with the final leader before reading back.
	c.waitWorkers(len(c.workers))

	verifier := c.mustClient(nil)
	verifyRecords(t, verifier, log.all())
	c.checkOneHistory()
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "kill -9"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// TestIntegrationZooKeeperOutage: with ZooKeeper stopped, the leader stops
// acknowledging writes; with ZooKeeper back, service resumes with no
// process restarted.
func TestIntegrationZooKeeperOutage(t *testing.T) {
	c := newHACluster(t, haConfig{masters: 3, workers: 1})
	c.startAll()
	leader, _ := c.waitLeader(nil)
	fsys := c.mustClient(nil)
	ctx := context.Background()
	if err := fsys.CreateDirectory(ctx, "/before", client.Recursive()); err != nil {
		t.Fatalf("mkdir before the outage: %v", err)
	}
	pids := map[string]int{}
	for _, n := range append(append([]*haNode{}, c.masters...), c.workers...) {
		pids[n.name] = n.pid()
	}

	c.zk.StopServer(0)
	outage := time.Now()
	// Writes sent straight to the leader (a client pinned to its address,
	// as a client that resolved it before the outage) and through ZooKeeper
	// inquiry, with a small retry budget: none may be acknowledged.
	pinned, err := c.pinnedClient(ctx, leader.addr(), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	viaZK := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": "1500ms"})
	var records []opRecord
	for i := 0; i < 6 || time.Since(outage) < haSessionTimeout+time.Second; i++ {
		if i >= 20 {
			break
		}
		fs, via := pinned, "pinned to "+leader.name
		if i%2 == 1 {
			fs, via = viaZK, "through ZooKeeper"
		}
		p := fmt.Sprintf("/during/%d", i)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fs.CreateDirectory(cctx, p, client.Recursive())
		cancel()
		r := opRecord{kind: "mkdir", path: p, outcome: classify(err), err: err, end: time.Now()}
		records = append(records, r)
		if err == nil {
			t.Errorf("mkdir %s (%s) %v after ZooKeeper stopped was acknowledged", p, via, time.Since(outage).Round(time.Millisecond))
		} else {
			t.Logf("mkdir %s (%s) during the outage: %s: %v", p, via, r.outcome, err)
		}
	}

	c.zk.StartServer(0)
	back := time.Now()
	deadline := time.Now().Add(45 * time.Second)
	var lastErr error
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		lastErr = fsys.CreateDirectory(cctx, "/after", client.Recursive())
		cancel()
		if lastErr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write acknowledged within 45s of ZooKeeper's return: %v", lastErr)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	t.Logf("service resumed %v after ZooKeeper came back", time.Since(back).Round(time.Millisecond))
	for _, n := range append(append([]*haNode{}, c.masters...), c.workers...) {
		if !n.running() || n.pid() != pids[n.name] || len(n.pids) != 1 {
			t.Errorf("%s was restarted or exited: pids %v, want only %d", n.name, n.pids, pids[n.name])
		}
	}
	c.waitLeader(nil)
	verifyRecords(t, fsys, records)
	if ok, err := fsys.Exists(ctx, "/before"); err != nil || !ok {
		t.Errorf("/before lost: exists=%v err=%v", ok, err)
	}
	c.checkOneHistory()
}

// TestIntegrationPausedLeader: the leader paused with SIGSTOP past the
// session timeout, then resumed, acknowledges nothing after it was deposed
// (not even requests that reached it while it was paused) and rejoins as a
// standby with the same state as the others.
func TestIntegrationPausedLeader(t *testing.T) {
	c := newHACluster(t, haConfig{masters: 3, workers: 1})
	c.startAll()
	old, oldEpoch := c.waitLeader(nil)
	fsys := c.mustClient(nil)
	ctx := context.Background()
	if err := fsys.CreateDirectory(ctx, "/before", client.Recursive()); err != nil {
		t.Fatalf("mkdir before the pause: %v", err)
	}

	c.signal(old, syscall.SIGSTOP)
	paused := time.Now()
	// A write that reaches the old leader while it is paused: the kernel
	// queues it, the process sees it only after SIGCONT.
	pinned, err := c.pinnedClient(ctx, old.addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	type result struct{ err error }
	inflight := make(chan result, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		inflight <- result{pinned.CreateDirectory(cctx, "/inflight-to-paused", client.Recursive())}
	}()

	next, nextEpoch := c.waitLeader(old)
	t.Logf("%s paused (epoch %d); %s leads with epoch %d after %v", old.name, oldEpoch, next.name, nextEpoch, time.Since(paused).Round(time.Millisecond))
	if nextEpoch <= oldEpoch {
		t.Errorf("new epoch %d not greater than %d", nextEpoch, oldEpoch)
	}
	if err := fsys.CreateDirectory(ctx, "/under-new-leader", client.Recursive()); err != nil {
		t.Fatalf("mkdir under the new leader: %v", err)
	}
	// Stay paused well past the session timeout.
	for time.Since(paused) < 2*haSessionTimeout {
		time.Sleep(50 * time.Millisecond) // poll interval
	}

	c.signal(old, syscall.SIGCONT)
	// Straight after resuming: a write sent directly to the old leader.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = pinned.CreateDirectory(cctx, "/direct-to-deposed", client.Recursive())
	cancel()
	if err == nil {
		t.Errorf("the deposed leader %s acknowledged a write after SIGCONT", old.name)
	} else if !errors.Is(err, client.ErrNotLeader) && !errors.Is(err, client.ErrUnavailable) && !errors.Is(err, client.ErrIndeterminate) {
		t.Errorf("write to the deposed leader: want NOT_LEADER/Unavailable, got %v", err)
	} else {
		t.Logf("write to the deposed leader: %v", err)
	}
	select {
	case r := <-inflight:
		if r.err == nil {
			t.Errorf("the deposed leader %s acknowledged a write sent while it was paused", old.name)
		} else {
			t.Logf("write queued while paused: %v", r.err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("the write queued to the paused leader did not finish within 60s of SIGCONT")
	}

	// It rejoins as a standby.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.status(ctx, old, false)
		if err == nil && st.GetRole() == "STANDBY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not report STANDBY within 30s of SIGCONT: %v %v", old.name, st, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	if m, _ := c.waitLeader(old); m != next {
		t.Logf("leadership moved on to %s", m.name)
	}
	for _, p := range []string{"/inflight-to-paused", "/direct-to-deposed"} {
		if ok, err := fsys.Exists(ctx, p); err != nil || ok {
			t.Errorf("%s exists=%v (err %v): the deposed leader's write must not apply", p, ok, err)
		}
	}
	for _, p := range []string{"/before", "/under-new-leader"} {
		if ok, err := fsys.Exists(ctx, p); err != nil || !ok {
			t.Errorf("%s exists=%v (err %v), want present", p, ok, err)
		}
	}
	c.checkOneHistory()
}

// TestIntegrationQuietFailoverStatus: right after a failover, before any
// client write, every master reports the same journal_sequence and
// state_digest (the new leader's NewTerm entry included) and the journal
// dump ends at that sequence.
func TestIntegrationQuietFailoverStatus(t *testing.T) {
	c := newHACluster(t, haConfig{masters: 3})
	c.startAll()
	fsys := c.mustClient(nil)
	if err := fsys.CreateDirectory(context.Background(), "/x"); err != nil {
		t.Fatal(err)
	}
	old, _ := c.waitLeader(nil)
	c.signal(old, syscall.SIGKILL)
	c.waitLeader(old)
	c.checkOneHistory()
}
