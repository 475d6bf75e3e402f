package hdfstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallCommand installs what the harness needs on Debian and Ubuntu.
const InstallCommand = "apt-get install -y openjdk-17-jdk-headless maven"

// Option configures Start.
type Option func(*options)

type options struct {
	startTimeout time.Duration
	conf         []string
	ha           bool
}

// WithStartTimeout bounds how long Start and Restart wait for HDFS to serve
// (default 120s).
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithConf sets a Hadoop configuration key of the cluster (for example
// "dfs.blocksize", "1048576").
func WithConf(key, value string) Option {
	return func(o *options) { o.conf = append(o.conf, "-D"+key+"="+value) }
}

// WithHA starts two NameNodes (nn1 active, nn2 standby, sharing an edits
// directory) forming the HA nameservice "minihdfs": URI is
// "hdfs://minihdfs", HAConfDir holds the client configuration to use as
// HADOOP_CONF_DIR, and Failover switches the active NameNode. Restart is
// not supported with HA.
func WithHA() Option {
	return func(o *options) { o.ha = true }
}

// Cluster is a running single-node HDFS. Its methods are for the test
// goroutine (they call t.Fatalf).
type Cluster struct {
	// URI is the file system's URI, "hdfs://127.0.0.1:PORT".
	URI string
	// NameNodeAddr is the NameNode's RPC address, "127.0.0.1:PORT" (with
	// WithHA, the first NameNode's).
	NameNodeAddr string
	// NameNodeAddrs are the RPC addresses of all NameNodes (two with WithHA).
	NameNodeAddrs []string
	// HAConfDir (WithHA only) holds core-site.xml and hdfs-site.xml that
	// describe the nameservice, for HADOOP_CONF_DIR.
	HAConfDir string
	// Dir holds the cluster's data (Dir/hdfs) and log (Dir/minihdfs.log).
	Dir string
	// StartupTime is how long the last start took, from exec to serving.
	StartupTime time.Duration

	t      testing.TB
	opts   options
	deploy string

	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	exitErr error
}

// Start starts HDFS in a new temporary directory and waits until it serves.
// t.Cleanup stops it. With go test -short it skips the test, as the
// project's other integration tests do.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("hdfstest: starts a real HDFS; skipped with -short (the project's unit-only tier)")
	}
	c := newCluster(t, opts)
	c.Dir = t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hdfstest: last lines of %s:\n%s", c.LogFile(), tail(c.LogFile(), 60))
		}
		c.Stop()
	})
	c.start(0)
	return c
}

// newCluster checks the tools and fetches the jars (failing t with the
// command that fixes a missing piece); it starts nothing.
func newCluster(t testing.TB, opts []Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, opts: options{startTimeout: 120 * time.Second}}
	for _, o := range opts {
		o(&c.opts)
	}
	c.deploy = deployDir(t)
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("hdfstest: %s not found; install it with: %s", tool, InstallCommand)
		}
	}
	fetch := filepath.Join(c.deploy, "fetch.sh")
	if out, err := exec.Command("bash", fetch).CombinedOutput(); err != nil {
		t.Fatalf("hdfstest: %s failed: %v\n%s\nrun it by hand (needs mvn and Maven Central: %s)", fetch, err, out, InstallCommand)
	}
	return c
}

// deployDir finds deploy/hdfs: $ALLUXIO_HDFS_DEPLOY, or the first
// deploy/hdfs with a start.sh above the working directory.
func deployDir(t testing.TB) string {
	if d := os.Getenv("ALLUXIO_HDFS_DEPLOY"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("hdfstest: %v", err)
	}
	for {
		d := filepath.Join(dir, "deploy", "hdfs")
		if _, err := os.Stat(filepath.Join(d, "start.sh")); err == nil {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("hdfstest: no deploy/hdfs/start.sh above the working directory; set ALLUXIO_HDFS_DEPLOY")
		}
		dir = parent
	}
}

// LogFile is the cluster's log (the JVM's standard output and error).
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "minihdfs.log") }

// start runs the launcher on port (0: a free one) and waits for it to serve.
func (c *Cluster) start(port int) {
	c.t.Helper()
	uriFile := filepath.Join(c.Dir, "uri")
	os.Remove(uriFile)
	logf, err := os.OpenFile(c.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatalf("hdfstest: %v", err)
	}
	defer logf.Close()
	args := []string{filepath.Join(c.deploy, "start.sh"), "--foreground", "--port", fmt.Sprint(port), c.Dir}
	if c.opts.ha {
		args = append(args[:len(args)-1], "--ha", c.Dir)
	}
	args = append(args, c.opts.conf...)
	cmd := exec.Command("bash", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		c.t.Fatalf("hdfstest: %v", err)
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("hdfstest: start %v: %v", args, err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.stdin, c.exited, c.exitErr = cmd, stdin, exited, nil
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		close(exited)
	}()

	deadline := time.Now().Add(c.opts.startTimeout)
	for {
		if b, err := os.ReadFile(uriFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			c.setURI(strings.TrimSpace(string(b)))
			break
		}
		select {
		case <-exited:
			c.t.Fatalf("hdfstest: HDFS exited during start-up (%v); last lines of %s:\n%s", c.exitErr, c.LogFile(), tail(c.LogFile(), 60))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			c.t.Fatalf("hdfstest: HDFS did not serve within %v; last lines of %s:\n%s", c.opts.startTimeout, c.LogFile(), tail(c.LogFile(), 60))
		}
	}
	c.StartupTime = time.Since(begin)
	c.t.Logf("hdfstest: HDFS serving at %s after %v (log %s)", c.URI, c.StartupTime.Round(time.Millisecond), c.LogFile())
}

func (c *Cluster) setURI(uri string) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "hdfs" || (u.Port() == "") != c.opts.ha {
		c.t.Fatalf("hdfstest: launcher wrote a bad URI %q", uri)
	}
	c.URI = "hdfs://" + u.Host
	if !c.opts.ha {
		c.NameNodeAddr = u.Host
		c.NameNodeAddrs = []string{u.Host}
		return
	}
	c.HAConfDir = filepath.Join(c.Dir, "conf")
	b, err := os.ReadFile(filepath.Join(c.HAConfDir, "hdfs-site.xml"))
	if err != nil {
		c.t.Fatalf("hdfstest: %v", err)
	}
	c.NameNodeAddrs = nil
	for _, id := range []string{"nn1", "nn2"} {
		key := "<name>dfs.namenode.rpc-address." + u.Host + "." + id + "</name><value>"
		i := strings.Index(string(b), key)
		if i < 0 {
			c.t.Fatalf("hdfstest: %s/hdfs-site.xml has no address of %s", c.HAConfDir, id)
		}
		rest := string(b)[i+len(key):]
		c.NameNodeAddrs = append(c.NameNodeAddrs, rest[:strings.Index(rest, "<")])
	}
	c.NameNodeAddr = c.NameNodeAddrs[0]
}

// Active names the active NameNode of an HA cluster ("nn1" or "nn2").
func (c *Cluster) Active() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "active"))
	return strings.TrimSpace(string(b))
}

// Failover makes the standby NameNode of an HA cluster active (and the
// active one standby), and waits until it is.
func (c *Cluster) Failover() {
	c.t.Helper()
	if !c.opts.ha {
		c.t.Fatalf("hdfstest: Failover needs WithHA")
	}
	before := c.Active()
	c.mu.Lock()
	stdin := c.stdin
	c.mu.Unlock()
	if _, err := io.WriteString(stdin, "failover\n"); err != nil {
		c.t.Fatalf("hdfstest: failover: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for c.Active() == before {
		if time.Now().After(deadline) {
			c.t.Fatalf("hdfstest: failover from %s did not happen within 60s; see %s", before, c.LogFile())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Port is the NameNode's RPC port.
func (c *Cluster) Port() int {
	_, p, _ := net.SplitHostPort(c.NameNodeAddr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

// Running reports whether the cluster's JVM is running.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Stop shuts HDFS down cleanly (SIGTERM; SIGKILL after 30s) and waits for
// the JVM to exit. The data stays; Restart brings it back. Idempotent.
func (c *Cluster) Stop() {
	c.stop(terminateSignal, 30*time.Second)
}

// Kill stops HDFS with SIGKILL, as a crash would, and waits for the exit.
func (c *Cluster) Kill() {
	c.stop(os.Kill, 30*time.Second)
}

func (c *Cluster) stop(sig os.Signal, grace time.Duration) {
	c.mu.Lock()
	cmd, stdin, exited := c.cmd, c.stdin, c.exited
	c.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	if resumeSignal != nil {
		signalGroup(cmd, resumeSignal) // a paused JVM cannot act on SIGTERM
	}
	signalGroup(cmd, sig)
	select {
	case <-exited:
	case <-time.After(grace):
		signalGroup(cmd, os.Kill)
		<-exited
	}
	stdin.Close()
}

// Pause freezes the whole JVM (NameNode and DataNode) with SIGSTOP: its
// sockets stay open, so clients see timeouts rather than refused
// connections, and nothing it holds is lost. Resume continues it.
func (c *Cluster) Pause() {
	c.t.Helper()
	c.signalRunning(pauseSignal, "Pause")
}

// Resume continues a JVM frozen by Pause.
func (c *Cluster) Resume() {
	c.t.Helper()
	c.signalRunning(resumeSignal, "Resume")
}

func (c *Cluster) signalRunning(sig os.Signal, what string) {
	c.t.Helper()
	if sig == nil {
		c.t.Fatalf("hdfstest: %s is not supported on this system", what)
	}
	c.mu.Lock()
	cmd := c.cmd
	c.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("hdfstest: %s: HDFS is not running", what)
	}
	signalGroup(cmd, sig)
}

// Restart stops HDFS and starts it again on the same port with the same
// data, waiting until it serves. Clients that were connected see the
// NameNode go away and come back at the same address.
func (c *Cluster) Restart() {
	c.t.Helper()
	if c.opts.ha {
		c.t.Fatalf("hdfstest: Restart is not supported with WithHA")
	}
	port := c.Port()
	c.Stop()
	c.start(port)
}

// Start starts a stopped cluster again on its port with its data.
func (c *Cluster) Start() {
	c.t.Helper()
	if c.opts.ha {
		c.t.Fatalf("hdfstest: Start after Stop is not supported with WithHA")
	}
	if c.Running() {
		return
	}
	c.start(c.Port())
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
