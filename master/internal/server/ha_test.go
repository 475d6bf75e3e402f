package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// haSessionTimeout is the ZooKeeper session timeout of the HA tests
// (tickTime 200ms allows 400ms..4s).
const haSessionTimeout = 1500 * time.Millisecond

// safeLog sends logs to t.Log until the test ends; background goroutines
// (ZooKeeper clean-ups) may log a little later.
type safeLog struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
	buf  bytes.Buffer
}

func newSafeLog(t testing.TB, name string) (*slog.Logger, *safeLog) {
	w := &safeLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("m", name), w
}

func (w *safeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *safeLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// haNode is one master of an HA test cluster, reaching ZooKeeper through
// its own proxy so that a test can cut it off alone.
type haNode struct {
	name  string
	srv   *Server
	proxy *zktest.Proxy
	conn  *grpc.ClientConn
	fs    alluxiopb.FileSystemMasterClientServiceClient
	bw    alluxiopb.BlockMasterWorkerServiceClient
	meta  alluxiopb.MetaMasterClientServiceClient
	logs  *safeLog
	hook  atomic.Pointer[func(stage string, seq int64)]
}

type haCluster struct {
	t       *testing.T
	zk      *zktest.Ensemble
	journal string
	ufs     string
	zkRoot  string
	nodes   []*haNode
}

func newHACluster(t *testing.T, zk *zktest.Ensemble, n int) *haCluster {
	t.Helper()
	dir := t.TempDir()
	c := &haCluster{t: t, zk: zk, journal: filepath.Join(dir, "journal"), ufs: filepath.Join(dir, "ufs"),
		zkRoot: "/" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())}
	if err := os.MkdirAll(c.ufs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := journal.Format(c.journal); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the nodes stopped (cleanups run last first)
		if t.Failed() && !testing.Verbose() {
			for _, n := range c.nodes {
				t.Logf("=== log of %s:\n%s", n.name, n.logs.String())
			}
		}
	})
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, c.start(fmt.Sprintf("m%d", i), nil))
	}
	return c
}

func (c *haCluster) props(proxy string) map[string]string {
	return map[string]string{
		"alluxio.master.journal.folder":         c.journal,
		"alluxio.master.mount.table.root.ufs":   c.ufs,
		"alluxio.master.hostname":               "127.0.0.1",
		"alluxio.master.rpc.port":               "0",
		"alluxio.master.web.port":               "0",
		"alluxio.master.bind.host":              "127.0.0.1",
		"alluxio.user.block.size.bytes.default": "1MB",
		"alluxio.zookeeper.enabled":             "true",
		"alluxio.zookeeper.address":             proxy,
		"alluxio.zookeeper.session.timeout":     fmt.Sprintf("%dms", haSessionTimeout.Milliseconds()),
		"alluxio.zookeeper.connection.timeout":  "2s",
		"alluxio.zookeeper.election.path":       c.zkRoot + "/election",
		"alluxio.zookeeper.leader.path":         c.zkRoot + "/leader",
	}
}

func (c *haCluster) start(name string, extra map[string]string) *haNode {
	t := c.t
	t.Helper()
	n := &haNode{name: name, proxy: zktest.NewProxy(t, c.zk.Servers()[0])}
	props := c.props(n.proxy.Addr())
	for k, v := range extra {
		props[k] = v
	}
	cf, err := conf.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	var log *slog.Logger
	log, n.logs = newSafeLog(t, name)
	srv, err := Start(context.Background(), Options{Conf: cf, Logger: log, FlushHook: func(stage string, seq int64) {
		if h := n.hook.Load(); h != nil {
			(*h)(stage, seq)
		}
	}})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	n.srv = srv
	n.conn, err = grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	n.fs = alluxiopb.NewFileSystemMasterClientServiceClient(n.conn)
	n.bw = alluxiopb.NewBlockMasterWorkerServiceClient(n.conn)
	n.meta = alluxiopb.NewMetaMasterClientServiceClient(n.conn)
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *haNode) stop(t testing.TB) {
	if n.srv == nil {
		return
	}
	n.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown %s: %v", n.name, err)
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown %s: %v", n.name, err)
	}
	n.srv = nil
}

func (n *haNode) status(t testing.TB, digest bool) *alluxiopb.MasterStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := n.meta.GetStatusOfSelf(ctx, &alluxiopb.GetStatusOfSelfRequest{WithDigest: digest})
	if err != nil {
		t.Fatalf("%s: GetStatusOfSelf: %v", n.name, err)
	}
	return st
}

func (n *haNode) mkdir(p string, op *alluxiopb.OperationId) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := n.fs.CreateDirectory(ctx, &alluxiopb.CreateDirectoryRequest{Path: p, OperationId: op})
	return rpcstatus.FromGRPC(err)
}

// pollUntil polls cond every 5ms until it holds or timeout passes.
func pollUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// running returns the nodes not stopped.
func (c *haCluster) running() []*haNode {
	var out []*haNode
	for _, n := range c.nodes {
		if n.srv != nil {
			out = append(out, n)
		}
	}
	return out
}

// leaders returns the running nodes that answer as LEADER.
func (c *haCluster) leaders() []*haNode {
	var out []*haNode
	for _, n := range c.running() {
		if n.srv.lead.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

func (c *haCluster) waitLeader(timeout time.Duration) *haNode {
	c.t.Helper()
	var l *haNode
	pollUntil(c.t, timeout, "exactly one leader", func() bool {
		ls := c.leaders()
		if len(ls) == 1 {
			l = ls[0]
		}
		return len(ls) == 1
	})
	return l
}

// waitSynced waits until every running node is at the leader's journal
// sequence with the leader's digest.
func (c *haCluster) waitSynced(leader *haNode) *alluxiopb.MasterStatus {
	c.t.Helper()
	var want *alluxiopb.MasterStatus
	pollUntil(c.t, 5*time.Second, "standbys to match the leader's journal sequence and digest", func() bool {
		want = leader.status(c.t, true)
		for _, n := range c.running() {
			if n == leader {
				continue
			}
			st := n.status(c.t, true)
			if st.JournalSequence != want.JournalSequence || st.StateDigest != want.StateDigest {
				return false
			}
		}
		return true
	})
	return want
}

func mkdirs(t *testing.T, n *haNode, prefix string, count int) []string {
	t.Helper()
	var out []string
	for i := 0; i < count; i++ {
		p := fmt.Sprintf("%s%03d", prefix, i)
		if err := n.mkdir(p, nil); err != nil {
			t.Fatalf("%s: mkdir %s: %v", n.name, p, err)
		}
		out = append(out, p)
	}
	return out
}

// TestIntegrationHA runs the fault-tolerance scenarios against one real
// ZooKeeper server (each scenario with its own znodes and journal).
func TestIntegrationHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	zk := zktest.Start(t, 1, zktest.WithTickTime(200*time.Millisecond))
	t.Run("ElectionStandbyAndCleanFailover", func(t *testing.T) { testElectionAndCleanFailover(t, zk) })
	t.Run("ZooKeeperCutOffAndRejoin", func(t *testing.T) { testCutOffAndRejoin(t, zk) })
	t.Run("DeposedLeaderInFlightWrite/AfterFsync", func(t *testing.T) { testDeposedInFlight(t, zk, "after") })
	t.Run("DeposedLeaderInFlightWrite/BeforeFsync", func(t *testing.T) { testDeposedInFlight(t, zk, "before") })
	t.Run("ShutdownStopsAcknowledging", func(t *testing.T) { testShutdownStopsAcks(t, zk) })
	t.Run("PartitionNoOverlap", func(t *testing.T) { testPartitionNoOverlap(t, zk) })
	t.Run("MasterInfoUnavailableParticipant", func(t *testing.T) { testUnavailableParticipant(t, zk) })
	t.Run("StartUpSafety", func(t *testing.T) { testStartUpSafety(t, zk) })
	t.Run("StandbyCheckpoints", func(t *testing.T) { testStandbyCheckpoints(t, zk) })
}

// testStandbyCheckpoints: a standby writes the checkpoints, the leader none
// while a standby keeps up; a master started later loads the standby's
// checkpoint to the leader's digest; a leader alone falls back to writing
// them at twice the period.
func testStandbyCheckpoints(t *testing.T, zk *zktest.Ensemble) {
	const period = 20
	c := newHACluster(t, zk, 0)
	extra := map[string]string{"alluxio.master.journal.checkpoint.period.entries": fmt.Sprint(period)}
	c.nodes = append(c.nodes, c.start("m0", extra))
	leader := c.waitLeader(10 * time.Second)
	c.nodes = append(c.nodes, c.start("m1", extra))
	standby := c.nodes[1]
	written := func(n *haNode) bool { return strings.Contains(n.logs.String(), `msg="checkpoint written"`) }
	for round := 0; round < 3; round++ {
		mkdirs(t, leader, fmt.Sprintf("/cp%d-", round), period)
		pollUntil(t, 10*time.Second, "a standby checkpoint", func() bool {
			return newestCheckpoint(context.Background(), leader.srv.journal) >= int64((round+1)*period)
		})
	}
	if !written(standby) || written(leader) {
		t.Fatalf("checkpoint writers: standby %v, leader %v (want the standby only)", written(standby), written(leader))
	}
	c.waitSynced(leader)
	late := c.start("m2", extra)
	c.nodes = append(c.nodes, late)
	if !strings.Contains(late.logs.String(), "checkpoint_seq=") || strings.Contains(late.logs.String(), "checkpoint_seq=0 ") {
		t.Fatalf("the late master did not start from a checkpoint:\n%s", late.logs.String())
	}
	c.waitSynced(leader)

	// Alone, the leader writes one at twice the period.
	late.stop(t)
	standby.stop(t)
	before := newestCheckpoint(context.Background(), leader.srv.journal)
	mkdirs(t, leader, "/alone-", 2*period+5)
	pollUntil(t, 10*time.Second, "the lone leader's checkpoint", func() bool {
		return newestCheckpoint(context.Background(), leader.srv.journal) > before
	})
	if !written(leader) {
		t.Fatal("a new checkpoint but not from the leader")
	}
}

// testPartitionNoOverlap black-holes the leader's ZooKeeper traffic (a
// partition: no error, only silence) while a client writes to it without
// pause: its last acknowledgement precedes the new leader's first.
func testPartitionNoOverlap(t *testing.T, zk *zktest.Ensemble) {
	c := newHACluster(t, zk, 2)
	a := c.waitLeader(10 * time.Second)
	b := c.nodes[0]
	if b == a {
		b = c.nodes[1]
	}
	var lastAck atomic.Int64 // unix nanos of a's last acknowledged write
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if a.mkdir(fmt.Sprintf("/w%06d", i), nil) == nil {
				lastAck.Store(time.Now().UnixNano())
			} else {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	pollUntil(t, 5*time.Second, "the first acknowledged writes", func() bool { return lastAck.Load() != 0 })
	t0 := time.Now()
	a.proxy.Blackhole()
	var firstB time.Time
	pollUntil(t, 3*haSessionTimeout+2*time.Second, "the other master to serve writes", func() bool {
		if b.mkdir("/b-first", nil) == nil {
			firstB = time.Now()
			return true
		}
		return false
	})
	close(stop)
	<-writerDone
	last := time.Unix(0, lastAck.Load())
	t.Logf("partition: old leader's last ack %v after the cut, new leader's first ack %v after the cut (gap %v)",
		last.Sub(t0), firstB.Sub(t0), firstB.Sub(last))
	if !last.Before(firstB) {
		t.Fatalf("two leaders acknowledged at once: old leader's last ack %v, new leader's first %v", last, firstB)
	}
	if last.Sub(t0) > haSessionTimeout {
		t.Errorf("partitioned leader kept acknowledging for %v", last.Sub(t0))
	}
	a.proxy.Unblock()
	want := c.waitSynced(b)
	if st := a.status(t, true); st.Role != "STANDBY" || st.StateDigest != want.StateDigest {
		t.Fatalf("rejoined: %v, leader %v", st, want)
	}
}

// testUnavailableParticipant: GetMasterInfo lists a participant that does
// not answer as UNAVAILABLE, within about a second.
func testUnavailableParticipant(t *testing.T, zk *zktest.Ensemble) {
	c := newHACluster(t, zk, 1)
	m := c.waitLeader(10 * time.Second)
	// A participant whose address answers nothing.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	cfg := zkConfig(m.srv.conf, slog.New(slog.DiscardHandler))
	cfg.Servers = zk.Servers()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	el, err := zkleader.NewElector(ctx, cfg, dead)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	go el.Campaign(ctx) // waits behind the leader
	pollUntil(t, 5*time.Second, "the fake participant to join", func() bool {
		ps, err := el.Participants(ctx)
		return err == nil && len(ps) == 2
	})
	t0 := time.Now()
	info, err := m.meta.GetMasterInfo(ctx, &alluxiopb.GetMasterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	roles := map[string]string{}
	for _, st := range info.GetMasters() {
		roles[st.GetParticipantId()] = st.GetRole()
	}
	if roles[dead] != "UNAVAILABLE" || roles[m.srv.participantID()] != "LEADER" || len(roles) != 2 {
		t.Fatalf("masters %v", info.GetMasters())
	}
	if took > 2*time.Second {
		t.Errorf("GetMasterInfo took %v", took)
	}
}

func testElectionAndCleanFailover(t *testing.T, zk *zktest.Ensemble) {
	c := newHACluster(t, zk, 3)
	leader := c.waitLeader(10 * time.Second)
	// Exactly one leader, and it stays one.
	for i := 0; i < 20; i++ {
		if ls := c.leaders(); len(ls) != 1 {
			t.Fatalf("%d leaders", len(ls))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Before any write, the leader counts its NewTermEntry like the
	// standbys: same sequence, the journal's last.
	synced := c.waitSynced(leader)
	var lastSeq int64
	if err := journal.Dump(context.Background(), journal.Config{Folder: c.journal}, func(e *journalpb.JournalEntry) error {
		lastSeq = e.GetSequenceNumber()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if lastSeq != synced.JournalSequence || lastSeq == 0 {
		t.Fatalf("journal ends at seq %d, masters report %d", lastSeq, synced.JournalSequence)
	}
	acked := mkdirs(t, leader, "/a", 50)
	for _, n := range c.running() {
		st := n.status(t, false)
		if n == leader {
			if st.Role != "LEADER" || st.Epoch < 1 || st.ParticipantId != n.srv.participantID() {
				t.Fatalf("leader status %v", st)
			}
			continue
		}
		if st.Role != "STANDBY" {
			t.Fatalf("%s: role %s", n.name, st.Role)
		}
		// Standbys refuse file system and block RPCs with NOT_LEADER.
		if err := n.mkdir("/nope", nil); !errors.Is(err, rpcstatus.ErrNotLeader) {
			t.Fatalf("standby CreateDirectory: %v", err)
		}
		_, err := n.fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: "/"})
		if !errors.Is(rpcstatus.FromGRPC(err), rpcstatus.ErrNotLeader) {
			t.Fatalf("standby GetStatus: %v", err)
		}
		_, err = n.bw.GetWorkerId(context.Background(), &alluxiopb.GetWorkerIdRequest{WorkerAddress: &alluxiopb.WorkerNetAddress{Host: "w", RpcPort: 1}})
		if !errors.Is(rpcstatus.FromGRPC(err), rpcstatus.ErrNotLeader) {
			t.Fatalf("standby GetWorkerId: %v", err)
		}
	}
	// Standbys tail the journal: same sequence, same digest.
	want := c.waitSynced(leader)
	t.Logf("standbys at seq %d, digest %s…", want.JournalSequence, want.StateDigest[:12])

	// GetMasterInfo on a standby: the leader from ZooKeeper, every master.
	var standby *haNode
	for _, n := range c.running() {
		if n != leader {
			standby = n
			break
		}
	}
	info, err := standby.meta.GetMasterInfo(context.Background(), &alluxiopb.GetMasterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetLeaderAddress(); got.GetHost() != "127.0.0.1" || fmt.Sprintf("127.0.0.1:%d", got.GetRpcPort()) != leader.srv.participantID() {
		t.Fatalf("leader address %v, want %s", got, leader.srv.participantID())
	}
	roles := map[string]string{}
	for _, m := range info.GetMasters() {
		roles[m.GetParticipantId()] = m.GetRole()
	}
	if len(roles) != 3 || roles[leader.srv.participantID()] != "LEADER" || roles[standby.srv.participantID()] != "STANDBY" {
		t.Fatalf("masters: %v", info.GetMasters())
	}

	// A clean stop of the leader (SIGTERM): it resigns first, and a standby
	// serves well within a second.
	old := leader
	t0 := time.Now()
	stopped := make(chan struct{})
	go func() { old.stop(t); close(stopped) }()
	var next *haNode
	pollUntil(t, 5*time.Second, "a standby to serve writes", func() bool {
		for _, n := range c.nodes {
			if n == old || n.srv == nil {
				continue
			}
			if n.mkdir("/after-failover", nil) == nil {
				next = n
				return true
			}
		}
		return false
	})
	took := time.Since(t0)
	<-stopped
	t.Logf("clean failover: %s stopped, %s served its first write after %v", old.name, next.name, took)
	if took > time.Second {
		t.Errorf("clean failover took %v, want < 1s", took)
	}
	// Every acknowledged write is there.
	for _, p := range acked {
		if _, err := next.fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: p}); err != nil {
			t.Fatalf("acknowledged %s lost: %v", p, err)
		}
	}
	// Workers re-register with the new leader.
	wid, err := next.bw.GetWorkerId(context.Background(), &alluxiopb.GetWorkerIdRequest{WorkerAddress: &alluxiopb.WorkerNetAddress{Host: "w1", RpcPort: 29999}})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := next.bw.BlockHeartbeat(context.Background(), &alluxiopb.BlockHeartbeatRequest{WorkerId: wid.GetWorkerId()})
	if err != nil || hb.GetCommand().GetCommandType() != alluxiopb.CommandType_COMMAND_REGISTER {
		t.Fatalf("heartbeat to the new leader: %v %v", hb, err)
	}
	st := next.status(t, false)
	if st.Role != "LEADER" || st.Epoch <= want.Epoch {
		t.Fatalf("new leader status %v (old epoch %d)", st, want.Epoch)
	}
	c.waitSynced(next)
	info, err = next.meta.GetMasterInfo(context.Background(), &alluxiopb.GetMasterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.GetMasters()) != 2 || info.GetLeaderAddress().GetRpcPort() != next.srv.advertised().GetRpcPort() {
		t.Fatalf("master info after failover: %v", info)
	}
}

func testCutOffAndRejoin(t *testing.T, zk *zktest.Ensemble) {
	c := newHACluster(t, zk, 2)
	a := c.waitLeader(10 * time.Second)
	var b *haNode
	for _, n := range c.nodes {
		if n != a {
			b = n
		}
	}
	acked := mkdirs(t, a, "/before", 20)
	c.waitSynced(a)

	// Cut the leader off ZooKeeper: it stops acknowledging at once.
	t0 := time.Now()
	a.proxy.Block()
	pollUntil(t, time.Second, "the cut-off leader to refuse writes", func() bool {
		return errors.Is(a.mkdir(fmt.Sprintf("/refused-%d", time.Now().UnixNano()), nil), rpcstatus.ErrNotLeader)
	})
	stoppedAfter := time.Since(t0)
	// The other master leads once ZooKeeper expires the session.
	pollUntil(t, 3*haSessionTimeout+2*time.Second, "the other master to serve writes", func() bool {
		return b.mkdir("/after", nil) == nil
	})
	servedAfter := time.Since(t0)
	t.Logf("ZooKeeper cut: old leader refused writes after %v; new leader served after %v (session timeout %v)", stoppedAfter, servedAfter, haSessionTimeout)
	if stoppedAfter > 200*time.Millisecond {
		t.Errorf("cut-off leader kept acknowledging for %v", stoppedAfter)
	}
	if servedAfter > haSessionTimeout+time.Second {
		t.Errorf("failover took %v, want <= session timeout + 1s", servedAfter)
	}
	if ls := c.leaders(); len(ls) != 1 || ls[0] != b {
		t.Fatalf("leaders after the cut: %d", len(ls))
	}
	for _, p := range acked {
		if _, err := b.fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: p}); err != nil {
			t.Fatalf("acknowledged %s lost: %v", p, err)
		}
	}
	mkdirs(t, b, "/during", 10)

	// Heal: the old leader rejoins as a standby with the same state.
	a.proxy.Unblock()
	pollUntil(t, 10*time.Second, "the old leader to rejoin the election", func() bool {
		ps, err := b.srv.ha.inq.Participants(context.Background())
		return err == nil && len(ps) == 2
	})
	want := c.waitSynced(b)
	if st := a.status(t, true); st.Role != "STANDBY" || st.StateDigest != want.StateDigest {
		t.Fatalf("rejoined: %v, leader %v", st, want)
	}
	if err := a.mkdir("/x", nil); !errors.Is(err, rpcstatus.ErrNotLeader) {
		t.Fatalf("rejoined standby CreateDirectory: %v", err)
	}
	// It can lead again: stop b and a takes over with everything.
	b.stop(t)
	pollUntil(t, 5*time.Second, "the old leader to lead again", func() bool { return a.mkdir("/again", nil) == nil })
	if _, err := a.fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: "/during009"}); err != nil {
		t.Fatal(err)
	}
}

// testShutdownStopsAcks pauses a leader's write after its fsync, starts a
// shutdown, and lets the write go on once the master stands down: from the
// moment shutdown starts nothing is acknowledged, even while the
// resignation cannot reach ZooKeeper (blackholed: the term still looks valid
// for 2/3 of the session timeout).
func testShutdownStopsAcks(t *testing.T, zk *zktest.Ensemble) {
	c := newHACluster(t, zk, 1)
	a := c.waitLeader(10 * time.Second)
	paused, resume := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	hook := func(s string, seq int64) {
		if s == "after" && armed.CompareAndSwap(true, false) {
			close(paused)
			<-resume
		}
	}
	a.hook.Store(&hook)
	result := make(chan error, 1)
	go func() {
		result <- a.mkdir("/inflight", &alluxiopb.OperationId{MostSignificantBits: 7, LeastSignificantBits: 43})
	}()
	select {
	case <-paused:
	case err := <-result:
		t.Fatalf("write finished without pausing: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("write did not reach the flush")
	}
	a.proxy.Blackhole()
	srv := a.srv
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	pollUntil(t, 5*time.Second, "the master to stand down", func() bool { return !srv.lead.IsLeader() })
	close(resume)
	var err error
	select {
	case err = <-result:
	case <-time.After(5 * time.Second):
		t.Fatal("the paused write never returned")
	}
	<-stopped
	if err == nil {
		t.Fatal("a leader acknowledged a write after its shutdown started")
	}
	if !errors.Is(err, rpcstatus.ErrNotLeader) && !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("write during shutdown: %v, want NOT_LEADER or Unavailable", err)
	}
}

// testDeposedInFlight pauses a leader's write at stage ("before" or
// "after" the fsync), lets another master take over, then lets the write
// continue: the client must get an error, never an acknowledgement.
func testDeposedInFlight(t *testing.T, zk *zktest.Ensemble, stage string) {
	c := newHACluster(t, zk, 2)
	a := c.waitLeader(10 * time.Second)
	var b *haNode
	for _, n := range c.nodes {
		if n != a {
			b = n
		}
	}
	mkdirs(t, a, "/ok", 5)
	paused, resume := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	hook := func(s string, seq int64) {
		if s == stage && armed.CompareAndSwap(true, false) {
			close(paused)
			<-resume
		}
	}
	a.hook.Store(&hook)
	op := &alluxiopb.OperationId{MostSignificantBits: 7, LeastSignificantBits: 42}
	result := make(chan error, 1)
	go func() { result <- a.mkdir("/inflight", op) }()
	select {
	case <-paused:
	case err := <-result:
		t.Fatalf("write finished without pausing: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("write did not reach the flush")
	}
	a.proxy.Block()
	pollUntil(t, 3*haSessionTimeout+2*time.Second, "the other master to lead", func() bool { return b.mkdir("/b", nil) == nil })
	close(resume)
	var err error
	select {
	case err = <-result:
	case <-time.After(5 * time.Second):
		t.Fatal("the paused write never returned")
	}
	if err == nil {
		t.Fatal("a deposed leader acknowledged a write")
	}
	if !errors.Is(err, rpcstatus.ErrNotLeader) && !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("deposed leader's write: %v, want NOT_LEADER or Unavailable", err)
	}
	t.Logf("deposed leader's in-flight write (paused %s fsync) answered: %v", stage, err)
	// The entry is in the new history only if the seal took it in: then it
	// carries the old epoch and precedes the new term. The new leader's
	// state agrees with the history.
	var entrySeq, entryEpoch, newTermSeq int64
	bEpoch := b.status(t, false).Epoch
	if err := journal.Dump(context.Background(), journal.Config{Folder: c.journal}, func(e *journalpb.JournalEntry) error {
		if e.GetOperationId().GetLeastSignificantBits() == 42 && e.GetInodeDirectory() != nil {
			entrySeq, entryEpoch = e.GetSequenceNumber(), e.GetEpoch()
		}
		if e.GetNewTerm().GetEpoch() == bEpoch {
			newTermSeq = e.GetSequenceNumber()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, statErr := b.fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: "/inflight"})
	if (entrySeq != 0) != (statErr == nil) {
		t.Fatalf("history has the entry at seq %d, new leader's GetStatus: %v", entrySeq, statErr)
	}
	if entrySeq != 0 && (entryEpoch >= bEpoch || entrySeq > newTermSeq) {
		t.Fatalf("entry at seq %d epoch %d, new term %d starts at seq %d", entrySeq, entryEpoch, bEpoch, newTermSeq)
	}
	t.Logf("entry sealed into the new history: %v (seq %d, epoch %d; new term %d at seq %d)", entrySeq != 0, entrySeq, entryEpoch, bEpoch, newTermSeq)
	// Either way the client's retry with the same operation id succeeds.
	if err := b.mkdir("/inflight", op); err != nil {
		t.Fatalf("retry at the new leader: %v", err)
	}
	// The old leader rejoins with the same history.
	a.proxy.Unblock()
	want := c.waitSynced(b)
	if st := a.status(t, true); st.Role != "STANDBY" || st.StateDigest != want.StateDigest {
		t.Fatalf("rejoined: %v, leader %v", st, want)
	}
}

func testStartUpSafety(t *testing.T, zk *zktest.Ensemble) {
	c := &haCluster{t: t, zk: zk, ufs: t.TempDir(), zkRoot: "/startup"}
	props := c.props(zk.Servers()[0])
	start := func(folder string) (string, error) {
		p := map[string]string{}
		for k, v := range props {
			p[k] = v
		}
		p["alluxio.master.journal.folder"] = folder
		cf, err := conf.FromMap(p)
		if err != nil {
			t.Fatal(err)
		}
		log, logs := newSafeLog(t, "startup")
		srv, err := Start(context.Background(), Options{Conf: cf, Logger: log})
		if err == nil {
			srv.Shutdown(context.Background())
		}
		return logs.String(), err
	}
	// Absent or empty: not formatted, and never formatted automatically.
	empty := filepath.Join(t.TempDir(), "journal")
	_, err := start(empty)
	if err == nil || !strings.Contains(err.Error(), "alluxio format") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unformatted journal: %v", err)
	}
	if ok, _ := journal.IsFormatted(empty); ok {
		t.Fatal("HA master formatted the journal")
	}
	// Foreign: something else lives there.
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "data.csv"), []byte("x"), 0o644)
	_, err = start(foreign)
	if err == nil || !strings.Contains(err.Error(), "not an Alluxio journal") || !strings.Contains(err.Error(), "data.csv") {
		t.Fatalf("foreign journal: %v", err)
	}
	// Formatted, with a loopback advertised address: starts, warns once.
	good := filepath.Join(t.TempDir(), "journal")
	if err := journal.Format(good); err != nil {
		t.Fatal(err)
	}
	logs, err := start(good)
	if err != nil {
		t.Fatal(err)
	}
	var warn []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "alluxio.master.hostname=127.0.0.1") {
			warn = append(warn, l)
		}
	}
	if len(warn) != 1 {
		t.Fatalf("loopback warnings: %q", warn)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "127.0.0.1": true, "127.0.1.1": true, "::1": true, "": true,
		"10.0.0.5": false, "192.168.1.20": false, "master-1.invalid": false,
	} {
		if got := isLoopback(context.Background(), host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
