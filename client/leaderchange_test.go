package client

import (
	"context"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/zkleader"
)

// callbackInquire is notifyingInquire with the callback notification of
// the ZooKeeper inquire client (leaderChangeCallback).
type callbackInquire struct {
	*switchingInquire
	fires *[]func()
}

func (n callbackInquire) onLeaderChange(addr string, fire func()) func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	*n.fires = append(*n.fires, fire)
	return func() {}
}

func (n callbackInquire) publish(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cached = addr
	for _, f := range *n.fires {
		f()
	}
	*n.fires = nil
}

// TestNewLeaderCutsShortCallWithCallback is
// TestNewLeaderCutsShortCallToPausedLeader with an inquire client that
// notifies through leaderChangeCallback.
func TestNewLeaderCutsShortCallWithCallback(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := callbackInquire{&switchingInquire{c: c}, new([]func())}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	ctx := context.Background()
	if err := f.CreateDirectory(ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	c.HangNext("CreateDirectory", 1)
	go func() {
		for c.CallsOn(0, "CreateDirectory") < 2 {
			time.Sleep(time.Millisecond)
		}
		c.SetLeader(1)
		ic.publish(c.MasterAddrs()[1])
	}()
	start := time.Now()
	if err := f.CreateDirectory(ctx, "/e"); err != nil {
		t.Fatalf("create: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	if c.CallsOn(1, "CreateDirectory") != 1 {
		t.Errorf("the new leader saw %d creates", c.CallsOn(1, "CreateDirectory"))
	}
	ids := c.OperationIDs("CreateDirectory")
	if n := len(ids); n < 2 || ids[n-1] != ids[n-2] {
		t.Errorf("operation ids %v: the retry must reuse the id", ids)
	}
}

// TestZooKeeperOnLeaderChange checks the ZooKeeper inquire client's
// callbacks: fired once when another leader is published, at once when one
// is known already, never for the same leader or after stop.
func TestZooKeeperOnLeaderChange(t *testing.T) {
	z := NewZooKeeperInquireClient(zkleader.Config{Servers: []string{"127.0.0.1:1"}})
	defer z.Close()
	z.set("a:1")
	var fa, fa2, fb, fstopped int
	z.onLeaderChange("a:1", func() { fa++ })
	z.onLeaderChange("a:1", func() { fa2++ })
	stop := z.onLeaderChange("a:1", func() { fstopped++ })
	stop()
	z.set("a:1")
	if fa != 0 || fa2 != 0 {
		t.Fatalf("fired for the same leader: %d %d", fa, fa2)
	}
	z.set("b:1")
	if fa != 1 || fa2 != 1 || fstopped != 0 {
		t.Fatalf("after a new leader: fired %d %d, stopped one %d; want 1 1 0", fa, fa2, fstopped)
	}
	z.set("c:1")
	if fa != 1 || fa2 != 1 {
		t.Fatalf("fired again: %d %d", fa, fa2)
	}
	z.onLeaderChange("b:1", func() { fb++ })
	if fb != 1 {
		t.Fatalf("registered for a deposed leader: fired %d times, want 1 at once", fb)
	}
}
