package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
)

// refuser is a dialer that refuses connections to the addresses it is told
// to (a worker that died while the master still lists it as live).
type refuser struct {
	mu      sync.Mutex
	refused map[string]bool
	conns   map[string][]net.Conn
	closed  string // an address nothing listens at
}

func newRefuser(t *testing.T) *refuser {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &refuser{refused: map[string]bool{}, conns: map[string][]net.Conn{}, closed: addr}
}

func (r *refuser) set(addr string, refuse bool) {
	r.mu.Lock()
	r.refused[addr] = refuse
	if refuse { // the worker dies: its connections break
		for _, c := range r.conns[addr] {
			c.Close()
		}
		delete(r.conns, addr)
	}
	r.mu.Unlock()
}

func (r *refuser) option() Option {
	return WithDialOptions(grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		r.mu.Lock()
		to := addr
		if r.refused[addr] {
			to = r.closed
		}
		r.mu.Unlock()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", to)
		if err == nil {
			r.mu.Lock()
			r.conns[addr] = append(r.conns[addr], c)
			r.mu.Unlock()
		}
		return c, err
	}))
}

// deadLocalWorker starts two workers, the first local to the client, which
// writes /f (persisted) through it; then the local worker refuses
// connections while the master keeps listing it as live.
func deadLocalWorker(t *testing.T) (*fakecluster.Cluster, *FileSystem, []byte) {
	c := startCluster(t, fakecluster.Options{Workers: 2, WorkerHosts: []string{"127.0.0.1", "127.0.0.2"}})
	ref := newRefuser(t)
	f := newFS(t, c, nil, ref.option())
	f.isLocal = func(host string) bool { return host == "127.0.0.1" }
	data := randomBytes(testBlock+100, 21)
	writeFile(t, f, "/f", data, CacheThrough)
	if c.Workers()[0].BlockCount() == 0 {
		t.Fatal("set-up: /f not written through the local worker")
	}
	ref.set(c.Workers()[0].Addr(), true)
	return c, f, data
}

func TestReadSkipsRefusingWorker(t *testing.T) {
	c, f, data := deadLocalWorker(t)
	for i := 0; i < 5; i++ {
		mustEqual(t, fmt.Sprintf("read %d", i), readFile(t, f, "/f"), data)
	}
	if s := c.Workers()[1].Stats(); s.UfsReads == 0 {
		t.Errorf("the live worker did not read the UFS: %+v", s)
	}
	if !f.dead.isDead(c.Workers()[0].Addr()) {
		t.Error("the refusing worker is not in the dead set")
	}
}

func TestCreateSkipsRefusingWorker(t *testing.T) {
	for _, wt := range []WriteType{CacheThrough, MustCache, Through} {
		t.Run(wt.String(), func(t *testing.T) { testCreateSkipsRefusingWorker(t, wt) })
	}
}

// testCreateSkipsRefusingWorker: no create fails while another worker is
// live, the first one included (it finds the local worker dead and moves to
// the other before it writes a byte).
func testCreateSkipsRefusingWorker(t *testing.T, wt WriteType) {
	c, f, data := deadLocalWorker(t)
	dead := c.Workers()[0].Addr()
	failed := 0
	for i := 0; i < 5; i++ {
		w, err := f.CreateFile(context.Background(), fmt.Sprintf("/g%d", i), wt)
		if err == nil {
			if _, err = w.Write(data); err == nil {
				err = w.Close()
			} else {
				w.Close()
			}
		}
		if err != nil {
			failed++
			t.Logf("create %d: %v", i, err)
			continue
		}
		if w.Worker().String() == dead {
			t.Errorf("create %d went through the refusing worker", i)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 5 creates failed with another worker live", failed)
	}
	for i := 0; i < 5; i++ {
		mustEqual(t, fmt.Sprintf("read /g%d", i), readFile(t, f, fmt.Sprintf("/g%d", i)), data)
	}

	// The set is time-bounded: past deadWorkerTTL the local worker is
	// preferred again.
	now := time.Now()
	f.dead.mu.Lock()
	f.dead.now = func() time.Time { return now.Add(deadWorkerTTL + time.Second) }
	f.dead.mu.Unlock()
	a, err := f.pickWorker(context.Background(), testBlock)
	if err != nil || a.String() != dead {
		t.Errorf("after the TTL picked %v (%v), want the local worker %s again", a, err, dead)
	}
}

func TestDeadWorkersSet(t *testing.T) {
	var d deadWorkers
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }
	tests := []struct {
		name string
		err  error
		dead bool
	}{
		{"refused", fmt.Errorf("rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused\""), true},
		{"answer", nil, false},
		{"worker error", fmt.Errorf("worker: block 3 not found"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.clear("w")
			d.note("w", tt.err)
			if got := d.isDead("w"); got != tt.dead {
				t.Errorf("dead = %v, want %v", got, tt.dead)
			}
		})
	}
	d.mark("w")
	now = now.Add(deadWorkerTTL)
	if d.isDead("w") {
		t.Error("still dead after the TTL")
	}
}
