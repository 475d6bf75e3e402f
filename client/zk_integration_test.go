package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/retry"
	"github.com/alluxio-go/alluxio/common/uri"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
)

// TestIntegrationZooKeeperLeaderDiscovery runs a real ZooKeeper server and
// two fake masters that win the election in turn (zkleader.Elector publishes
// <leader.path>/<host:port>, exactly as the real masters do). The client,
// configured with ZooKeeper only, finds the first leader, then follows the
// second one, both through its watch and after a NOT_LEADER answer.
func TestIntegrationZooKeeperLeaderDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	ens := zktest.Start(t, 1, zktest.WithTickTime(200*time.Millisecond))
	c := startCluster(t, fakecluster.Options{Masters: 2})
	m := c.MasterAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	zcfg := zkleader.Config{Servers: ens.Servers(), SessionTimeout: 2 * time.Second, ConnectionTimeout: 10 * time.Second}
	campaign := func(addr string) (*zkleader.Elector, *zkleader.Term) {
		t.Helper()
		e, err := zkleader.NewElector(ctx, zcfg, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		term, err := e.Campaign(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return e, term
	}
	_, term0 := campaign(m[0])
	c.SetLeader(0)

	cfg, err := conf.FromMap(map[string]string{
		"alluxio.zookeeper.enabled":             "true",
		"alluxio.zookeeper.address":             ens.ConnectString(),
		"alluxio.zookeeper.session.timeout":     "2s",
		"alluxio.zookeeper.connection.timeout":  "10s",
		"alluxio.master.hostname":               "", // no master host name in HA mode
		"alluxio.user.block.size.bytes.default": "64KB",
	})
	if err != nil {
		t.Fatal(err)
	}
	rp := WithRetryPolicy(retry.Policy{BaseSleep: 10 * time.Millisecond, MaxSleep: 200 * time.Millisecond, MaxDuration: 30 * time.Second})
	f, err := NewFromConfig(ctx, cfg, rp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.CreateDirectory(ctx, "/one"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.MasterAddress(ctx); a != m[0] {
		t.Fatalf("leader %s, want %s", a, m[0])
	}

	// The same through a zk@ URI.
	u, err := uri.Parse("alluxio://zk@" + ens.ConnectString() + "/one")
	if err != nil {
		t.Fatal(err)
	}
	ic, err := InquireClientFromURI(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.(*ZooKeeperInquireClient).Close()
	g, err := NewFromConfig(ctx, cfg, WithMasterInquireClient(ic), rp)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if st, err := g.GetStatus(ctx, u.Path); err != nil || !st.IsDir {
		t.Fatalf("status via zk@ URI: %v", err)
	}

	// Failover: master 0 steps down and resigns; master 1 wins.
	c.SetLeader(-1)
	won := make(chan *zkleader.Term, 1)
	go func() {
		e, err := zkleader.NewElector(ctx, zcfg, m[1])
		if err != nil {
			t.Error(err)
			close(won)
			return
		}
		t.Cleanup(func() { e.Close() })
		term, err := e.Campaign(ctx)
		if err != nil {
			t.Error(err)
			close(won)
			return
		}
		c.SetLeader(1)
		won <- term
	}()
	// A call during the election is retried until the new leader answers.
	errc := make(chan error, 1)
	go func() { errc <- f.CreateDirectory(ctx, "/two") }()
	if err := term0.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	term1, ok := <-won
	if !ok {
		t.FailNow()
	}
	if term1.Epoch() <= term0.Epoch() {
		t.Errorf("epoch %d after %d", term1.Epoch(), term0.Epoch())
	}
	if err := <-errc; err != nil {
		t.Fatalf("create across the failover: %v", err)
	}
	if c.CallsOn(1, "CreateDirectory") == 0 {
		t.Error("the create did not reach the new leader")
	}
	ids := c.OperationIDs("CreateDirectory")
	for _, id := range ids[1:] { // ids[0] is /one's
		if id != ids[len(ids)-1] {
			t.Errorf("the create's attempts carried different operation ids: %v", ids)
		}
	}
	// g made no call since: its watch alone moves it to the new leader.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := g.MasterAddress(ctx)
		if err == nil && a == m[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not report the new leader: %s %v", a, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := g.GetStatus(ctx, "/two"); err != nil {
		t.Fatal(err)
	}
	if n := c.CallsOn(0, "GetStatus"); n != 1 {
		t.Errorf("the deposed master got %d GetStatus calls, want 1 (before the failover)", n)
	}
}

func TestZooKeeperUnreachableFailsFast(t *testing.T) {
	cfg, err := conf.FromMap(map[string]string{
		"alluxio.zookeeper.enabled": "true",
		"alluxio.zookeeper.address": "127.0.0.1:1,127.0.0.1:2",
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFromConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	_, err = f.GetStatus(context.Background(), "/")
	if !errors.Is(err, ErrZooKeeperUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: not retried, not waiting out the connection timeout", d)
	}
	t.Log(err)
}
