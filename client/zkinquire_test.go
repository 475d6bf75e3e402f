package client

import (
	"context"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
)

// TestIntegrationZooKeeperCleanHandOver: when the leader resigns, the
// cached leader is dropped at once (the next call does not go to the
// master that left), and a lookup made while no leader is published
// returns as soon as the next leader publishes its node, not a ZooKeeper
// inquiry interval later.
func TestIntegrationZooKeeperCleanHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	ens := zktest.Start(t, 1, zktest.WithTickTime(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	zcfg := zkleader.Config{Servers: ens.Servers(), SessionTimeout: 2 * time.Second, ConnectionTimeout: 10 * time.Second}
	elector := func(addr string) *zkleader.Elector {
		t.Helper()
		e, err := zkleader.NewElector(ctx, zcfg, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	a, b := elector("127.0.0.1:40001"), elector("127.0.0.1:40002")
	ta, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}

	z := NewZooKeeperInquireClient(zcfg)
	defer z.Close()
	// An interval long enough that waiting it out cannot pass for
	// following the watch.
	z.inq.RetryInterval = 5 * time.Second
	if got, err := z.GetPrimaryRPCAddress(ctx); err != nil || got != a.ID() {
		t.Fatalf("leader = %q, %v; want %s", got, err, a.ID())
	}

	resigned := time.Now()
	if err := ta.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	// The watch drops the cached leader: a short lookup now finds none.
	deadline := time.Now().Add(3 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
		got, err := z.GetPrimaryRPCAddress(sctx)
		scancel()
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still answering %q %v after the leader resigned", got, time.Since(resigned))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("cached leader dropped %v after the resignation", time.Since(resigned).Round(time.Millisecond))

	type answer struct {
		addr string
		err  error
		at   time.Time
	}
	answers := make(chan answer, 1)
	go func() {
		got, err := z.GetPrimaryRPCAddress(ctx)
		answers <- answer{got, err, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond) // the lookup finds no leader and waits
	if _, err := b.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	select {
	case got := <-answers:
		if got.err != nil || got.addr != b.ID() {
			t.Fatalf("leader after the hand-over = %q, %v; want %s", got.addr, got.err, b.ID())
		}
		lag := got.at.Sub(published)
		t.Logf("lookup answered the new leader %v after it was published (resignation to answer: %v)",
			lag.Round(time.Millisecond), got.at.Sub(resigned).Round(time.Millisecond))
		if lag > time.Second {
			t.Errorf("lookup answered %v after the new leader was published, want well under the 5s inquiry interval", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
}
