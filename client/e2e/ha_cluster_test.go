package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client/e2e/internal/proctest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/common/zktest"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// haSessionTimeout is the ZooKeeper session timeout of the HA tests: the
// ensemble runs with tickTime 200ms, so sessions may last 400ms to 4s.
const haSessionTimeout = 2 * time.Second

// haCluster is a fault-tolerant cluster run as processes: one real
// ZooKeeper server, several alluxio-master processes on loopback with
// distinct ports sharing one journal folder, and alluxio-worker processes
// with their own tier directories. Workers and clients are configured with
// no master address: they find the leader through ZooKeeper.
type haCluster struct {
	t       *testing.T
	bin     string
	home    string
	journal string
	ufs     string
	zk      *zktest.Ensemble
	// common holds the properties every process shares (ZooKeeper, journal,
	// root UFS, client defaults); clientConf is a conf dir with only these.
	common     map[string]string
	clientConf string
	masters    []*haNode
	workers    []*haNode
	inquirer   *zkleader.Inquirer
}

// haNode is one daemon with its own configuration directory. Its log
// accumulates across restarts.
type haNode struct {
	kind    string // "master" or "worker"
	name    string // master0, worker1, ...
	confDir string
	props   map[string]string
	host    string // advertised host
	rpcPort int
	netns   string // network namespace to run in ("" = the test's)
	log     *proctest.SyncBuffer
	p       *proc
	pids    []int // every pid this node has had, in order
}

func (n *haNode) addr() string { return net.JoinHostPort(n.host, strconv.Itoa(n.rpcPort)) }

// pid returns the current process id (0 if never started).
func (n *haNode) pid() int {
	if n.p == nil {
		return 0
	}
	return n.p.Cmd.Process.Pid
}

func (n *haNode) running() bool { return n.p != nil && !n.p.Exited() }

type haConfig struct {
	masters, workers int
	sessionTimeout   time.Duration
	props            map[string]string // added to the common properties
}

// newHACluster starts ZooKeeper, formats the shared journal and writes the
// configuration of every node; it starts no Alluxio process.
func newHACluster(t *testing.T, cfg haConfig) *haCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	if cfg.sessionTimeout == 0 {
		cfg.sessionTimeout = haSessionTimeout
	}
	home := t.TempDir()
	c := &haCluster{
		t: t, bin: binaries(t), home: home,
		journal:    filepath.Join(home, "shared-journal"),
		ufs:        filepath.Join(home, "ufs"),
		clientConf: filepath.Join(home, "conf-client"),
	}
	for _, d := range []string{c.journal, c.ufs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c.zk = zktest.Start(t, 1, zktest.WithTickTime(200*time.Millisecond))
	c.common = map[string]string{
		"alluxio.zookeeper.enabled":               "true",
		"alluxio.zookeeper.address":               c.zk.ConnectString(),
		"alluxio.zookeeper.session.timeout":       durationProp(cfg.sessionTimeout),
		"alluxio.zookeeper.connection.timeout":    "3s",
		"alluxio.master.journal.folder":           c.journal,
		"alluxio.master.mount.table.root.ufs":     c.ufs,
		"alluxio.master.worker.timeout":           "60s",
		"alluxio.worker.block.heartbeat.interval": "200ms",
		"alluxio.user.block.size.bytes.default":   "4MB",
		"alluxio.user.rpc.retry.max.duration":     "20s",
		"alluxio.user.rpc.retry.max.sleep":        "500ms",
		"alluxio.user.short.circuit.enabled":      "false",
	}
	for k, v := range cfg.props {
		c.common[k] = v
	}
	writeProps(t, c.clientConf, c.common)
	c.inquirer = zkleader.NewInquirer(zkleader.Config{
		Servers:           []string{c.zk.ConnectString()},
		SessionTimeout:    cfg.sessionTimeout,
		ConnectionTimeout: 3 * time.Second,
		InquiryRetry:      -1,
	})
	t.Cleanup(func() { _ = c.inquirer.Close() })
	for i := 0; i < cfg.masters; i++ {
		c.masters = append(c.masters, c.newNode("master", i, "127.0.0.1"))
	}
	for i := 0; i < cfg.workers; i++ {
		c.workers = append(c.workers, c.newNode("worker", i, "127.0.0.1"))
	}
	// Cleanups run last-in first-out: processes stop before ZooKeeper.
	t.Cleanup(c.stopAll)
	c.format()
	return c
}

func durationProp(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

func writeProps(t *testing.T, dir string, props map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alluxio-site.properties"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newNode writes the configuration of master or worker i advertising host.
func (c *haCluster) newNode(kind string, i int, host string) *haNode {
	c.t.Helper()
	n := &haNode{kind: kind, name: fmt.Sprintf("%s%d", kind, i), host: host, log: &proctest.SyncBuffer{}}
	n.confDir = filepath.Join(c.home, "conf-"+n.name)
	n.props = map[string]string{}
	for k, v := range c.common {
		n.props[k] = v
	}
	n.rpcPort = stablePort(c.t)
	switch kind {
	case "master":
		n.props["alluxio.master.hostname"] = host
		n.props["alluxio.master.rpc.port"] = strconv.Itoa(n.rpcPort)
		n.props["alluxio.master.web.port"] = strconv.Itoa(stablePort(c.t))
	case "worker":
		tierBase := "/dev/shm"
		if _, err := os.Stat(tierBase); err != nil {
			tierBase = c.home
		}
		tier, err := os.MkdirTemp(tierBase, "alluxio-e2e-ha-tier")
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { os.RemoveAll(tier) })
		n.props["alluxio.worker.hostname"] = host
		n.props["alluxio.worker.rpc.port"] = strconv.Itoa(n.rpcPort)
		n.props["alluxio.worker.web.port"] = strconv.Itoa(stablePort(c.t))
		n.props["alluxio.worker.tieredstore.levels"] = "1"
		n.props["alluxio.worker.tieredstore.level0.alias"] = "MEM"
		n.props["alluxio.worker.tieredstore.level0.dirs.path"] = tier
		n.props["alluxio.worker.tieredstore.level0.dirs.quota"] = "128MB"
		if l := os.Getenv("E2E_HA_WORKER_LOG_LEVEL"); l != "" {
			n.props["alluxio.logger.level"] = l // e.g. DEBUG, to see a worker's master sessions
		}
	}
	writeProps(c.t, n.confDir, n.props)
	return n
}

// rewrite writes n's configuration again after n.props changed.
func (c *haCluster) rewrite(n *haNode) { writeProps(c.t, n.confDir, n.props) }

func (c *haCluster) envFor(confDir string) []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "ALLUXIO_") || strings.HasPrefix(e, "OTEL_") {
			continue
		}
		env = append(env, e)
	}
	return append(env, "ALLUXIO_CONF_DIR="+confDir, "ALLUXIO_HOME="+c.home, "ALLUXIO_LOGS_DIR="+filepath.Join(c.home, "logs"))
}

// format formats the shared journal once, as an operator does before the
// first start.
func (c *haCluster) format() {
	c.t.Helper()
	if len(c.masters) == 0 {
		return
	}
	out, err := c.runTool(c.masters[0].confDir, "alluxio-master", "--format")
	if err != nil {
		c.t.Fatalf("alluxio-master --format: %v\n%s", err, out)
	}
}

// runTool runs a binary to completion with confDir's configuration.
func (c *haCluster) runTool(confDir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Env = c.envFor(confDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// cli runs bin/alluxio with the client configuration (no master address)
// and returns stdout, stderr and the exit code.
func (c *haCluster) cli(args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "alluxio"), args...)
	cmd.Env = c.envFor(c.clientConf)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			c.t.Fatalf("alluxio %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// start starts n's process (again) and waits until it listens.
func (c *haCluster) start(n *haNode) {
	c.t.Helper()
	if n.running() {
		c.t.Fatalf("%s is already running (pid %d)", n.name, n.pid())
	}
	bin := filepath.Join(c.bin, "alluxio-"+n.kind)
	var cmd *exec.Cmd
	if n.netns != "" {
		// ip netns exec execs the binary: the pid is the daemon's.
		cmd = exec.Command("ip", "netns", "exec", n.netns, bin)
	} else {
		cmd = exec.Command(bin)
	}
	cmd.Env = c.envFor(n.confDir)
	fmt.Fprintf(n.log, "=== e2e: starting %s at %s\n", n.name, time.Now().Format("15:04:05.000"))
	cmd.Stdout, cmd.Stderr = n.log, n.log
	pp, err := proctest.Start(cmd)
	if err != nil {
		c.t.Fatalf("start %s: %v", n.name, err)
	}
	p := &proc{Proc: pp, log: n.log}
	n.p = p
	n.pids = append(n.pids, cmd.Process.Pid)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			c.t.Fatalf("%s exited during start-up; log:\n%s", n.name, tail(n.log.String(), 40))
		}
		conn, err := net.DialTimeout("tcp", n.addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	c.t.Fatalf("%s did not listen on %s within 60s; log:\n%s", n.name, n.addr(), tail(n.log.String(), 40))
}

// startAll starts every master, waits for a leader, then starts the
// workers and waits until they have registered.
func (c *haCluster) startAll() {
	c.t.Helper()
	for _, m := range c.masters {
		c.start(m)
	}
	c.waitLeader(nil)
	for _, w := range c.workers {
		c.start(w)
	}
	if len(c.workers) > 0 {
		c.waitWorkers(len(c.workers))
	}
}

// signal sends sig to n. SIGKILL and SIGTERM wait for the exit (SIGKILL
// after 30s, failing the test); other signals return at once.
func (c *haCluster) signal(n *haNode, sig syscall.Signal) {
	c.t.Helper()
	if !n.running() {
		return
	}
	_ = n.p.Cmd.Process.Signal(sig)
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return
	}
	select {
	case <-n.p.Done:
	case <-time.After(30 * time.Second):
		_ = n.p.Cmd.Process.Kill()
		<-n.p.Done
		c.t.Errorf("%s did not exit within 30s of %v; log:\n%s", n.name, sig, tail(n.log.String(), 40))
	}
}

// stopAll ends every process: SIGCONT (in case it was paused), then SIGTERM,
// then SIGKILL after 10s.
func (c *haCluster) stopAll() {
	var wg sync.WaitGroup
	stop := func(n *haNode) {
		defer wg.Done()
		if n.p != nil {
			n.p.Stop(10 * time.Second)
		}
	}
	for _, w := range c.workers {
		wg.Add(1)
		go stop(w)
	}
	wg.Wait()
	for _, m := range c.masters {
		wg.Add(1)
		go stop(m)
	}
	wg.Wait()
	if c.t.Failed() || os.Getenv("E2E_HA_LOGS") != "" {
		for _, n := range append(append([]*haNode{}, c.masters...), c.workers...) {
			c.t.Logf("=== log of %s (pids %v), tail:\n%s", n.name, n.pids, tail(n.log.String(), logTailLines()))
		}
	}
}

// logTailLines is how much of each process log a failed test shows
// (E2E_HA_LOG_LINES, default 60).
func logTailLines() int {
	if n, err := strconv.Atoi(os.Getenv("E2E_HA_LOG_LINES")); err == nil && n > 0 {
		return n
	}
	return 60
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// status asks master n for GetStatusOfSelf directly (bounded by 2s).
func (c *haCluster) status(ctx context.Context, n *haNode, digest bool) (*pb.MasterStatus, error) {
	return masterStatus(ctx, n.addr(), digest)
}

func masterStatus(ctx context.Context, addr string, digest bool) (*pb.MasterStatus, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	timeout := 2 * time.Second
	if digest {
		timeout = time.Minute // hashing a large namespace takes a while
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return pb.NewMetaMasterClientServiceClient(cc).GetStatusOfSelf(ctx, &pb.GetStatusOfSelfRequest{WithDigest: digest})
}

// master returns the master whose advertised address is addr, or nil.
func (c *haCluster) master(addr string) *haNode {
	for _, m := range c.masters {
		if m.addr() == addr {
			return m
		}
	}
	return nil
}

// leader returns the master ZooKeeper names as leader if that master itself
// reports role LEADER, with its epoch; nil if there is none right now.
func (c *haCluster) leader(ctx context.Context) (*haNode, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addr, err := c.inquirer.Leader(ctx)
	if err != nil {
		return nil, 0, err
	}
	m := c.master(addr)
	if m == nil {
		return nil, 0, fmt.Errorf("ZooKeeper names %s, which is none of our masters", addr)
	}
	st, err := c.status(ctx, m, false)
	if err != nil {
		return nil, 0, fmt.Errorf("ZooKeeper names %s (%s) but it does not answer: %w", m.name, addr, err)
	}
	if st.GetRole() != "LEADER" {
		return nil, 0, fmt.Errorf("ZooKeeper names %s (%s) but it reports role %q", m.name, addr, st.GetRole())
	}
	return m, st.GetEpoch(), nil
}

// waitLeader polls until a running master other than not leads, as
// published in ZooKeeper and reported by the master itself.
func (c *haCluster) waitLeader(not *haNode) (*haNode, int64) {
	c.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		m, epoch, err := c.leader(context.Background())
		switch {
		case err != nil:
			last = err
		case m == not:
			last = fmt.Errorf("%s still leads", m.name)
		case !m.running():
			last = fmt.Errorf("%s is published but not running", m.name)
		default:
			return m, epoch
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	c.t.Fatalf("no leader (other than %v) within 45s; last: %v", nodeName(not), last)
	return nil, 0
}

func nodeName(n *haNode) string {
	if n == nil {
		return "none"
	}
	return n.name
}

// waitWorkers polls the leader (through the CLI with ZooKeeper inquiry)
// until n workers are live.
func (c *haCluster) waitWorkers(n int) {
	c.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fsys, err := c.client(ctx, nil)
		if err == nil {
			var bi *client.BlockMasterInfo
			bi, err = fsys.GetBlockMasterInfo(ctx)
			fsys.Close()
			if err == nil && bi.LiveWorkers >= n {
				cancel()
				return
			}
			if err == nil {
				err = fmt.Errorf("%d live workers", bi.LiveWorkers)
			}
		}
		cancel()
		last = err.Error()
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	c.t.Fatalf("want %d live workers; last: %s", n, last)
}

// clientConfig is the client configuration (no master address) with extra
// properties on top.
func (c *haCluster) clientConfig(extra map[string]string) (*conf.Config, error) {
	flags := map[string]string{}
	for k, v := range extra {
		flags[k] = v
	}
	return conf.Load(conf.LoadOptions{
		Scope:   conf.ScopeClient,
		ConfDir: c.clientConf,
		Env:     func(string) (string, bool) { return "", false },
		Flags:   flags,
	})
}

// client returns a FileSystem that finds the leader through ZooKeeper, as
// the configuration describes (alluxio.zookeeper.enabled, no master host).
func (c *haCluster) client(ctx context.Context, extra map[string]string, opts ...client.Option) (*client.FileSystem, error) {
	cfg, err := c.clientConfig(extra)
	if err != nil {
		return nil, err
	}
	return client.NewFromConfig(ctx, cfg, opts...)
}

// pinnedClient returns a FileSystem that always talks to addr (no
// ZooKeeper), with a retry budget of budget.
func (c *haCluster) pinnedClient(ctx context.Context, addr string, budget time.Duration) (*client.FileSystem, error) {
	cfg, err := c.clientConfig(map[string]string{
		"alluxio.zookeeper.enabled":           "false",
		"alluxio.user.rpc.retry.max.duration": durationProp(budget),
	})
	if err != nil {
		return nil, err
	}
	return client.NewFromConfig(ctx, cfg, client.WithMasterAddress(addr))
}

// mustClient is client for the test goroutine.
func (c *haCluster) mustClient(extra map[string]string, opts ...client.Option) *client.FileSystem {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fsys, err := c.client(ctx, extra, opts...)
	if err != nil {
		c.t.Fatalf("client with ZooKeeper inquiry: %v", err)
	}
	c.t.Cleanup(func() { fsys.Close() })
	return fsys
}

// journalLine is one line of alluxio-master --dump-journal.
type journalLine = proctest.JournalLine

// waitCaughtUp polls until every running master reports the same
// journal_sequence (no digest: cheap at any namespace size).
func (c *haCluster) waitCaughtUp(limit time.Duration) int64 {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		var seqs []int64
		var desc []string
		ok := true
		for _, m := range c.masters {
			if !m.running() {
				continue
			}
			st, err := c.status(context.Background(), m, false)
			if err != nil {
				ok = false
				desc = append(desc, fmt.Sprintf("%s: %v", m.name, err))
				continue
			}
			seqs = append(seqs, st.GetJournalSequence())
			desc = append(desc, fmt.Sprintf("%s %s seq=%d", m.name, st.GetRole(), st.GetJournalSequence()))
		}
		last = strings.Join(desc, "; ")
		same := ok && len(seqs) > 0
		for _, s := range seqs {
			if s != seqs[0] {
				same = false
			}
		}
		if same {
			return seqs[0]
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	c.t.Fatalf("masters did not reach one journal sequence within %v: %s", limit, last)
	return 0
}

// scanJournal streams alluxio-master --dump-journal, calling fn for every
// line that contains substr (all lines when substr is ""), without holding
// the whole dump in memory.
func (c *haCluster) scanJournal(substr string, fn func(journalLine)) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "alluxio-master"), "--dump-journal")
	cmd.Env = c.envFor(c.masters[0].confDir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if substr != "" && !strings.Contains(line, substr) {
			continue
		}
		ls, err := proctest.ParseJournalDump(line)
		if err != nil {
			c.t.Fatalf("alluxio-master --dump-journal: %v", err)
		}
		for _, l := range ls {
			fn(l)
		}
	}
	if err := cmd.Wait(); err != nil || sc.Err() != nil {
		c.t.Fatalf("alluxio-master --dump-journal: %v %v\nstderr:\n%s", err, sc.Err(), tail(errb.String(), 20))
	}
}

// dumpJournal runs alluxio-master --dump-journal on the shared journal.
func (c *haCluster) dumpJournal() []journalLine {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "alluxio-master"), "--dump-journal")
	cmd.Env = c.envFor(c.masters[0].confDir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("alluxio-master --dump-journal: %v\nstderr:\n%s", err, tail(errb.String(), 20))
	}
	lines, err := proctest.ParseJournalDump(out.String())
	if err != nil {
		c.t.Fatalf("alluxio-master --dump-journal: %v", err)
	}
	return lines
}

func isNewTerm(typ string) bool {
	t := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(typ))
	return t == "newterm" || t == "newtermentry"
}

// checkLinearHistory reports every way lines is not one linear history:
// sequence numbers 1, 2, 3, ... without gaps or repeats, epochs never
// decreasing, and every term (each new epoch) starting with NewTerm.
// It returns the epochs of the terms in order.
func checkLinearHistory(t *testing.T, lines []journalLine) []int64 {
	t.Helper()
	if len(lines) == 0 {
		t.Error("journal dump is empty")
		return nil
	}
	var terms []int64
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 10 {
			t.Errorf("journal history: "+format, args...)
		}
	}
	for i, l := range lines {
		if i == 0 {
			if l.Seq != 1 {
				report("first sequence number is %d, want 1", l.Seq)
			}
		} else {
			prev := lines[i-1]
			if l.Seq != prev.Seq+1 {
				report("sequence %d follows %d (want contiguous, strictly increasing)", l.Seq, prev.Seq)
			}
			if l.Epoch < prev.Epoch {
				report("seq %d has epoch %d after epoch %d (epochs must not decrease)", l.Seq, l.Epoch, prev.Epoch)
			}
		}
		if i == 0 || l.Epoch != lines[i-1].Epoch {
			terms = append(terms, l.Epoch)
			if !isNewTerm(l.Type) {
				report("term of epoch %d starts at seq %d with %s, not NewTerm", l.Epoch, l.Seq, l.Type)
			}
		}
	}
	if bad > 10 {
		t.Errorf("journal history: %d problems in all", bad)
	}
	return terms
}

// waitConverged polls every running master until all report the same
// journal_sequence and state_digest (standbys have caught up), and returns
// that sequence and digest.
func (c *haCluster) waitConverged() (int64, string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var seqs []int64
		var digests []string
		var desc []string
		ok := true
		for _, m := range c.masters {
			if !m.running() {
				continue
			}
			st, err := c.status(context.Background(), m, true)
			if err != nil {
				ok = false
				desc = append(desc, fmt.Sprintf("%s: %v", m.name, err))
				continue
			}
			seqs = append(seqs, st.GetJournalSequence())
			digests = append(digests, st.GetStateDigest())
			desc = append(desc, fmt.Sprintf("%s %s epoch=%d seq=%d digest=%.12s", m.name, st.GetRole(), st.GetEpoch(), st.GetJournalSequence(), st.GetStateDigest()))
		}
		last = strings.Join(desc, "; ")
		if ok && len(seqs) > 0 {
			same := true
			for i := range seqs {
				if seqs[i] != seqs[0] || digests[i] != digests[0] || digests[i] == "" {
					same = false
				}
			}
			if same {
				return seqs[0], digests[0]
			}
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	c.t.Fatalf("masters did not converge on one journal sequence and state digest within 20s: %s", last)
	return 0, ""
}

// checkOneHistory checks the shared journal is one linear history and that
// every running master has replayed all of it into the same state.
func (c *haCluster) checkOneHistory() {
	c.t.Helper()
	seq, digest := c.waitConverged()
	lines := c.dumpJournal()
	terms := checkLinearHistory(c.t, lines)
	if n := len(lines); n > 0 && lines[n-1].Seq != seq {
		c.t.Errorf("journal dump ends at seq %d but the masters report journal_sequence %d", lines[n-1].Seq, seq)
	}
	c.t.Logf("one history: %d entries, terms (epochs) %v, every master at seq %d with digest %.16s", len(lines), terms, seq, digest)
}

func stablePort(t *testing.T) int { return proctest.StablePort(t) }
