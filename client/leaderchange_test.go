package client

import (
	"testing"

	"github.com/alluxio-go/alluxio/common/zkleader"
)

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
