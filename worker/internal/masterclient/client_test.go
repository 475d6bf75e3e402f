package masterclient

import (
	"context"
	"errors"
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
	failHB     atomic.Bool
}

func (m *master) GetWorkerId(context.Context, *alluxiopb.GetWorkerIdRequest) (*alluxiopb.GetWorkerIdResponse, error) {
	return &alluxiopb.GetWorkerIdResponse{WorkerId: 1}, nil
}

func (m *master) RegisterWorker(context.Context, *alluxiopb.RegisterWorkerRequest) (*alluxiopb.RegisterWorkerResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registered++
	return &alluxiopb.RegisterWorkerResponse{}, nil
}

func (m *master) BlockHeartbeat(_ context.Context, req *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.BlockHeartbeatResponse, error) {
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
