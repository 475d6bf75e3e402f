package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/retry"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
)

// followInquire caches the fake cluster's leader until invalidated, like
// the ZooKeeper inquire client.
type followInquire struct {
	c      *fakecluster.Cluster
	mu     sync.Mutex
	cached string
}

func (f *followInquire) GetPrimaryRPCAddress(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cached == "" {
		f.cached = f.c.LeaderAddr()
	}
	if f.cached == "" {
		return "", rpcstatus.ErrUnavailable
	}
	return f.cached, nil
}

func (f *followInquire) InvalidatePrimary(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cached == addr {
		f.cached = ""
	}
}

// runHA runs the CLI with ic finding the leader (and no usable master host
// name) and the given global flags before args.
func runHA(t *testing.T, ic client.MasterInquireClient, args ...string) (string, string, int) {
	t.Helper()
	full := append([]string{"alluxio", "--conf-dir", t.TempDir(), "-D", "alluxio.master.hostname=no-such-master.invalid"}, args...)
	var out, errb bytes.Buffer
	code := Main(context.Background(), full, strings.NewReader(""), &out, &errb,
		WithTelemetryEnv(func(string) (string, bool) { return "", false }),
		WithClientOptions(client.WithMasterInquireClient(ic), client.WithUser("alice", "staff"),
			client.WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 5 * time.Millisecond, MaxDuration: 2 * time.Second})))
	return out.String(), errb.String(), code
}

func TestLeaderMasterInfoAndReportWithStandbys(t *testing.T) {
	c, err := fakecluster.Start(fakecluster.Options{Masters: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetLeader(1)
	m := c.MasterAddrs()
	ic := &followInquire{c: c}

	out, errs, code := runHA(t, ic, "fs", "leader")
	if code != 0 || out != m[1]+"\n" {
		t.Errorf("fs leader: exit %d, %q %q; want %s", code, out, errs, m[1])
	}
	out, errs, code = runHA(t, ic, "fs", "masterInfo")
	if code != 0 {
		t.Fatalf("fs masterInfo: %s", errs)
	}
	if !strings.Contains(out, "Current leader master: "+m[1]+"\n") || !strings.Contains(out, "All masters: ["+strings.Join(m, ", ")+"]") {
		t.Errorf("fs masterInfo:\n%s", out)
	}
	for i, addr := range m {
		role := "STANDBY"
		if i == 1 {
			role = "LEADER"
		}
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 && f[0] == addr && f[1] == role && f[2] == "1" {
				found = true
			}
		}
		if !found {
			t.Errorf("fs masterInfo has no line %q with role %s and epoch 1:\n%s", addr, role, out)
		}
	}
	out, errs, code = runHA(t, ic, "fsadmin", "report", "summary")
	if code != 0 {
		t.Fatalf("fsadmin report: %s", errs)
	}
	if !strings.Contains(out, "Masters:") || strings.Count(out, "STANDBY") != 2 || strings.Count(out, "LEADER") != 1 {
		t.Errorf("fsadmin report lacks the masters:\n%s", out)
	}
}

func TestTraceFlagPrintsSpanTree(t *testing.T) {
	c, err := fakecluster.Start(fakecluster.Options{Masters: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := c.MasterAddrs()
	ic := &followInquire{c: c, cached: m[0]} // the client still believes in master 0
	c.SetLeader(1)
	out, errs, code := runHA(t, ic, "--trace", "fs", "mkdir", "/traced")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Successfully created directory /traced") {
		t.Errorf("stdout %q", out)
	}
	t.Logf("span tree:\n%s", errs)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if !strings.HasPrefix(lines[0], "trace ") || !strings.HasPrefix(lines[1], "alluxio fs mkdir  ") {
		t.Fatalf("tree does not start with the trace id and the command's root span:\n%s", errs)
	}
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	var call, attempts []string
	for _, l := range lines {
		switch strings.Fields(l)[0] {
		case "alluxio.client.CreateDirectory":
			call = append(call, l)
		case "alluxio.rpc.attempt":
			attempts = append(attempts, l)
		}
	}
	if len(call) != 1 || !strings.Contains(call[0], "path=/traced") {
		t.Fatalf("call spans %q", call)
	}
	var created []string
	for _, a := range attempts {
		if strings.Contains(a, "rpc.method=CreateDirectory") {
			created = append(created, a)
		}
	}
	if len(created) != 2 {
		t.Fatalf("CreateDirectory attempts %q, want 2", created)
	}
	for i, a := range created {
		if indent(a) <= indent(call[0]) {
			t.Errorf("attempt %q is not nested under the call", a)
		}
		if !strings.Contains(a, "master.address="+m[i]) {
			t.Errorf("attempt %d %q: want master %s", i+1, a, m[i])
		}
	}
	if !strings.Contains(created[0], "rpc.grpc.status_code=14") || !strings.Contains(created[0], "ERROR") {
		t.Errorf("first attempt should show Unavailable: %q", created[0])
	}
	if !strings.Contains(errs, "- leader re-resolved  leader.old="+m[0]+"  leader.new="+m[1]) {
		t.Errorf("no re-resolution event in:\n%s", errs)
	}
	if !strings.Contains(errs, "FileSystemMasterClientService/CreateDirectory") {
		t.Errorf("no gRPC client span in:\n%s", errs)
	}

	// Without --trace nothing is printed.
	_, errs, code = runHA(t, ic, "fs", "mkdir", "/untraced")
	if code != 0 || errs != "" {
		t.Errorf("untraced: exit %d stderr %q", code, errs)
	}
	// A failing traced command prints the tree, then its one-line reason last.
	_, errs, code = runHA(t, ic, "--trace", "fs", "ls", "/nope")
	lines = strings.Split(strings.TrimSpace(errs), "\n")
	if code == 0 || lines[len(lines)-1] != "alluxio: ls: /nope does not exist" || !strings.Contains(errs, "alluxio.client.GetStatus  ") {
		t.Errorf("failing traced command: exit %d\n%s", code, errs)
	}
}

func TestZooKeeperUnreachableIsOneLine(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	for _, args := range [][]string{
		{"-D", "alluxio.zookeeper.enabled=true", "-D", "alluxio.zookeeper.address=127.0.0.1:1,127.0.0.1:2", "fs", "leader"},
		{"-D", "alluxio.zookeeper.enabled=true", "-D", "alluxio.zookeeper.address=127.0.0.1:1,127.0.0.1:2", "fs", "ls", "/"},
		{"fs", "masterInfo", "alluxio://zk@127.0.0.1:1,127.0.0.1:2/"},
	} {
		got := h.fails(args...)
		if !strings.Contains(got, ": cannot reach ZooKeeper at 127.0.0.1:1,127.0.0.1:2: ") {
			t.Errorf("alluxio %s: %q", strings.Join(args, " "), got)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestIntegrationCLIFindsLeaderInZooKeeper: with only ZooKeeper configured,
// `fs leader` prints the master that won the election, and commands reach it.
func TestIntegrationCLIFindsLeaderInZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	ens := zktest.Start(t, 1, zktest.WithTickTime(200*time.Millisecond))
	c, err := fakecluster.Start(fakecluster.Options{Masters: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := c.MasterAddrs()
	c.SetLeader(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := zkleader.NewElector(ctx, zkleader.Config{Servers: ens.Servers(), SessionTimeout: 2 * time.Second}, m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		full := append([]string{"alluxio", "--conf-dir", t.TempDir(), "-D", "alluxio.master.hostname=",
			"-D", "alluxio.zookeeper.enabled=true", "-D", "alluxio.zookeeper.address=" + ens.ConnectString()}, args...)
		var out, errb bytes.Buffer
		if code := Main(ctx, full, strings.NewReader(""), &out, &errb, WithClientOptions(client.WithUser("alice", "staff"))); code != 0 {
			t.Fatalf("alluxio %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	if out := run("fs", "leader"); out != m[1]+"\n" {
		t.Errorf("fs leader = %q, want %s", out, m[1])
	}
	run("fs", "mkdir", "/viazk")
	if out := run("fs", "ls", "alluxio://zk@"+ens.ConnectString()+"/"); !strings.Contains(out, "/viazk") {
		t.Errorf("ls via zk@ URI: %q", out)
	}
}
