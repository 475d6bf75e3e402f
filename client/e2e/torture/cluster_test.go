package torture

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
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

// sessionTimeout is the ZooKeeper session timeout of every process: the
// ensemble runs with tickTime 200ms, so sessions may last 400ms to 4s.
const sessionTimeout = 2 * time.Second

// The harness follows client/e2e's HA harness (ha_cluster_test.go and
// partition_test.go), adapted: three ZooKeeper servers, process logs in
// files (a long run writes a lot), every master in its own network
// namespace when possible, and errors returned rather than fatal where the
// nemesis must carry on or report.

// proc is a daemon process; Done closes when it has exited.
type proc = proctest.Proc

// node is one daemon with its own configuration directory and log file
// (which accumulates across restarts).
type node struct {
	kind    string // "master" or "worker"
	name    string // master0, worker1, ...
	confDir string
	props   map[string]string
	host    string // advertised host
	rpcPort int
	link    *netnsLink // the master's namespace (nil: the test's)
	logPath string
	p       *proc
	pids    []int
	paused  bool
}

func (n *node) addr() string { return net.JoinHostPort(n.host, strconv.Itoa(n.rpcPort)) }

func (n *node) pid() int {
	if n.p == nil {
		return 0
	}
	return n.p.Cmd.Process.Pid
}

func (n *node) running() bool { return n.p != nil && !n.p.Exited() }

// cluster is the torture cluster: three ZooKeeper servers, masters sharing
// one journal folder, workers with their own MEM tier, all on this host.
type cluster struct {
	t          *testing.T
	bin        string
	home       string
	journal    string
	ufs        string
	clientConf string
	zk         *zktest.Ensemble
	zkDown     map[int]bool
	common     map[string]string
	masters    []*node
	workers    []*node
	inquirer   *zkleader.Inquirer
	netns      bool // masters run in network namespaces (the partition fault is possible)
	links      []*netnsLink
	sink       *netnsLink // where a cut master's address is routed (see setCut)
	tiers      []string
	noNetns    string // why not
}

// clusterConfig sizes a cluster.
type clusterConfig struct {
	masters, workers int
	zkServers        int    // default 3
	noNetns          bool   // keep the masters in the test's namespace even as root
	home             string // default t.TempDir()
}

// newCluster starts ZooKeeper, sets up the namespaces, formats the journal
// and writes every node's configuration; it starts no Alluxio process.
func newCluster(t *testing.T, cfg clusterConfig) *cluster {
	masters, workers, home := cfg.masters, cfg.workers, cfg.home
	if home == "" {
		home = t.TempDir()
	}
	if cfg.zkServers == 0 {
		cfg.zkServers = 3
	}
	t.Helper()
	c := &cluster{
		t: t, bin: binaries(t), home: home,
		journal:    filepath.Join(home, "shared-journal"),
		ufs:        filepath.Join(home, "ufs"),
		clientConf: filepath.Join(home, "conf-client"),
		zkDown:     map[int]bool{},
	}
	for _, d := range []string{c.journal, c.ufs, filepath.Join(home, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c.zk = zktest.Start(t, cfg.zkServers, zktest.WithTickTime(200*time.Millisecond))
	c.common = map[string]string{
		"alluxio.zookeeper.enabled":               "true",
		"alluxio.zookeeper.address":               c.zk.ConnectString(),
		"alluxio.zookeeper.session.timeout":       fmt.Sprintf("%dms", sessionTimeout.Milliseconds()),
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
	writeProps(t, c.clientConf, c.common)
	c.inquirer = zkleader.NewInquirer(zkleader.Config{
		Servers:           c.zk.Servers(),
		SessionTimeout:    sessionTimeout,
		ConnectionTimeout: 3 * time.Second,
		InquiryRetry:      -1,
	})
	t.Cleanup(func() { _ = c.inquirer.Close() })
	if why := proctest.NetnsUnavailable(); cfg.noNetns {
		c.noNetns = "not wanted by this test"
	} else if why != "" {
		c.noNetns = why
	} else {
		c.netns = true
	}
	if c.netns {
		l, err := newNetnsLink(t, 9)
		if err != nil {
			t.Fatalf("sink network namespace: %v", err)
		}
		c.sink = l
		c.links = append(c.links, l)
	}
	for i := 0; i < masters; i++ {
		n := c.newNode("master", i, "127.0.0.1")
		if c.netns {
			l, err := newNetnsLink(t, i)
			if err != nil {
				t.Fatalf("network namespace for %s: %v", n.name, err)
			}
			n.link = l
			l.sink = c.sink
			c.links = append(c.links, l)
			n.host = l.NsIP
			n.props["alluxio.master.hostname"] = l.NsIP
			var fwd []string
			for _, s := range c.zk.Servers() {
				fwd = append(fwd, tcpForwarder(t, net.JoinHostPort(l.HostIP, "0"), s))
			}
			n.props["alluxio.zookeeper.address"] = strings.Join(fwd, ",")
			writeProps(t, n.confDir, n.props)
		}
		c.masters = append(c.masters, n)
	}
	for i := 0; i < workers; i++ {
		c.workers = append(c.workers, c.newNode("worker", i, "127.0.0.1"))
	}
	// Cleanups run last-in first-out: processes stop before ZooKeeper and
	// before the namespaces go.
	t.Cleanup(c.stopAll)
	out, err := c.runTool(c.masters[0].confDir, "alluxio-master", "--format")
	if err != nil {
		t.Fatalf("alluxio-master --format: %v\n%s", err, out)
	}
	return c
}

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

func (c *cluster) newNode(kind string, i int, host string) *node {
	c.t.Helper()
	n := &node{kind: kind, name: fmt.Sprintf("%s%d", kind, i), host: host}
	n.confDir = filepath.Join(c.home, "conf-"+n.name)
	n.logPath = filepath.Join(c.home, "logs", n.name+".log")
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
		tier, err := os.MkdirTemp(tierBase, "alluxio-torture-tier")
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { os.RemoveAll(tier) })
		c.tiers = append(c.tiers, tier)
		n.props["alluxio.worker.hostname"] = host
		n.props["alluxio.worker.rpc.port"] = strconv.Itoa(n.rpcPort)
		n.props["alluxio.worker.web.port"] = strconv.Itoa(stablePort(c.t))
		n.props["alluxio.worker.tieredstore.levels"] = "1"
		n.props["alluxio.worker.tieredstore.level0.alias"] = "MEM"
		n.props["alluxio.worker.tieredstore.level0.dirs.path"] = tier
		n.props["alluxio.worker.tieredstore.level0.dirs.quota"] = "256MB"
	}
	writeProps(c.t, n.confDir, n.props)
	return n
}

func (c *cluster) envFor(confDir string) []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "ALLUXIO_") || strings.HasPrefix(e, "OTEL_") {
			continue
		}
		env = append(env, e)
	}
	return append(env, "ALLUXIO_CONF_DIR="+confDir, "ALLUXIO_HOME="+c.home, "ALLUXIO_LOGS_DIR="+filepath.Join(c.home, "logs"))
}

// runTool runs a binary to completion with confDir's configuration and
// returns stdout (stderr is appended when it fails).
func (c *cluster) runTool(confDir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Env = c.envFor(confDir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// start starts n's process (again) and polls until it listens (60s).
func (c *cluster) start(n *node) error {
	if n.running() {
		return fmt.Errorf("%s is already running (pid %d)", n.name, n.pid())
	}
	bin := filepath.Join(c.bin, "alluxio-"+n.kind)
	var cmd *exec.Cmd
	if n.link != nil {
		// ip netns exec execs the binary: the pid is the daemon's.
		cmd = exec.Command("ip", "netns", "exec", n.link.Name, bin)
	} else {
		cmd = exec.Command(bin)
	}
	cmd.Env = c.envFor(n.confDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== torture: starting %s at %s\n", n.name, time.Now().Format("15:04:05.000"))
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := proctest.Start(cmd)
	if err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	go func() { <-p.Done; logf.Close() }()
	n.p, n.paused = p, false
	n.pids = append(n.pids, cmd.Process.Pid)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited during start-up; log:\n%s", n.name, fileTail(n.logPath, 30))
		}
		conn, err := net.DialTimeout("tcp", n.addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	return fmt.Errorf("%s did not listen on %s within 60s; log:\n%s", n.name, n.addr(), fileTail(n.logPath, 30))
}

func (c *cluster) mustStart(n *node) {
	c.t.Helper()
	if err := c.start(n); err != nil {
		c.t.Fatal(err)
	}
}

// signal sends sig to n. SIGKILL and SIGTERM wait for the exit (SIGKILL
// after 30s, reported as an error).
func (c *cluster) signal(n *node, sig syscall.Signal) error {
	if !n.running() {
		return nil
	}
	_ = n.p.Cmd.Process.Signal(sig)
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
		return nil
	case syscall.SIGCONT:
		n.paused = false
		return nil
	case syscall.SIGKILL, syscall.SIGTERM:
	default:
		return nil
	}
	select {
	case <-n.p.Done:
		return nil
	case <-time.After(30 * time.Second):
		_ = n.p.Cmd.Process.Kill()
		<-n.p.Done
		return fmt.Errorf("%s did not exit within 30s of %v; log:\n%s", n.name, sig, fileTail(n.logPath, 30))
	}
}

// stopAll ends every process: SIGCONT, SIGTERM, then SIGKILL after 10s.
func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	stop := func(n *node) {
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
	if c.t.Failed() {
		for _, n := range append(append([]*node{}, c.masters...), c.workers...) {
			c.t.Logf("=== log of %s (pids %v) %s, tail:\n%s", n.name, n.pids, n.logPath, fileTail(n.logPath, 60))
		}
	}
}

// fileTail returns the last n lines of a file.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// masterStatus asks the master at addr for GetStatusOfSelf (bounded by 2s).
func masterStatus(ctx context.Context, addr string, digest bool) (*pb.MasterStatus, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return pb.NewMetaMasterClientServiceClient(cc).GetStatusOfSelf(ctx, &pb.GetStatusOfSelfRequest{WithDigest: digest})
}

func (c *cluster) master(addr string) *node {
	for _, m := range c.masters {
		if m.addr() == addr {
			return m
		}
	}
	return nil
}

// leader returns the master ZooKeeper names as leader if that master
// itself reports role LEADER, with its epoch.
func (c *cluster) leader(ctx context.Context) (*node, int64, error) {
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
	st, err := masterStatus(ctx, m.addr(), false)
	if err != nil {
		return nil, 0, fmt.Errorf("ZooKeeper names %s (%s) but it does not answer: %w", m.name, addr, err)
	}
	if st.GetRole() != "LEADER" {
		return nil, 0, fmt.Errorf("ZooKeeper names %s (%s) but it reports role %q", m.name, addr, st.GetRole())
	}
	return m, st.GetEpoch(), nil
}

// waitLeader polls until a running, unpaused master other than not leads.
func (c *cluster) waitLeader(not *node, limit time.Duration) (*node, int64, error) {
	deadline := time.Now().Add(limit)
	var last error
	for {
		m, epoch, err := c.leader(context.Background())
		switch {
		case err != nil:
			last = err
		case m == not:
			last = fmt.Errorf("%s still leads", m.name)
		case !m.running() || m.paused:
			last = fmt.Errorf("%s is published but not running", m.name)
		default:
			return m, epoch, nil
		}
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("no leader (other than %s) within %v; last: %v", nodeName(not), limit, last)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func nodeName(n *node) string {
	if n == nil {
		return "none"
	}
	return n.name
}

// waitRole polls master m until it reports role (e.g. STANDBY).
func (c *cluster) waitRole(m *node, role string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := masterStatus(context.Background(), m.addr(), false)
		if err == nil && st.GetRole() == role {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not report %s within %v: %v %v", m.name, role, limit, st.GetRole(), err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func (c *cluster) clientConfig(extra map[string]string) (*conf.Config, error) {
	return conf.Load(conf.LoadOptions{
		Scope:   conf.ScopeClient,
		ConfDir: c.clientConf,
		Env:     func(string) (string, bool) { return "", false },
		Flags:   extra,
	})
}

// client returns a FileSystem that finds the leader through ZooKeeper.
func (c *cluster) client(ctx context.Context, extra map[string]string) (*client.FileSystem, error) {
	cfg, err := c.clientConfig(extra)
	if err != nil {
		return nil, err
	}
	return client.NewFromConfig(ctx, cfg)
}

func (c *cluster) mustClient(extra map[string]string) *client.FileSystem {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fsys, err := c.client(ctx, extra)
	if err != nil {
		c.t.Fatalf("client with ZooKeeper inquiry: %v", err)
	}
	c.t.Cleanup(func() { fsys.Close() })
	return fsys
}

// waitWorkers polls the leader until n workers are live.
func (c *cluster) waitWorkers(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fsys, err := c.client(ctx, nil)
		if err == nil {
			var bi *client.BlockMasterInfo
			bi, err = fsys.GetBlockMasterInfo(ctx)
			fsys.Close()
			if err == nil && bi.LiveWorkers >= n {
				cancel()
				return nil
			}
			if err == nil {
				err = fmt.Errorf("%d live workers", bi.LiveWorkers)
			}
		}
		cancel()
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("want %d live workers within %v; last: %v", n, limit, last)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// startAll starts every master, waits for a leader, then the workers.
func (c *cluster) startAll() {
	c.t.Helper()
	for _, m := range c.masters {
		c.mustStart(m)
	}
	if _, _, err := c.waitLeader(nil, 60*time.Second); err != nil {
		c.t.Fatal(err)
	}
	for _, w := range c.workers {
		c.mustStart(w)
	}
	if err := c.waitWorkers(len(c.workers), 60*time.Second); err != nil {
		c.t.Fatal(err)
	}
}

// dumpJournal runs alluxio-master --dump-journal with master m's
// configuration (the shared folder).
func (c *cluster) dumpJournal(m *node) (string, error) {
	return c.runTool(m.confDir, "alluxio-master", "--dump-journal")
}

// converged polls every running master until all report one
// journal_sequence and state_digest; it returns them and a description.
func (c *cluster) converged(limit time.Duration) (int64, string, error) {
	deadline := time.Now().Add(limit)
	var last string
	for {
		var seqs []int64
		var digests []string
		var desc []string
		ok := true
		for _, m := range c.masters {
			if !m.running() {
				continue
			}
			st, err := masterStatus(context.Background(), m.addr(), true)
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
				return seqs[0], digests[0], nil
			}
		}
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("masters did not converge on one journal sequence and state digest within %v: %s", limit, last)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// netnsLink is a network namespace joined to the test's namespace by a veth
// pair (a private /30 of 10.201.0.0/16), with the nemesis's state.
type netnsLink struct {
	*proctest.Netns
	cut  bool
	sink *netnsLink
}

// newNetnsLink creates namespace number i and its veth pair; t.Cleanup
// deletes them (after the processes, registered later, are stopped).
func newNetnsLink(t *testing.T, i int) (*netnsLink, error) {
	id := os.Getpid() % 10000
	n, err := proctest.NewNetns(t, fmt.Sprintf("alluxio-torture-%d-%d", id, i), fmt.Sprintf("axt%dh%d", id, i), fmt.Sprintf("axt%dn%d", id, i), "10.201")
	if err != nil {
		return nil, err
	}
	return &netnsLink{Netns: n}, nil
}

// setCut takes the link down (the namespace is cut off from everything
// else) or brings it back up. While the link is down its connected route is
// gone, and packets to the namespace's address would follow the default
// route (in this sandbox to a gateway that answers any TCP connection with
// HTTP 404): a route through the sink namespace, which forwards nothing,
// drops them silently instead, as a real partition does.
func (l *netnsLink) setCut(cut bool) error {
	if cut {
		if l.sink != nil {
			if _, err := proctest.IPCmd("route", "replace", l.NsIP+"/32", "via", l.sink.NsIP, "dev", l.sink.VethHost); err != nil {
				return err
			}
		}
		if _, err := proctest.IPCmd("link", "set", l.VethHost, "down"); err != nil {
			return err
		}
		l.cut = true
		return nil
	}
	if _, err := proctest.IPCmd("link", "set", l.VethHost, "up"); err != nil {
		return err
	}
	if l.sink != nil {
		if _, err := proctest.IPCmd("route", "del", l.NsIP+"/32", "via", l.sink.NsIP, "dev", l.sink.VethHost); err != nil {
			return err
		}
	}
	l.cut = false
	return nil
}

// tcpForwarder accepts on addr and copies bytes to and from target: it
// lets a master in a namespace reach a ZooKeeper server on loopback.
func tcpForwarder(t *testing.T, addr, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	track := func(c net.Conn, add bool) bool {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-done:
			c.Close()
			return false
		default:
		}
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
		return true
	}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			if !track(in, true) || !track(out, true) {
				in.Close()
				out.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
				track(dst, false)
				track(src, false)
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return ln.Addr().String()
}

// emergencyStop is the last resort of the watchdog (hard deadline, or an
// interrupt), which runs outside the test goroutine: it kills every process
// and deletes the namespaces and tier directories without waiting for
// anything, because t.Cleanup will not run when the test binary dies.
func (c *cluster) emergencyStop() {
	for _, n := range append(append([]*node{}, c.masters...), c.workers...) {
		if p := n.p; p != nil && p.Cmd.Process != nil {
			_ = p.Cmd.Process.Kill()
		}
	}
	c.zk.Stop()
	for _, l := range c.links {
		_, _ = proctest.IPCmd("netns", "del", l.Name)
		_, _ = proctest.IPCmd("link", "del", l.VethHost)
	}
	for _, d := range c.tiers {
		os.RemoveAll(d)
	}
}

// watchdog ends the run at the hard deadline, or on SIGINT/SIGTERM, after
// an emergencyStop; stop disarms it.
func (c *cluster) watchdog(limit time.Duration) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	timer := time.NewTimer(limit)
	go func() {
		select {
		case <-done:
			return
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "torture: %v: killing every process and deleting the namespaces\n", s)
		case <-timer.C:
			fmt.Fprintf(os.Stderr, "torture: hard deadline (%v) passed: killing every process and deleting the namespaces\n", limit)
		}
		c.emergencyStop()
		os.Exit(2)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			timer.Stop()
			signal.Stop(sigs)
		})
	}
}

func binaries(t *testing.T) string { return proctest.Binaries(t) }

func stablePort(t *testing.T) int { return proctest.StablePort(t) }
