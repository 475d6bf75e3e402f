package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// TestIntegrationZooKeeperFailover runs a worker configured with no master
// hostname, only ZooKeeper: it registers with the elected (fake) master, and
// after a planned failover re-registers its full block report with the new
// leader while reads keep working.
func TestIntegrationZooKeeperFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real ZooKeeper")
	}
	ens := zktest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	zcfg := zkleader.Config{Servers: ens.Servers(), SessionTimeout: 4 * time.Second}

	m1 := startFakeMaster(t, "")
	m2 := startFakeMaster(t, "")
	e1, err := zkleader.NewElector(ctx, zcfg, m1.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e1.Close()
	term1, err := e1.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}

	props := workerProps(t, "127.0.0.1:1")
	delete(props, "alluxio.master.hostname")
	delete(props, "alluxio.master.rpc.port")
	props["alluxio.zookeeper.enabled"] = "true"
	props["alluxio.zookeeper.address"] = ens.ConnectString()
	props["alluxio.zookeeper.session.timeout"] = "4s"
	w := startWorker(t, props)
	waitFor(t, "registration with the first leader", func() bool { return m1.numRegistrations() > 0 && w.Master.MasterAddress() == m1.addr })
	data := randBytes(3000)
	if _, err := writeBlock(t, w.client, 21, data, 1000); err != nil {
		t.Fatal(err)
	}

	// Failover: the first master stops answering heartbeats (partitioned from
	// the worker), the second campaigns, the first resigns.
	m1.hang.Store(true)
	e2, err := zkleader.NewElector(ctx, zcfg, m2.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	won := make(chan error, 1)
	go func() {
		_, err := e2.Campaign(ctx)
		won <- err
	}()
	if err := term1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	elected := time.Now()
	// The old master stays up (a standby): the worker must still move on.
	waitFor(t, "registration with the new leader", func() bool {
		reg := m2.lastRegistration()
		return reg != nil && slices.Contains(reg.GetCurrentBlocksOnTiers()["MEM"].GetBlockIds(), 21) && w.Master.MasterAddress() == m2.addr
	})
	// The watch cuts the hung heartbeat short instead of waiting for its timeout.
	if d := time.Since(elected); d > 5*time.Second {
		t.Fatalf("re-registration took %v after the election", d)
	}
	got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 21})
	if err != nil || string(got) != string(data) {
		t.Fatalf("read after failover: %v", err)
	}
	if _, err := writeBlock(t, w.client, 22, data, 1000); err != nil {
		t.Fatal(err)
	}
	if m2.commitFor(22) == nil {
		t.Fatal("commit went to the old leader")
	}
}
