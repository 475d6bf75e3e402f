package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/retry"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/uri"
)

// switchingInquire answers the fake cluster's leader, caching it as the
// ZooKeeper inquire client does: it asks the cluster again only after
// InvalidatePrimary. With notify it also ends RPCs in flight to a deposed
// leader, as the ZooKeeper watch does.
type switchingInquire struct {
	c *fakecluster.Cluster

	mu            sync.Mutex
	cached        string
	lookups       int
	invalidations []string
	waiters       []func()
}

func (s *switchingInquire) GetPrimaryRPCAddress(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == "" {
		s.lookups++
		s.cached = s.c.LeaderAddr()
		if s.cached == "" {
			return "", rpcstatus.ErrUnavailable
		}
	}
	return s.cached, nil
}

func (s *switchingInquire) InvalidatePrimary(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidations = append(s.invalidations, addr)
	if s.cached == addr {
		s.cached = ""
	}
}

func (s *switchingInquire) counts() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups, append([]string(nil), s.invalidations...)
}

// notifyingInquire adds the leader-change notification of a watch
// (leaderChangeCallback, as the ZooKeeper inquire client).
type notifyingInquire struct{ *switchingInquire }

func (n notifyingInquire) onLeaderChange(addr string, fire func()) func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waiters = append(n.waiters, fire)
	return func() {}
}

// publish is what the watch does when a new leader appears.
func (n notifyingInquire) publish(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cached = addr
	for _, fire := range n.waiters {
		fire()
	}
	n.waiters = nil
}

func newRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}

func attrOf(s sdktrace.ReadOnlySpan, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestFailoverReResolvesLeader(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := &switchingInquire{c: c}
	rec, tp := newRecorder()
	f := newFS(t, c, nil, WithMasterInquireClient(ic), WithTracerProvider(tp))
	ctx := context.Background()
	m := c.MasterAddrs()
	if err := f.CreateDirectory(ctx, "/before"); err != nil {
		t.Fatal(err)
	}
	// Failover: master 1 leads; the client still has master 0 cached.
	c.SetLeader(1)
	rec.Reset()
	st, err := f.GetStatus(ctx, "/before")
	if err != nil || st.Path != "/before" {
		t.Fatalf("GetStatus after failover: %v", err)
	}
	lookups, inval := ic.counts()
	if lookups != 2 || len(inval) != 1 || inval[0] != m[0] {
		t.Errorf("lookups %d, invalidations %v; want 2 and [%s]", lookups, inval, m[0])
	}
	if a, _ := f.MasterAddress(ctx); a != m[1] {
		t.Errorf("master address %s, want %s", a, m[1])
	}
	if n := c.CallsOn(0, "GetStatus"); n != 1 {
		t.Errorf("GetStatus on the deposed master: %d calls, want 1", n)
	}

	// The trace: one call span, two attempt spans against the two masters,
	// the second with the re-resolution event.
	var call sdktrace.ReadOnlySpan
	var attempts []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "alluxio.client.GetStatus":
			call = s
		case "alluxio.rpc.attempt":
			attempts = append(attempts, s)
		}
	}
	if call == nil || len(attempts) != 2 {
		t.Fatalf("spans: call %v, %d attempts", call != nil, len(attempts))
	}
	if p, _ := attrOf(call, attrPath); p.AsString() != "/before" {
		t.Errorf("call span path = %q", p.AsString())
	}
	for i, a := range attempts {
		if a.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Errorf("attempt %d is not a child of the call span", i)
		}
		if n, _ := attrOf(a, attrAttempt); n.AsInt64() != int64(i+1) {
			t.Errorf("attempt %d: number %d", i, n.AsInt64())
		}
		if addr, _ := attrOf(a, attrMasterAddress); addr.AsString() != m[i] {
			t.Errorf("attempt %d: master %s, want %s", i, addr.AsString(), m[i])
		}
	}
	if code, _ := attrOf(attempts[0], attrGRPCStatus); code.AsInt64() != int64(codes.Unavailable) {
		t.Errorf("first attempt status %d, want Unavailable", code.AsInt64())
	}
	if code, _ := attrOf(attempts[1], attrGRPCStatus); code.AsInt64() != int64(codes.OK) {
		t.Errorf("second attempt status %d, want OK", code.AsInt64())
	}
	ev := attempts[1].Events()
	if len(ev) != 1 || ev[0].Name != "leader re-resolved" {
		t.Fatalf("second attempt events %v", ev)
	}
	got := map[attribute.Key]string{}
	for _, kv := range ev[0].Attributes {
		got[kv.Key] = kv.Value.AsString()
	}
	if got[attrOldLeader] != m[0] || got[attrNewLeader] != m[1] {
		t.Errorf("event attributes %v", got)
	}
}

func TestMutationKeepsOperationIDAcrossFailover(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := &switchingInquire{c: c}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	ctx := context.Background()
	if err := f.CreateDirectory(ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	// The leader applies the create but its answer is lost; then it is
	// deposed. The retry goes to the new leader with the same operation id
	// and must report success, not AlreadyExists.
	c.DropResponse("CreateFile", 1)
	writeFile(t, f, "/d/f", []byte("hello"))
	c.SetLeader(1)
	c.DropResponse("Rename", 1) // applied by master 1, answer lost
	if err := f.Rename(ctx, "/d/f", "/d/g"); err != nil {
		t.Fatalf("rename across failover: %v", err)
	}
	ids := c.OperationIDs("Rename")
	if len(ids) != 3 { // master 0 (NOT_LEADER), master 1 (dropped), master 1 (dedup)
		t.Fatalf("rename attempts %v, want 3", ids)
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("operation ids differ across attempts: %v", ids)
		}
	}
	if c.CallsOn(0, "Rename") != 1 || c.CallsOn(1, "Rename") != 2 {
		t.Errorf("rename calls: master 0 %d, master 1 %d", c.CallsOn(0, "Rename"), c.CallsOn(1, "Rename"))
	}
	if ids := c.OperationIDs("CreateFile"); len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("create attempts %v, want 2 with one id", ids)
	}
	if ok, _ := f.Exists(ctx, "/d/g"); !ok {
		t.Error("/d/g missing")
	}
}

func TestIndeterminateAfterExhaustedRetries(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	short := WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 2 * time.Millisecond, MaxDuration: 40 * time.Millisecond})
	f := newFS(t, c, nil, short)
	ctx := context.Background()

	// Every answer is lost: the mutation may have been applied.
	c.DropResponse("CreateDirectory", 1000)
	err := f.CreateDirectory(ctx, "/maybe")
	if !errors.Is(err, ErrIndeterminate) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrIndeterminate wrapping ErrUnavailable", err)
	}
	if ids := c.OperationIDs("CreateDirectory"); len(ids) < 2 {
		t.Errorf("only %d attempts", len(ids))
	} else {
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("operation id changed across attempts: %v", ids)
			}
		}
	}

	// A read that runs out of retries is a plain failure.
	c.FailNext("GetStatus", 1000, status.Error(codes.Unavailable, "down"))
	if _, err := f.GetStatus(ctx, "/"); errors.Is(err, ErrIndeterminate) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("read: err = %v, want ErrUnavailable only", err)
	}

	// A definite answer is a definite failure.
	if err := f.Delete(ctx, "/nope"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrIndeterminate) {
		t.Errorf("delete of a missing path: %v", err)
	}

	// A mutation cut short by the caller's deadline may have been applied.
	c.HangNext("Remove", 1)
	if err := f.CreateDirectory(ctx, "/x"); err != nil && !errors.Is(err, ErrIndeterminate) {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.Delete(dctx, "/x"); !errors.Is(err, ErrIndeterminate) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delete past the deadline: %v", err)
	}
}

func TestNoLeaderIsRetriedUntilOneAppears(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := &switchingInquire{c: c}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	ctx := context.Background()
	if _, err := f.GetStatus(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	c.SetLeader(-1) // an election in progress
	time.AfterFunc(100*time.Millisecond, func() { c.SetLeader(1) })
	if err := f.CreateDirectory(ctx, "/during"); err != nil {
		t.Fatalf("create during the election: %v", err)
	}
	if c.CallsOn(1, "CreateDirectory") != 1 {
		t.Errorf("create reached the new leader %d times", c.CallsOn(1, "CreateDirectory"))
	}
}

func TestNewLeaderCutsShortCallToPausedLeader(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := notifyingInquire{&switchingInquire{c: c}}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	ctx := context.Background()
	if err := f.CreateDirectory(ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	// The leader stops answering (paused); ZooKeeper then publishes master 1.
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

func TestStandbyAnswersMetaServiceAndMasterInfo(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 3})
	c.SetLeader(2)
	f := newFS(t, c, nil, WithMasterInquireClient(&switchingInquire{c: c}))
	mi, err := f.GetMasterInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := c.MasterAddrs()
	if mi.LeaderAddress != m[2] || len(mi.Masters) != 3 {
		t.Fatalf("master info %+v", mi)
	}
	for i, ms := range mi.Masters {
		want := "STANDBY"
		if i == 2 {
			want = "LEADER"
		}
		if ms.Address != m[i] || ms.Role != want {
			t.Errorf("master %d: %+v, want %s %s", i, ms, m[i], want)
		}
	}
}

// A write's metadata calls (GetNewBlockId between blocks, CompleteFile at
// Close) follow a master failover; the block streams to the worker are not
// affected by it.
func TestWriteSpansMasterFailover(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	ic := &switchingInquire{c: c}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	data := randomBytes(3*testBlock+100, 21)
	w, err := f.CreateFile(context.Background(), "/across", CacheThrough)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:testBlock+10]); err != nil { // a second block is open
		t.Fatal(err)
	}
	c.SetLeader(1)
	if _, err := w.Write(data[testBlock+10 : 2*testBlock+50]); err != nil { // GetNewBlockId fails over
		t.Fatalf("write across the failover: %v", err)
	}
	c.SetLeader(0)
	c.DropResponse("CompleteFile", 1) // and the completion's answer is lost once
	if _, err := w.Write(data[2*testBlock+50:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close across failovers: %v", err)
	}
	if c.CallsOn(1, "GetNewBlockId") == 0 || c.CallsOn(0, "CompleteFile") != 2 {
		t.Errorf("GetNewBlockId on master 1: %d; CompleteFile on master 0: %d", c.CallsOn(1, "GetNewBlockId"), c.CallsOn(0, "CompleteFile"))
	}
	if ids := c.OperationIDs("CompleteFile"); len(ids) < 2 || ids[0] != ids[len(ids)-1] {
		t.Errorf("CompleteFile operation ids %v", ids)
	}
	mustEqual(t, "read back", readFile(t, f, "/across"), data)
}

// A block write interrupted by the worker's failure fails the file's write
// (the caller may write the whole file again); it does not hang or complete
// a partial file.
func TestWorkerFailureFailsTheWrite(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	w, err := f.CreateFile(context.Background(), "/w", MustCache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(testBlock/2, 3)); err != nil {
		t.Fatal(err)
	}
	c.Workers()[0].Stop()
	_, werr := w.Write(randomBytes(2*testBlock, 4))
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("write to a dead worker succeeded")
	}
	if errors.Is(cerr, ErrIndeterminate) {
		t.Errorf("a failed block write is a definite failure: %v", cerr)
	}
	if st, err := f.GetStatus(context.Background(), "/w"); err == nil && st.Completed {
		t.Error("a partial file was completed")
	}
}

// After a failover the new leader knows no workers and no block locations
// until the workers register with it; writes and reads wait for them
// instead of failing.
func TestWaitsForWorkersToRegisterWithNewLeader(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 2})
	f := newFS(t, c, nil, WithMasterInquireClient(&switchingInquire{c: c}))
	data := randomBytes(testBlock+7, 5)
	writeFile(t, f, "/cached", data, MustCache)

	c.SetLeader(1)
	c.ForgetWorkers(true)
	time.AfterFunc(150*time.Millisecond, func() { c.ForgetWorkers(false) })
	writeFile(t, f, "/new", []byte("after the failover"), MustCache)

	c.ForgetWorkers(true)
	time.AfterFunc(150*time.Millisecond, func() { c.ForgetWorkers(false) })
	mustEqual(t, "read of a cached, unpersisted file", readFile(t, f, "/cached"), data)

	// Workers that never come back: the wait is bounded.
	c.ForgetWorkers(true)
	if _, err := f.CreateFile(context.Background(), "/never", MustCache); !errors.Is(err, ErrUnavailable) {
		t.Errorf("create with no workers: %v", err)
	}
}

// A failed write whose incomplete file cannot be deleted (the masters are
// unreachable) may leave it behind: the error says so with ErrIndeterminate.
func TestFailedWriteThatCannotCleanUpIsIndeterminate(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil, WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 2 * time.Millisecond, MaxDuration: 50 * time.Millisecond}))
	w, err := f.CreateFile(context.Background(), "/left", MustCache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(testBlock/2, 3)); err != nil {
		t.Fatal(err)
	}
	c.Workers()[0].Stop()
	c.FailNext("Remove", 1000, status.Error(codes.Unavailable, "master down"))
	_, werr := w.Write(randomBytes(2*testBlock, 4))
	if werr == nil {
		werr = w.Close()
	}
	if !errors.Is(werr, ErrIndeterminate) {
		t.Fatalf("err = %v, want ErrIndeterminate", werr)
	}
	if cerr := w.Close(); !errors.Is(cerr, ErrIndeterminate) {
		t.Errorf("Close after the failed Write: %v", cerr)
	}
	t.Log(werr)
}

// A mutation that never reached a master (none listens: no connection) is
// a definite failure, not an indeterminate one.
func TestUnsentMutationIsDefiniteFailure(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	f := newFS(t, c, nil, WithMasterAddress(dead),
		WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 5 * time.Millisecond, MaxDuration: 100 * time.Millisecond}))
	err = f.CreateDirectory(context.Background(), "/down")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrIndeterminate) {
		t.Fatalf("err = %v, want a definite ErrUnavailable", err)
	}
}

// A URI naming several masters finds the leader by asking each its role.
func TestPollingInquireClientFollowsLeader(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Masters: 3})
	c.SetLeader(2)
	m := c.MasterAddrs()
	u, err := uri.Parse("alluxio://" + strings.Join(m, ",") + "/")
	if err != nil {
		t.Fatal(err)
	}
	ic, err := InquireClientFromURI(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ic.(*PollingInquireClient)
	if !ok {
		t.Fatalf("inquire client %T", ic)
	}
	defer p.Close()
	f := newFS(t, c, nil, WithMasterInquireClient(p))
	ctx := context.Background()
	if err := f.CreateDirectory(ctx, "/p"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.MasterAddress(ctx); a != m[2] {
		t.Errorf("leader %s, want %s", a, m[2])
	}
	c.SetLeader(0)
	if _, err := f.GetStatus(ctx, "/p"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.MasterAddress(ctx); a != m[0] {
		t.Errorf("after failover: leader %s, want %s", a, m[0])
	}
	c.SetLeader(-1)
	p.InvalidatePrimary(m[0])
	if _, err := p.GetPrimaryRPCAddress(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no leader: %v", err)
	}
}

// The W3C trace context of a call reaches the master's and the worker's
// server spans (otelgrpc stats handlers on both sides, no global propagator).
func TestTraceContextReachesServers(t *testing.T) {
	rec, tp := newRecorder()
	c := startCluster(t, fakecluster.Options{ServerOptions: []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})))}})
	f := newFS(t, c, nil, WithTracerProvider(tp))
	ctx, root := tp.Tracer("test").Start(context.Background(), "test")
	w, err := f.CreateFile(ctx, "/traced", MustCache)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	root.End()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	poll(t, "server spans", func() bool {
		n := 0
		for _, s := range rec.Ended() {
			byID[s.SpanContext().SpanID()] = s
			if s.SpanKind() == trace.SpanKindServer {
				n++
			}
		}
		return n >= 3
	})
	servers := map[string]bool{}
	for _, s := range byID {
		if s.SpanKind() != trace.SpanKindServer {
			continue
		}
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("server span %s in another trace", s.Name())
			continue
		}
		// server span <- otelgrpc client span <- (attempt span for masters)
		client, ok := byID[s.Parent().SpanID()]
		if !ok || client.SpanKind() != trace.SpanKindClient {
			t.Errorf("server span %s: parent is not a client span", s.Name())
			continue
		}
		servers[s.Name()] = true
		if strings.Contains(s.Name(), "FileSystemMasterClientService/CreateFile") {
			if a, ok := byID[client.Parent().SpanID()]; !ok || a.Name() != "alluxio.rpc.attempt" {
				t.Errorf("master call %s not under an attempt span", s.Name())
			}
		}
	}
	for _, want := range []string{"FileSystemMasterClientService/CreateFile", "BlockWorker/WriteBlock", "FileSystemMasterClientService/CompleteFile"} {
		found := false
		for n := range servers {
			found = found || strings.HasSuffix(n, want)
		}
		if !found {
			t.Errorf("no server span %s among %v", want, servers)
		}
	}
}
