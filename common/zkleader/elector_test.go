package zkleader

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/zktest"
	"github.com/go-zookeeper/zk"
)

// TestIntegrationElection: one leader among three electors, resign hands
// over quickly, epochs strictly increase, also after every elector restarts.
func TestIntegrationElection(t *testing.T) {
	ens := zktest.Start(t, 3)
	cfg := testConfig(t, ens.Servers(), 4*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ids := []string{"master-a:19998", "master-b:19998", "master-c:19998"}
	results := make(chan campaignResult, 3)
	for _, id := range ids {
		campaign(ctx, newElector(t, cfg, id), results)
	}
	first := waitResult(t, results, 10*time.Second)
	expectNoResult(t, results, 500*time.Millisecond) // exactly one leader
	if !first.term.Valid() || first.term.Epoch() < 1 {
		t.Fatalf("leader term valid=%v epoch=%d", first.term.Valid(), first.term.Epoch())
	}

	q := NewInquirer(cfg)
	defer q.Close()
	info, err := q.LeaderInfo(ctx)
	if err != nil || info.Address != first.e.ID() || info.Epoch != first.term.Epoch() {
		t.Fatalf("LeaderInfo = %+v, %v; want %s epoch %d", info, err, first.e.ID(), first.term.Epoch())
	}

	// Resign hands over to a waiting elector without a session timeout.
	epochs := []int64{first.term.Epoch()}
	prev := first
	for i := 0; i < 2; i++ {
		start := time.Now()
		if err := prev.term.Resign(ctx); err != nil {
			t.Fatalf("Resign: %v", err)
		}
		if prev.term.Valid() || !errors.Is(prev.term.Cause(), ErrResigned) {
			t.Fatalf("resigned term valid=%v cause=%v", prev.term.Valid(), prev.term.Cause())
		}
		next := waitResult(t, results, 3*time.Second)
		handover := next.at.Sub(start)
		t.Logf("resign hand-over %s -> %s took %v", prev.e.ID(), next.e.ID(), handover)
		if handover > time.Second {
			t.Errorf("resign hand-over took %v, want well under a second", handover)
		}
		if next.term.Epoch() <= epochs[len(epochs)-1] {
			t.Fatalf("epoch %d after %v, want strictly greater", next.term.Epoch(), epochs)
		}
		epochs = append(epochs, next.term.Epoch())
		eventually(t, 3*time.Second, "inquirer to see the new leader", func() bool {
			a, err := q.Leader(ctx)
			return err == nil && a == next.e.ID()
		})
		// The resigned elector may stand again, behind the others.
		campaign(ctx, prev.e, results)
		prev = next
	}

	// Every elector restarts: epochs continue from the persistent counter.
	for _, r := range []*Elector{first.e, prev.e} {
		r.Close()
	}
	expectNoResultOrClosed(t, results)
	results2 := make(chan campaignResult, 3)
	for _, id := range ids {
		campaign(ctx, newElector(t, cfg, id), results2)
	}
	after := waitResult(t, results2, 10*time.Second)
	if after.term.Epoch() <= epochs[len(epochs)-1] {
		t.Fatalf("epoch after restart %d, earlier epochs %v", after.term.Epoch(), epochs)
	}
	t.Logf("epochs %v, after restarting every elector %d", epochs, after.term.Epoch())
}

// expectNoResultOrClosed drains campaigns ended by Close.
func expectNoResultOrClosed(t *testing.T, results <-chan campaignResult) {
	t.Helper()
	for {
		select {
		case r := <-results:
			if r.err == nil {
				// The third elector (still running) may have won: close it too.
				r.e.Close()
				continue
			}
			if !errors.Is(r.err, ErrClosed) {
				t.Fatalf("campaign ended with %v, want ErrClosed", r.err)
			}
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

// TestIntegrationCrashedLeader: a leader that vanishes without closing its
// session (its connection cut, as in a crash) blocks the others until the
// session times out; the cut-off leader loses its term at once.
func TestIntegrationCrashedLeader(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy := zktest.NewProxy(t, ens.Servers()[0])
	const sessionTimeout = 2 * time.Second
	cfgA := testConfig(t, []string{proxy.Addr()}, sessionTimeout)
	cfgB := testConfig(t, ens.Servers(), sessionTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a := newElector(t, cfgA, "10.0.0.1:19998")
	termA, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan campaignResult, 1)
	campaign(ctx, newElector(t, cfgB, "10.0.0.2:19998"), results)
	expectNoResult(t, results, 300*time.Millisecond)

	cut := time.Now()
	proxy.Block()
	lostAfter := waitLost(t, termA, sessionTimeout)
	t.Logf("cut-off leader lost its term after %v (cause: %v)", lostAfter, termA.Cause())
	if termA.Valid() {
		t.Fatal("lost term still valid")
	}
	b := waitResult(t, results, 3*sessionTimeout)
	failover := b.at.Sub(cut)
	t.Logf("standby elected %v after the leader was cut off (session timeout %v)", failover, sessionTimeout)
	// ZooKeeper counts the timeout from the last ping it received, up to a
	// third of the timeout before the cut.
	if failover < sessionTimeout/2 {
		t.Fatalf("standby won after %v, before the %v session timeout", failover, sessionTimeout)
	}
	if b.term.Epoch() <= termA.Epoch() {
		t.Fatalf("epoch %d after %d", b.term.Epoch(), termA.Epoch())
	}

	// The old leader comes back with a new session and queues behind B.
	proxy.Unblock()
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	defer ccancel()
	if _, err := a.Campaign(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Campaign by the old leader = %v, want it to wait (deadline exceeded)", err)
	}
	q := NewInquirer(cfgB)
	defer q.Close()
	if addr, err := q.Leader(ctx); err != nil || addr != b.e.ID() {
		t.Fatalf("Leader = %q, %v; want %s", addr, err, b.e.ID())
	}
	// On its new session the old leader can lead again once B resigns.
	campaign(ctx, a, results)
	if err := b.term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	again := waitResult(t, results, 3*time.Second)
	if again.e != a || again.term.Epoch() <= b.term.Epoch() {
		t.Fatalf("after B resigned: %s won with epoch %d (B had %d)", again.e.ID(), again.term.Epoch(), b.term.Epoch())
	}
}

// TestIntegrationPartitionedLeader: a leader cut off by a partition (no
// error, just silence) stops being Valid and loses its term after two thirds
// of the session timeout, before ZooKeeper expires its session and lets a
// standby win.
func TestIntegrationPartitionedLeader(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy := zktest.NewProxy(t, ens.Servers()[0])
	const sessionTimeout = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a := newElector(t, testConfig(t, []string{proxy.Addr()}, sessionTimeout), "10.0.0.1:19998")
	termA, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan campaignResult, 1)
	campaign(ctx, newElector(t, testConfig(t, ens.Servers(), sessionTimeout), "10.0.0.2:19998"), results)
	expectNoResult(t, results, 200*time.Millisecond)

	cut := time.Now()
	proxy.Blackhole()
	var invalidAt time.Duration
	eventually(t, sessionTimeout, "the partitioned term to become invalid", func() bool {
		invalidAt = time.Since(cut)
		return !termA.Valid()
	})
	lostAt := time.Since(cut) + waitLost(t, termA, sessionTimeout)
	b := waitResult(t, results, 3*sessionTimeout)
	wonAt := b.at.Sub(cut)
	t.Logf("partition: old leader invalid after %v, lost after %v (%v); standby elected after %v; session timeout %v",
		invalidAt, lostAt, termA.Cause(), wonAt, sessionTimeout)
	if lostAt >= wonAt || invalidAt >= wonAt {
		t.Fatalf("old leader gave up at %v/%v, not before the standby won at %v", invalidAt, lostAt, wonAt)
	}
	if b.term.Epoch() <= termA.Epoch() {
		t.Fatalf("epoch %d after %d", b.term.Epoch(), termA.Epoch())
	}
}

// TestIntegrationDisconnect: stopping ZooKeeper ends the leader's term at
// once (disconnection, not expiry); once it is back a new campaign wins with
// a higher epoch.
func TestIntegrationDisconnect(t *testing.T) {
	ens := zktest.Start(t, 1)
	cfg := testConfig(t, ens.Servers(), 4*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e := newElector(t, cfg, "10.0.0.1:19998")
	term, err := e.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lostAt := make(chan time.Time, 1)
	go func() { <-term.Lost(); lostAt <- time.Now() }()
	stopping := time.Now()
	ens.StopServer(0) // SIGTERM; returns when the JVM has exited
	exited := time.Now()
	var lost time.Time
	select {
	case lost = <-lostAt:
	case <-time.After(2 * time.Second):
		t.Fatal("term not lost within 2s of ZooKeeper stopping")
	}
	t.Logf("term lost %v after the stop signal (server exited after %v); cause: %v",
		lost.Sub(stopping), exited.Sub(stopping), term.Cause())
	if term.Valid() {
		t.Fatal("term still valid while disconnected")
	}
	// While ZooKeeper is down a campaign waits, bounded by its ctx.
	cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, err = e.Campaign(cctx)
	ccancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Campaign without ZooKeeper = %v after %v", err, time.Since(start))
	}

	ens.StartServer(0)
	again, err := e.Campaign(ctx)
	if err != nil {
		t.Fatalf("Campaign after ZooKeeper restart: %v", err)
	}
	if again.Epoch() <= term.Epoch() {
		t.Fatalf("epoch after restart %d, before %d", again.Epoch(), term.Epoch())
	}
	t.Logf("re-elected with epoch %d (was %d)", again.Epoch(), term.Epoch())
	q := NewInquirer(cfg)
	defer q.Close()
	info, err := q.LeaderInfo(ctx)
	if err != nil || info.Address != e.ID() || info.Epoch != again.Epoch() {
		t.Fatalf("LeaderInfo = %+v, %v", info, err)
	}
}

// TestIntegrationInquirer: finding, following and choosing leaders.
func TestIntegrationInquirer(t *testing.T) {
	ens := zktest.Start(t, 1)
	cfg := testConfig(t, ens.Servers(), 4*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("NoLeader", func(t *testing.T) {
		q := NewInquirer(cfg)
		defer q.Close()
		q.RetryInterval = 100 * time.Millisecond
		start := time.Now()
		_, err := q.Leader(ctx)
		took := time.Since(start)
		if !errors.Is(err, rpcstatus.ErrUnavailable) {
			t.Fatalf("Leader with no leader = %v, want ErrUnavailable", err)
		}
		for _, want := range []string{ens.Servers()[0], cfg.LeaderPath, "4 attempts"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("3 retries 100ms apart took %v", took)
		}
		t.Logf("no leader: %v (after %v)", err, took)
	})

	t.Run("Watch", func(t *testing.T) {
		q := NewInquirer(cfg)
		defer q.Close()
		wctx, wcancel := context.WithCancel(ctx)
		ch := q.Watch(wctx)
		a := newElector(t, cfg, "10.0.0.1:19998")
		b := newElector(t, cfg, "10.0.0.2:19998")
		ta, err := a.Campaign(ctx)
		if err != nil {
			t.Fatal(err)
		}
		expectAddr(t, ch, a.ID())
		results := make(chan campaignResult, 1)
		campaign(ctx, b, results)
		if err := ta.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		rb := waitResult(t, results, 3*time.Second)
		expectAddr(t, ch, b.ID())
		// B resigns and wins again at the same address: a new leader node.
		rb.term.Resign(ctx)
		if _, err := b.Campaign(ctx); err != nil {
			t.Fatal(err)
		}
		expectAddr(t, ch, b.ID())
		wcancel()
		select {
		case _, ok := <-ch:
			if ok {
				// a buffered value may precede the close
				if _, ok := <-ch; ok {
					t.Fatal("watch channel not closed after cancel")
				}
			}
		case <-time.After(3 * time.Second):
			t.Fatal("watch channel not closed after cancel")
		}
		a.Close()
		b.Close()
	})

	// A lookup during a clean hand-over (no leader node for a moment) must
	// return as soon as the new leader is published, not a RetryInterval
	// later: it waits on a watch of the leader path.
	t.Run("HandOver", func(t *testing.T) {
		q := NewInquirer(cfg)
		defer q.Close()
		q.RetryInterval = 3 * time.Second
		a := newElector(t, cfg, "10.0.1.1:19998")
		b := newElector(t, cfg, "10.0.1.2:19998")
		ta, err := a.Campaign(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := q.Leader(ctx); err != nil || got != a.ID() {
			t.Fatalf("Leader = %q, %v; want %s", got, err, a.ID())
		}
		if err := ta.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		type answer struct {
			addr string
			err  error
			at   time.Time
		}
		answers := make(chan answer, 1)
		go func() {
			addr, err := q.Leader(ctx)
			answers <- answer{addr, err, time.Now()}
		}()
		time.Sleep(200 * time.Millisecond) // the lookup finds no leader and waits
		results := make(chan campaignResult, 1)
		campaign(ctx, b, results)
		rb := waitResult(t, results, 3*time.Second)
		var got answer
		select {
		case got = <-answers:
		case <-time.After(5 * time.Second):
			t.Fatal("Leader did not return")
		}
		if got.err != nil || got.addr != b.ID() {
			t.Fatalf("Leader during the hand-over = %q, %v; want %s", got.addr, got.err, b.ID())
		}
		lag := got.at.Sub(rb.at)
		t.Logf("Leader returned the new leader %v after it was published (RetryInterval %v)", lag.Round(time.Millisecond), q.RetryInterval)
		if lag > time.Second {
			t.Errorf("Leader returned %v after the new leader was published, want well under RetryInterval %v", lag, q.RetryInterval)
		}
		a.Close()
		b.Close()
	})

	t.Run("WatchInfo", func(t *testing.T) {
		q := NewInquirer(cfg)
		defer q.Close()
		wctx, wcancel := context.WithCancel(ctx)
		defer wcancel()
		ch := q.WatchInfo(wctx)
		expectInfo(t, ch, "") // nothing published yet
		a := newElector(t, cfg, "10.0.2.1:19998")
		ta, err := a.Campaign(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info := expectInfo(t, ch, a.ID()); info.Epoch != ta.Epoch() {
			t.Errorf("WatchInfo epoch %d, want %d", info.Epoch, ta.Epoch())
		}
		if err := ta.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		expectInfo(t, ch, "") // the leader left
		if _, err := a.Campaign(ctx); err != nil {
			t.Fatal(err)
		}
		expectInfo(t, ch, a.ID())
		a.Close()
		expectInfo(t, ch, "")
	})

	t.Run("StaleNodes", func(t *testing.T) {
		conn, _, err := zk.Connect(ens.Servers(), 4*time.Second, zk.WithLogInfo(false))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cfg := cfg
		cfg.LeaderPath = "/stale/leader"
		q := NewInquirer(cfg)
		defer q.Close()
		create := func(name, data string) {
			t.Helper()
			for _, p := range []string{"/stale", "/stale/leader"} {
				conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
			}
			if _, err := conn.Create(cfg.LeaderPath+"/"+name, []byte(data), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
		del := func(names ...string) {
			for _, n := range names {
				conn.Delete(cfg.LeaderPath+"/"+n, -1)
			}
		}
		// Alluxio-style nodes without epochs: the newest wins.
		create("old:1", "")
		create("new:2", "")
		if a, err := q.Leader(ctx); err != nil || a != "new:2" {
			t.Fatalf("Leader among epoch-less nodes = %q, %v; want new:2", a, err)
		}
		del("old:1", "new:2")
		// With epochs, the highest epoch wins even if older.
		create("high:1", "9")
		create("low:2", "3")
		if a, err := q.Leader(ctx); err != nil || a != "high:1" {
			t.Fatalf("Leader among epoch nodes = %q, %v; want high:1", a, err)
		}
		del("high:1", "low:2")
	})
}

func expectAddr(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok || got != want {
			t.Fatalf("Watch delivered %q (open=%v), want %q", got, ok, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("Watch did not deliver %q", want)
	}
}

func expectInfo(t *testing.T, ch <-chan LeaderInfo, want string) LeaderInfo {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok || got.Address != want {
			t.Fatalf("WatchInfo delivered %+v (open=%v), want %q", got, ok, want)
		}
		return got
	case <-time.After(3 * time.Second):
		t.Fatalf("WatchInfo did not deliver %q", want)
	}
	return LeaderInfo{}
}

// TestUnreachable: with no ZooKeeper listening, calls fail with a clear
// error after the connection timeout, or earlier when ctx ends.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := testConfig(t, []string{addr}, 2*time.Second)
	cfg.ConnectionTimeout = time.Second

	start := time.Now()
	_, err = NewElector(context.Background(), cfg, "10.0.0.1:19998")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), addr) || !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("NewElector = %v; want an unavailable error naming %s", err, addr)
	}
	if took > 3*time.Second {
		t.Fatalf("NewElector took %v with a 1s connection timeout", took)
	}
	t.Logf("NewElector: %v (after %v)", err, took)

	q := NewInquirer(cfg)
	defer q.Close()
	start = time.Now()
	_, err = q.Leader(context.Background())
	if err == nil || !strings.Contains(err.Error(), addr) || !errors.Is(err, rpcstatus.ErrUnavailable) || time.Since(start) > 3*time.Second {
		t.Fatalf("Leader = %v after %v", err, time.Since(start))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = q.Leader(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("Leader with a 200ms ctx = %v after %v", err, time.Since(start))
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no servers", Config{}, "no ZooKeeper servers"},
		{"relative path", Config{Servers: []string{"zk:2181"}, LeaderPath: "alluxio/leader"}, "not an absolute znode path"},
		{"overlap", Config{Servers: []string{"zk:2181"}, ElectionPath: "/a", LeaderPath: "/a/leader"}, "must not overlap"},
		{"defaults", Config{Servers: []string{"zk1:2181, zk2:2181"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.cfg.normalize()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Servers) != 2 || c.ElectionPath != DefaultElectionPath || c.LeaderPath != DefaultLeaderPath ||
				c.SessionTimeout != DefaultSessionTimeout || c.ConnectionTimeout != DefaultConnectionTimeout ||
				c.InquiryRetry != DefaultInquiryRetry || c.epochPath() != "/alluxio/election-epoch" {
				t.Fatalf("normalized = %+v", c)
			}
		})
	}
}

func TestSortCandidates(t *testing.T) {
	in := []string{"_c_ab-n_0000000010", "junk", "_c_cd-n_0000000002", "n_0000000007"}
	got := strings.Join(sortCandidates(in), ",")
	want := "_c_cd-n_0000000002,n_0000000007,_c_ab-n_0000000010"
	if got != want {
		t.Fatalf("sortCandidates = %s, want %s", got, want)
	}
}

func TestBetter(t *testing.T) {
	t0 := time.UnixMilli(1000)
	tests := []struct {
		a, b LeaderInfo
		want bool
	}{
		{LeaderInfo{Epoch: 2, Ctime: t0}, LeaderInfo{Epoch: 1, Ctime: t0.Add(time.Hour)}, true},
		{LeaderInfo{Ctime: t0.Add(time.Second)}, LeaderInfo{Ctime: t0}, true},
		{LeaderInfo{Ctime: t0, Czxid: 5}, LeaderInfo{Ctime: t0, Czxid: 7}, false},
	}
	for i, tt := range tests {
		if got := better(tt.a, tt.b); got != tt.want {
			t.Errorf("%d: better = %v", i, got)
		}
	}
	if _, err := parseEpoch([]byte("x")); err == nil {
		t.Error("parseEpoch accepted x")
	}
	if n, _ := parseEpoch([]byte(strconv.Itoa(42))); n != 42 {
		t.Error("parseEpoch(42)")
	}
}
