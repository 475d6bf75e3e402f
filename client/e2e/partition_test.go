package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/e2e/internal/proctest"
	"github.com/alluxio-go/alluxio/common/conf"
)

// netnsLink is a network namespace joined to the test's namespace by a veth
// pair, on a private /30 of 10.200.0.0/16.
type netnsLink struct{ *proctest.Netns }

// newNetnsLink creates the namespace and veth pair, or skips the test with
// the reason when that is impossible here (not root, no ip(8), no netns
// support). The namespace and the veth pair are deleted by t.Cleanup, which
// runs after the cleanups registered later (the processes).
func newNetnsLink(t *testing.T) *netnsLink {
	t.Helper()
	if why := proctest.NetnsUnavailable(); why != "" {
		t.Skip(why)
	}
	id := os.Getpid() % 10000
	n, err := proctest.NewNetns(t, fmt.Sprintf("alluxio-e2e-%d", id), fmt.Sprintf("alxe%dh", id), fmt.Sprintf("alxe%dn", id), "10.200")
	if errors.Is(err, proctest.ErrNoNetns) {
		t.Skipf("this machine cannot run the partition test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &netnsLink{n}
}

// cut takes the link down: the namespace is cut off from everything else.
func (l *netnsLink) cut(t *testing.T) {
	t.Helper()
	if _, err := proctest.IPCmd("link", "set", l.VethHost, "down"); err != nil {
		t.Fatal(err)
	}
}

// heal brings the link back up.
func (l *netnsLink) heal(t *testing.T) {
	t.Helper()
	if _, err := proctest.IPCmd("link", "set", l.VethHost, "up"); err != nil {
		t.Fatal(err)
	}
}

// tcpForwarder accepts on addr and copies bytes to and from target: it lets
// a process in the namespace reach ZooKeeper, which listens on loopback.
func tcpForwarder(t *testing.T, addr, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
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
			mu.Lock()
			select {
			case <-done:
				in.Close()
				out.Close()
			default:
				conns = append(conns, in, out)
			}
			mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestIntegrationPartition puts the leader master in its own network
// namespace, joined to the rest (ZooKeeper, the other masters, the workers,
// the clients) by a veth pair, then cuts the link: the isolated leader loses
// leadership, a new leader serves the clients it can reach, and after the
// link heals there is one leader and one history.
func TestIntegrationPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	link := newNetnsLink(t)
	c := newHACluster(t, haConfig{masters: 3, workers: 2})
	iso := c.masters[0]
	iso.netns = link.Name
	iso.host = link.NsIP
	iso.props["alluxio.master.hostname"] = link.NsIP
	iso.props["alluxio.zookeeper.address"] = tcpForwarder(t, net.JoinHostPort(link.HostIP, "0"), c.zk.Servers()[0])
	c.rewrite(iso)

	// The namespaced master starts alone, so it becomes the leader.
	c.start(iso)
	if m, _ := c.waitLeader(nil); m != iso {
		t.Fatalf("want %s (in namespace %s) to lead, got %s", iso.name, link.Name, m.name)
	}
	for _, m := range c.masters[1:] {
		c.start(m)
	}
	for _, w := range c.workers {
		c.start(w)
	}
	c.waitWorkers(len(c.workers))
	_, isoEpoch := c.waitLeader(nil)
	fsys := c.mustClient(nil)
	ctx := context.Background()
	if err := fsys.CreateDirectory(ctx, "/part", client.Recursive()); err != nil {
		t.Fatalf("mkdir before the partition: %v", err)
	}
	for i := 0; i < 5; i++ {
		p := fmt.Sprintf("/part/before-%d", i)
		if err := createFile(ctx, fsys, p, fileContent(0, i), client.CacheThrough); err != nil {
			t.Fatalf("create %s before the partition: %v", p, err)
		}
	}

	// A client inside the namespace writes to the isolated leader (pinned
	// to its address) throughout the cut: whatever it acknowledges must
	// survive the partition.
	nsWriter := startNamespaceWriter(t, link, iso.addr(), "/part/iso", 10*time.Second)
	nsWriter.waitOK(t, 3, 20*time.Second)

	link.cut(t)
	cut := time.Now()
	next, nextEpoch := c.waitLeader(iso)
	newLeaderSeen := time.Now()
	t.Logf("link cut; %s (root namespace) leads with epoch %d (was %s epoch %d) after %v",
		next.name, nextEpoch, iso.name, isoEpoch, time.Since(cut).Round(time.Millisecond))
	if nextEpoch <= isoEpoch {
		t.Errorf("new epoch %d not greater than the isolated leader's %d", nextEpoch, isoEpoch)
	}
	// Block locations come from worker registrations: the workers, cut off
	// from their leader, must find and register with the new one.
	reg := time.Now()
	c.waitWorkers(len(c.workers))
	t.Logf("both workers registered with %s %v after it was elected", next.name, time.Since(reg).Round(time.Millisecond))
	// The clients that reach the new leader are served: writes and reads.
	var records []opRecord
	for i := 0; i < 10; i++ {
		p := fmt.Sprintf("/part/during-%d", i)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := createFile(cctx, fsys, p, fileContent(1, i), client.CacheThrough)
		cancel()
		records = append(records, opRecord{kind: "create", path: p, content: fileContent(1, i), outcome: classify(err), err: err, end: time.Now()})
		if err != nil {
			t.Errorf("create %s during the partition: %v", p, err)
		}
	}
	// The isolated master, asked from inside its namespace, no longer leads.
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The test process cannot reach it while the link is down: ask
		// from inside its namespace.
		st, err := isolatedRole(ctx, c, link, iso)
		if err == nil && st != "LEADER" {
			t.Logf("isolated %s reports role %s %v after the cut", iso.name, st, time.Since(cut).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("isolated %s still reports %q (err %v) 30s after the cut", iso.name, st, err)
			break
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}

	link.heal(t)
	healed := time.Now()
	deadline = time.Now().Add(45 * time.Second)
	for {
		st, err := c.status(ctx, iso, false)
		if err == nil && st.GetRole() == "STANDBY" {
			t.Logf("%s rejoined as STANDBY %v after healing", iso.name, time.Since(healed).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not rejoin as STANDBY within 45s of healing: %v %v", iso.name, st, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	leaders := 0
	for _, m := range c.masters {
		if st, err := c.status(ctx, m, false); err == nil && st.GetRole() == "LEADER" {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d masters report LEADER after healing, want 1", leaders)
	}
	c.waitLeader(nil)
	isoRecords := nsWriter.wait(t)
	var lastAck time.Time
	for _, r := range isoRecords {
		if r.outcome == opOK && r.end.After(lastAck) {
			lastAck = r.end
		}
	}
	t.Logf("client in the namespace: last write acknowledged by the isolated leader %v after the cut (negative: before)", lastAck.Sub(cut).Round(time.Millisecond))
	if lastAck.After(newLeaderSeen) {
		t.Errorf("the isolated leader acknowledged a write %v after the new leader %s was serving: two leaders acknowledged at once",
			lastAck.Sub(newLeaderSeen).Round(time.Millisecond), next.name)
	}
	verifyRecords(t, fsys, append(records, isoRecords...))
	c.checkOneHistory()
}

// isolatedRole asks master m in the namespace for its role from inside the
// namespace: it runs this test binary there with E2E_STATUS_PROBE=host:port
// (see TestStatusProbeHelper).
func isolatedRole(ctx context.Context, c *haCluster, link *netnsLink, m *haNode) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", link.Name, self, "-test.run=^TestStatusProbeHelper$")
	cmd.Env = append(os.Environ(), "E2E_STATUS_PROBE="+m.addr())
	out, err := cmd.CombinedOutput()
	s := string(out)
	if i := strings.Index(s, "ROLE="); i >= 0 {
		role := strings.Fields(s[i+len("ROLE="):])
		if len(role) > 0 {
			return role[0], nil
		}
	}
	if err == nil {
		err = fmt.Errorf("no ROLE= in probe output")
	}
	return "", fmt.Errorf("status probe in %s: %v: %s", link.Name, err, tail(s, 5))
}

// TestStatusProbeHelper is not a test: isolatedRole runs the test binary
// with E2E_STATUS_PROBE=host:port inside a network namespace, and this
// prints that master's role.
func TestStatusProbeHelper(t *testing.T) {
	addr := os.Getenv("E2E_STATUS_PROBE")
	if addr == "" {
		t.Skip("helper for TestIntegrationPartition")
	}
	st, err := masterStatus(context.Background(), addr, false)
	if err != nil {
		fmt.Printf("ERR=%v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ROLE=%s\n", st.GetRole())
	os.Exit(0)
}

// namespaceWriter is TestNamespaceWriterHelper running inside a network
// namespace: it creates directories one after another on one master and
// prints each outcome.
type namespaceWriter struct {
	cmd  *exec.Cmd
	out  *proctest.SyncBuffer
	done chan struct{}
}

func startNamespaceWriter(t *testing.T, link *netnsLink, addr, prefix string, d time.Duration) *namespaceWriter {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &namespaceWriter{out: &proctest.SyncBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command("ip", "netns", "exec", link.Name, self, "-test.run=^TestNamespaceWriterHelper$")
	w.cmd.Env = append(os.Environ(), "E2E_NS_WRITER="+addr, "E2E_NS_WRITER_PREFIX="+prefix, "E2E_NS_WRITER_FOR="+d.String())
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

// waitOK polls until the writer has n acknowledged writes.
func (w *namespaceWriter) waitOK(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for strings.Count(w.out.String(), "\nOK ")+boolInt(strings.HasPrefix(w.out.String(), "OK ")) < n {
		select {
		case <-w.done:
			t.Fatalf("writer in the namespace exited early:\n%s", tail(w.out.String(), 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer in the namespace: fewer than %d writes acknowledged in %v:\n%s", n, limit, tail(w.out.String(), 20))
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wait waits for the writer to finish and returns its operations.
func (w *namespaceWriter) wait(t *testing.T) []opRecord {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("writer in the namespace did not finish")
	}
	var recs []opRecord
	for _, l := range strings.Split(w.out.String(), "\n") {
		f := strings.SplitN(l, " ", 5)
		if len(f) < 4 || (f[0] != "OK" && f[0] != "FAILED" && f[0] != "INDETERMINATE") {
			continue
		}
		start, err1 := strconv.ParseInt(f[2], 10, 64)
		end, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		r := opRecord{kind: "mkdir", path: f[1], start: time.Unix(0, start), end: time.Unix(0, end)}
		switch f[0] {
		case "OK":
			r.outcome = opOK
		case "FAILED":
			r.outcome = opFailed
		default:
			r.outcome = opIndeterminate
		}
		if len(f) == 5 {
			r.err = errors.New(f[4])
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		t.Fatalf("writer in the namespace reported nothing:\n%s", tail(w.out.String(), 20))
	}
	return recs
}

// TestNamespaceWriterHelper is not a test: startNamespaceWriter runs the
// test binary with E2E_NS_WRITER=host:port inside a network namespace, and
// this writes to that master for E2E_NS_WRITER_FOR, printing
// "<OK|FAILED|INDETERMINATE> <path> <start ns> <end ns> [error]" per write.
func TestNamespaceWriterHelper(t *testing.T) {
	addr := os.Getenv("E2E_NS_WRITER")
	if addr == "" {
		t.Skip("helper for TestIntegrationPartition")
	}
	d, err := time.ParseDuration(os.Getenv("E2E_NS_WRITER_FOR"))
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	cfg, err := conf.FromMap(map[string]string{
		"alluxio.zookeeper.enabled":           "false",
		"alluxio.user.rpc.retry.max.duration": "1s",
		"alluxio.user.rpc.retry.max.sleep":    "100ms",
	})
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	ctx := context.Background()
	fsys, err := client.NewFromConfig(ctx, cfg, client.WithMasterAddress(addr))
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(1)
	}
	prefix := os.Getenv("E2E_NS_WRITER_PREFIX")
	stop := time.Now().Add(d)
	for i := 0; time.Now().Before(stop) && i < 100000; i++ {
		p := fmt.Sprintf("%s-%05d", prefix, i)
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fsys.CreateDirectory(cctx, p)
		cancel()
		end := time.Now()
		word := map[outcome]string{opOK: "OK", opFailed: "FAILED", opIndeterminate: "INDETERMINATE"}[classify(err)]
		msg := ""
		if err != nil {
			msg = " " + strings.ReplaceAll(err.Error(), "\n", " ")
			time.Sleep(20 * time.Millisecond) // no hot loop
		}
		fmt.Printf("%s %s %d %d%s\n", word, p, start.UnixNano(), end.UnixNano(), msg)
	}
	fsys.Close()
	os.Exit(0)
}
