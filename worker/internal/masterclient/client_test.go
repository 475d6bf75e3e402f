package masterclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

type master struct {
	alluxiopb.UnimplementedBlockMasterWorkerServiceServer
	mu         sync.Mutex
	registered int
	removed    []int64
	committed  []int64
	failHB     atomic.Bool
	notLeader  atomic.Bool // every call fails with NOT_LEADER (a master that stepped down)
}

var errNotLeader = rpcstatus.ToGRPC(fmt.Errorf("stepped down: %w", rpcstatus.ErrNotLeader))

func (m *master) GetWorkerId(context.Context, *alluxiopb.GetWorkerIdRequest) (*alluxiopb.GetWorkerIdResponse, error) {
	if m.notLeader.Load() {
		return nil, errNotLeader
	}
	return &alluxiopb.GetWorkerIdResponse{WorkerId: 1}, nil
}

func (m *master) RegisterWorker(context.Context, *alluxiopb.RegisterWorkerRequest) (*alluxiopb.RegisterWorkerResponse, error) {
	if m.notLeader.Load() {
		return nil, errNotLeader
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registered++
	return &alluxiopb.RegisterWorkerResponse{}, nil
}

func (m *master) CommitBlock(_ context.Context, req *alluxiopb.CommitBlockRequest) (*alluxiopb.CommitBlockResponse, error) {
	if m.notLeader.Load() {
		return nil, errNotLeader
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.committed = append(m.committed, req.GetBlockId())
	return &alluxiopb.CommitBlockResponse{}, nil
}

func (m *master) BlockHeartbeat(_ context.Context, req *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.BlockHeartbeatResponse, error) {
	if m.notLeader.Load() {
		return nil, errNotLeader
	}
	if m.failHB.Load() {
		return nil, errors.New("injected failure")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removed = append(m.removed, req.GetRemovedBlockIds()...)
	return &alluxiopb.BlockHeartbeatResponse{}, nil
}

func (m *master) counts() (int, []int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registered, append([]int64(nil), m.removed...)
}

func startMaster(t *testing.T) (*master, string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &master{}
	gs := grpc.NewServer()
	alluxiopb.RegisterBlockMasterWorkerServiceServer(gs, m)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return m, lis.Addr().String()
}

// seqResolver returns its addresses in turn, then the last one forever.
type seqResolver struct {
	mu    sync.Mutex
	addrs []string
	calls int
}

func (r *seqResolver) Resolve(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	a := r.addrs[0]
	if len(r.addrs) > 1 {
		r.addrs = r.addrs[1:]
	}
	if a == "" {
		return "", errors.New("no leader yet")
	}
	return a, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func newStore(t *testing.T) *blockstore.Store {
	s, err := blockstore.Open(blockstore.Config{Tiers: []blockstore.TierConfig{{Alias: "MEM", Dirs: []blockstore.DirConfig{{Path: t.TempDir(), Quota: 1 << 20}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReResolvesUntilAMasterAnswers(t *testing.T) {
	m, addr := startMaster(t)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	r := &seqResolver{addrs: []string{"", deadAddr, addr}}
	c := New(Config{Resolver: r, Store: newStore(t), HeartbeatInterval: 10 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	waitFor(t, "registration", c.Registered)
	if n, _ := m.counts(); n != 1 || c.MasterAddress() != addr || c.WorkerID() != 1 {
		t.Fatalf("registrations=%d master=%q id=%d", n, c.MasterAddress(), c.WorkerID())
	}
	// A failing heartbeat leads to a new session: resolve, register again.
	m.failHB.Store(true)
	waitFor(t, "deregistration", func() bool { return !c.Registered() })
	m.failHB.Store(false)
	waitFor(t, "re-registration", func() bool { n, _ := m.counts(); return n >= 2 && c.Registered() })
	cancel()
	<-done
	if c.Registered() {
		t.Fatal("still registered after Run returned")
	}
}

func TestHeartbeatReportsRemovalOnce(t *testing.T) {
	m, addr := startMaster(t)
	s := newStore(t)
	for _, id := range []int64{1, 2} {
		tb, _ := s.CreateBlock(1, id, blockstore.CreateOptions{})
		tb.Write([]byte("x"))
		tb.Commit()
	}
	c := New(Config{Resolver: StaticResolver{Addr: addr}, Store: s, HeartbeatInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	waitFor(t, "registration", c.Registered)
	s.Remove(2)
	waitFor(t, "removal reported", func() bool { _, r := m.counts(); return len(r) > 0 })
	time.Sleep(50 * time.Millisecond) // several more heartbeats
	if _, r := m.counts(); len(r) != 1 || r[0] != 2 {
		t.Fatalf("removed reported as %v, want [2] once", r)
	}
}

func TestCommitBlockWaitsForRegistration(t *testing.T) {
	c := New(Config{Resolver: StaticResolver{}, Store: newStore(t), RPCTimeout: 20 * time.Millisecond})
	err := c.CommitBlock(context.Background(), 1, 1, "MEM", 1)
	if !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("commit without a master = %v, want unavailable", err)
	}
}

func TestBackoffBounded(t *testing.T) {
	for attempt := 1; attempt < 40; attempt++ {
		d := backoff(10*time.Millisecond, time.Second, attempt)
		if d <= 0 || d > time.Second {
			t.Fatalf("attempt %d: backoff %v out of (0, 1s]", attempt, d)
		}
	}
}

func (m *master) commits() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int64(nil), m.committed...)
}

// watchResolver stands for ZooKeeper: Resolve answers the published leader
// ("" when none) and Watch reports every publication, as ZKResolver does.
type watchResolver struct {
	mu       sync.Mutex
	addr     string
	watchers []chan string
}

func (r *watchResolver) Resolve(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addr == "" {
		return "", fmt.Errorf("no leader published: %w", rpcstatus.ErrUnavailable)
	}
	return r.addr, nil
}

func (r *watchResolver) Watch(ctx context.Context) <-chan string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan string, 1)
	ch <- r.addr
	r.watchers = append(r.watchers, ch)
	out := make(chan string, 1)
	go func() {
		defer close(out)
		for {
			select {
			case a := <-ch:
				select {
				case <-out:
				default:
				}
				out <- a
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// publish makes a the leader ("" for none) and reports it to the watchers.
func (r *watchResolver) publish(a string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addr = a
	for _, ch := range r.watchers {
		select { // keep only the latest
		case <-ch:
		default:
		}
		ch <- a
	}
}

// connCounter accepts connections and closes them at once (a master that
// is down), recording when each came.
type connCounter struct {
	l  net.Listener
	mu sync.Mutex
	at []time.Time
}

func newConnCounter(t *testing.T) *connCounter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.at = append(c.at, time.Now())
			c.mu.Unlock()
			conn.Close()
		}
	}()
	return c
}

func (c *connCounter) times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.at...)
}

func runClient(t *testing.T, c *Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestCrashedLeaderFailover is a kill -9 of the leader: ZooKeeper still
// names the dead master until its session expires, then the new leader is
// published. Meanwhile the worker keeps trying the dead master often (its
// back-off stays short while the leader is unreachable), and it registers
// with the new leader as soon as it is published, not after a back-off that
// grew during the outage.
func TestCrashedLeaderFailover(t *testing.T) {
	a, aAddr := startMaster(t)
	b, bAddr := startMaster(t)
	r := &watchResolver{addr: aAddr}
	c := New(Config{Resolver: r, Store: newStore(t), HeartbeatInterval: 20 * time.Millisecond})
	runClient(t, c)
	waitFor(t, "registration with the first leader", func() bool { return c.Registered() && c.MasterAddress() == aAddr })

	// The leader dies; ZooKeeper names it for another 3s (its session timeout).
	dead := newConnCounter(t)
	r.publish(dead.l.Addr().String()) // stands for the crashed leader's address
	crashed := time.Now()
	waitFor(t, "the worker to leave the first leader", func() bool { return c.MasterAddress() != aAddr })
	for time.Since(crashed) < 3*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	tries := dead.times()
	if len(tries) < 2 {
		t.Fatalf("%d connection attempts to the dead leader in 3s", len(tries))
	}
	var maxGap time.Duration
	for i := 1; i < len(tries); i++ {
		maxGap = max(maxGap, tries[i].Sub(tries[i-1]))
	}
	maxGap = max(maxGap, time.Since(tries[len(tries)-1]))
	t.Logf("%d attempts on the dead leader in 3s, longest gap %v", len(tries), maxGap.Round(time.Millisecond))
	if maxGap > 900*time.Millisecond {
		t.Errorf("the back-off grew to %v while the leader was unreachable, want at most ~500ms", maxGap)
	}

	// The session expires and the new leader is published.
	r.publish("")
	time.Sleep(50 * time.Millisecond) // the election
	published := time.Now()
	r.publish(bAddr)
	waitFor(t, "registration with the new leader", func() bool { return c.Registered() && c.MasterAddress() == bAddr })
	took := time.Since(published)
	t.Logf("registered with the new leader %v after it was published", took.Round(time.Millisecond))
	if took > 300*time.Millisecond {
		t.Errorf("registered %v after the new leader was published, want at once", took)
	}
	if n, _ := b.counts(); n != 1 {
		t.Errorf("%d registrations with the new leader, want 1", n)
	}
	if n, _ := a.counts(); n != 1 {
		t.Errorf("%d registrations with the first leader, want 1", n)
	}
}

// TestCleanHandOver is a SIGTERM of the leader: it resigns (its node goes
// away) before it stops answering. The worker leaves it at once and
// registers with the next leader as soon as it is published.
func TestCleanHandOver(t *testing.T) {
	_, aAddr := startMaster(t)
	b, bAddr := startMaster(t)
	r := &watchResolver{addr: aAddr}
	// A heartbeat interval long enough that a heartbeat failing cannot
	// pass for following the leader.
	c := New(Config{Resolver: r, Store: newStore(t), HeartbeatInterval: 10 * time.Second})
	runClient(t, c)
	waitFor(t, "registration with the first leader", func() bool { return c.Registered() && c.MasterAddress() == aAddr })

	resigned := time.Now()
	r.publish("")
	waitFor(t, "the worker to leave the leader that resigned", func() bool { return c.MasterAddress() != aAddr })
	t.Logf("left the resigned leader after %v", time.Since(resigned).Round(time.Millisecond))
	time.Sleep(100 * time.Millisecond) // the election
	published := time.Now()
	r.publish(bAddr)
	waitFor(t, "registration with the new leader", func() bool { return c.Registered() && c.MasterAddress() == bAddr })
	took := time.Since(published)
	t.Logf("registered with the new leader %v after it was published", took.Round(time.Millisecond))
	if took > 300*time.Millisecond {
		t.Errorf("registered %v after the new leader was published, want at once", took)
	}
	if n, _ := b.counts(); n != 1 {
		t.Errorf("%d registrations with the new leader, want 1", n)
	}
}

// TestCommitRetriedWithNewLeader: a block commit that fails because the
// master stepped down is committed to the next leader once the worker has
// registered with it, instead of failing the client's write.
func TestCommitRetriedWithNewLeader(t *testing.T) {
	a, aAddr := startMaster(t)
	b, bAddr := startMaster(t)
	r := &watchResolver{addr: aAddr}
	c := New(Config{Resolver: r, Store: newStore(t), HeartbeatInterval: 10 * time.Second, CommitRetryTimeout: 5 * time.Second})
	runClient(t, c)
	waitFor(t, "registration with the first leader", func() bool { return c.Registered() && c.MasterAddress() == aAddr })
	if err := c.CommitBlock(context.Background(), 1, 1, "MEM", 1); err != nil {
		t.Fatal(err)
	}

	a.notLeader.Store(true) // it lost leadership; ZooKeeper does not know yet
	go func() {
		time.Sleep(300 * time.Millisecond)
		r.publish(bAddr)
	}()
	start := time.Now()
	if err := c.CommitBlock(context.Background(), 2, 1, "MEM", 1); err != nil {
		t.Fatalf("commit across the failover: %v", err)
	}
	t.Logf("commit across the failover took %v", time.Since(start).Round(time.Millisecond))
	if got := a.commits(); len(got) != 1 || got[0] != 1 {
		t.Errorf("first leader got commits %v, want [1]", got)
	}
	if got := b.commits(); len(got) != 1 || got[0] != 2 {
		t.Errorf("new leader got commits %v, want [2]", got)
	}

	// With no leader to go to, the retries end within CommitRetryTimeout.
	b.notLeader.Store(true)
	c2 := New(Config{Resolver: StaticResolver{Addr: bAddr}, Store: newStore(t), HeartbeatInterval: 10 * time.Second, CommitRetryTimeout: 500 * time.Millisecond})
	b.notLeader.Store(false)
	runClient(t, c2)
	waitFor(t, "registration", c2.Registered)
	b.notLeader.Store(true)
	start = time.Now()
	err := c2.CommitBlock(context.Background(), 3, 1, "MEM", 1)
	if !rpcstatus.Retryable(err) {
		t.Fatalf("commit with no leader = %v, want unavailable or not leader", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("commit with no leader failed after %v, want about CommitRetryTimeout", d)
	}
}
