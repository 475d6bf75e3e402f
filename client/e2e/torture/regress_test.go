package torture

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// Regression tests for the bugs the torture test found (docs/reliability.md
// lists them as T1-T7), each reproducing the bug deterministically with the
// fewest processes that show it.

// deadWriteWorker writes a persisted (CACHE_THROUGH) file through a
// two-worker cluster, kills the worker the client wrote through with
// SIGKILL and returns the cluster, a client and the file's bytes. The master
// keeps listing the dead worker as live until alluxio.master.worker.timeout
// (60 s here), which is the window the torture test's worker restarts hit.
func deadWriteWorker(t *testing.T) (*cluster, *client.FileSystem, []byte) {
	c := newCluster(t, clusterConfig{masters: 1, workers: 2, zkServers: 1, noNetns: true})
	c.startAll()
	fsys := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": "5s"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := Content(1, 0, 0, 4096)
	w, err := fsys.CreateFile(ctx, "/f", client.CacheThrough)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := fsys.GetStatus(ctx, "/f")
	if err != nil || !st.Persisted {
		t.Fatalf("status of /f: %+v, %v; want a persisted file", st, err)
	}
	var dead *node
	for _, n := range c.workers {
		if n.addr() == w.Worker().String() {
			dead = n
		}
	}
	if dead == nil {
		t.Fatalf("the file was written through %s, none of our workers", w.Worker())
	}
	if err := c.signal(dead, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (%s), which holds the only cached copy of /f", dead.name, dead.addr())
	return c, fsys, data
}

// TestIntegrationReadSkipsDeadWorker: bug "the client's UFS fallback picks
// the dead worker again". Found by the torture test as reads failing with
// "read block N from worker 127.0.0.1:P: connection refused" while one of
// the two workers restarted, for files persisted in the UFS that the other
// worker could have read. FileReader.openSource (client/reader.go) marks
// the failed location bad but falls back to pickWorker (client/workers.go),
// which ignores the bad set and prefers a local worker, so with workers on
// the client's host it picks the dead worker again in both rounds.
func TestIntegrationReadSkipsDeadWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	_, fsys, data := deadWriteWorker(t)
	failed := 0
	var last error
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := readFile(ctx, fsys, "/f")
		cancel()
		switch {
		case err != nil:
			failed++
			last = err
		case !bytes.Equal(got, data):
			t.Fatalf("read %d returned %d bytes, want the %d written", i, len(got), len(data))
		}
	}
	if failed > 0 {
		t.Errorf("%d of 5 reads of a persisted file failed while its caching worker was dead and another was live; last: %v", failed, last)
	}
}

// TestIntegrationCreateSkipsDeadWorker: the same choice on the write path.
// Found by the torture test as creates failing with "open UFS file on
// worker 127.0.0.1:P: connection refused" for as long as a worker was
// down: CreateFile's pickWorker prefers the local worker and never skips
// one that just refused connections, so every create of a client on that
// host fails until the master declares the worker lost
// (alluxio.master.worker.timeout, 5 min by default), although another
// worker is live.
func TestIntegrationCreateSkipsDeadWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	_, fsys, data := deadWriteWorker(t)
	failed := 0
	var last error
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := writeFile(ctx, fsys, fmt.Sprintf("/g%d", i), data)
		cancel()
		if err != nil {
			failed++
			last = err
		}
	}
	if failed > 1 {
		t.Errorf("%d of 5 creates failed while one worker was dead and another was live (at most the first may fail); last: %v", failed, last)
	}
}

// TestIntegrationCommitBlockAcrossFailover (bug T3, fixed by 9795eaf "worker
// follows the leader watch between sessions ... commits"): found by the
// torture test as
// creates of clients with a 20 s retry budget failing during failovers with
// "commit block N on worker ...: worker: block N is stored but the master
// commit failed (it will be reported in the next heartbeat): unavailable:
// masterclient: commit block N: server: master is not the leader" (or EOF,
// or "leadership of epoch N ended before seq N could be acknowledged").
// The worker's masterclient sends CommitBlock once, to the master it is
// registered with; the client gets Unavailable and abandons the file.
// Deterministic here: the worker heartbeats every 10 s, so right after the
// leader is killed it is still registered with the dead master when the
// client closes the file.
func TestIntegrationCommitBlockAcrossFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	c := newCluster(t, clusterConfig{masters: 2, workers: 1, zkServers: 1, noNetns: true})
	w0 := c.workers[0]
	w0.props["alluxio.worker.block.heartbeat.interval"] = "10s"
	writeProps(t, w0.confDir, w0.props)
	c.startAll()
	fsys := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": "20s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := Content(1, 0, 0, 4096)
	fw, err := fsys.CreateFile(ctx, "/f", client.CacheThrough)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	leader, _, err := c.waitLeader(nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.signal(leader, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatalf("Close right after kill -9 of the leader %s, with a 20 s retry budget and a standby to take over: %v", leader.name, err)
	}
	got, err := readFile(ctx, fsys, "/f")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %d bytes, %v", len(got), err)
	}
}
