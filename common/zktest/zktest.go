package zktest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallCommand is the command that installs ZooKeeper and its Java runtime
// on Debian and Ubuntu; the harness names it when either is missing.
const InstallCommand = "apt-get install -y zookeeper"

// mainClass is the server entry point used for standalone and quorum mode.
const mainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

// jarCandidates are where distributions put the ZooKeeper server jar.
var jarCandidates = []string{
	"/usr/share/java/zookeeper.jar",
	"/usr/share/zookeeper/zookeeper.jar",
	"/usr/share/zookeeper/lib/zookeeper.jar",
}

// loggingBindings are SLF4J bindings, in order of preference, so the server's
// log reaches its log file instead of SLF4J's no-op logger. slf4j-simple
// writes to stderr and needs no configuration file.
var loggingBindings = []string{
	"/usr/share/java/slf4j-simple.jar",
}

// Option configures Start.
type Option func(*options)

type options struct {
	tickTime     time.Duration
	startTimeout time.Duration
	jvmOptions   []string
}

// WithTickTime sets the servers' tickTime (default 200ms). Sessions may last
// between 2 and 20 ticks.
func WithTickTime(d time.Duration) Option {
	return func(o *options) { o.tickTime = d }
}

// WithStartTimeout bounds how long Start and StartServer wait for a server
// to serve requests (default 30s).
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithJVMOptions adds options to the java command line (e.g. "-Xmx512m").
func WithJVMOptions(opts ...string) Option {
	return func(o *options) { o.jvmOptions = append(o.jvmOptions, opts...) }
}

// Ensemble is a set of running ZooKeeper servers forming one ensemble (a
// single standalone server when n == 1). Its methods may be called from the
// test goroutine only (they call t.Fatalf).
type Ensemble struct {
	t         testing.TB
	opts      options
	java      string
	classpath []string // without the per-server config directory
	dir       string

	mu      sync.Mutex
	servers []*server
	stopped bool
}

type server struct {
	id           int // myid, 1-based
	dir          string
	cfgPath      string
	logPath      string
	logOffset    int64 // size of the log when the running process was launched
	clientPort   int
	quorumPort   int
	electionPort int

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// Start starts an ensemble of n real ZooKeeper servers and waits until each
// one serves requests. The ensemble is stopped by t.Cleanup; on failure the
// tail of each server's log is written to the test log.
func Start(t testing.TB, n int, opts ...Option) *Ensemble {
	t.Helper()
	if n < 1 {
		t.Fatalf("zktest: ensemble size %d, want >= 1", n)
	}
	o := options{tickTime: 200 * time.Millisecond, startTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	e := newEnsemble(t, n, o)
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(3 * n)
		if err != nil {
			t.Fatalf("zktest: %v", err)
		}
		err = e.startAll(ports)
		if err == nil {
			break
		}
		if errors.Is(err, errBind) && attempt < startAttempts {
			// Another process took a port between the choice and the
			// JVM's bind: start afresh on other ports.
			t.Logf("zktest: %v; starting again on other ports", err)
			e.stopProcesses()
			continue
		}
		t.Fatalf("zktest: %v", err)
	}
	t.Logf("zktest: %d ZooKeeper server(s) serving at %s (logs under %s)", n, strings.Join(e.Servers(), ","), e.dir)
	return e
}

// newEnsemble prepares an ensemble of n servers without starting them.
func newEnsemble(t testing.TB, n int, o options) *Ensemble {
	t.Helper()
	java, cp, err := findRuntime()
	if err != nil {
		t.Fatalf("zktest: %v; install it with: %s", err, InstallCommand)
	}
	e := &Ensemble{t: t, opts: o, java: java, classpath: cp, dir: t.TempDir()}
	t.Cleanup(e.cleanup)
	for i := 0; i < n; i++ {
		s := &server{id: i + 1, dir: filepath.Join(e.dir, fmt.Sprintf("zk%d", i+1))}
		s.cfgPath = filepath.Join(s.dir, "zoo.cfg")
		s.logPath = filepath.Join(s.dir, "zookeeper.log")
		e.servers = append(e.servers, s)
	}
	return e
}

// startAttempts bounds how often Start and StartServer try again after a
// server failed to bind a port.
const startAttempts = 4

// startAll gives the servers the ports (three each: client, quorum,
// election), writes their configurations (with empty data directories),
// launches them and waits until each serves. An error wraps errBind when a
// server could not bind one of its ports.
func (e *Ensemble) startAll(ports []int) error {
	for i, s := range e.servers {
		s.clientPort, s.quorumPort, s.electionPort = ports[3*i], ports[3*i+1], ports[3*i+2]
	}
	for _, s := range e.servers {
		if err := os.RemoveAll(filepath.Join(s.dir, "data")); err != nil {
			return err
		}
		if err := e.writeConfig(s); err != nil {
			return err
		}
	}
	for _, s := range e.servers {
		if err := e.launch(s); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(e.opts.startTimeout)
	for i, s := range e.servers {
		if err := e.waitServing(s, deadline); err != nil {
			return fmt.Errorf("server %d: %w\n%s", i, err, logTail(s.logPath, 40))
		}
	}
	return nil
}

// stopProcesses kills every running server (after a failed start).
func (e *Ensemble) stopProcesses() {
	for _, s := range e.servers {
		e.stop(s, 0)
	}
}

// Servers returns the client addresses ("127.0.0.1:port") of all servers,
// running or not, in server order.
func (e *Ensemble) Servers() []string {
	out := make([]string, len(e.servers))
	for i, s := range e.servers {
		out[i] = s.addr()
	}
	return out
}

// ConnectString returns the servers joined by commas, as
// alluxio.zookeeper.address expects them.
func (e *Ensemble) ConnectString() string { return strings.Join(e.Servers(), ",") }

// LogFile returns the path of server i's log file.
func (e *Ensemble) LogFile(i int) string { return e.server(i).logPath }

// StopServer stops server i (SIGTERM, then SIGKILL after 5s) and waits for
// the process to exit. Client sessions survive in the ensemble and expire
// after their timeout unless the clients reconnect elsewhere.
func (e *Ensemble) StopServer(i int) {
	e.t.Helper()
	e.stop(e.server(i), 5*time.Second)
}

// KillServer kills server i with SIGKILL, as a crash would.
func (e *Ensemble) KillServer(i int) {
	e.t.Helper()
	e.stop(e.server(i), 0)
}

// StartServer starts server i again (with its existing data) and waits
// until it serves requests.
func (e *Ensemble) StartServer(i int) {
	e.t.Helper()
	s := e.server(i)
	e.mu.Lock()
	running := s.cmd != nil
	e.mu.Unlock()
	if running {
		e.t.Fatalf("zktest: server %d is already running", i)
	}
	for attempt := 1; ; attempt++ {
		if err := e.launch(s); err != nil {
			e.t.Fatalf("zktest: %v", err)
		}
		err := e.waitServing(s, time.Now().Add(e.opts.startTimeout))
		if err == nil {
			return
		}
		if errors.Is(err, errBind) && attempt < startAttempts {
			// The ports are fixed (clients know them): wait until they
			// are free again, then start again.
			e.t.Logf("zktest: server %d: %v; starting again once its ports are free", i, err)
			e.stop(s, 0)
			waitPortsFree(s, 5*time.Second)
			continue
		}
		e.t.Fatalf("zktest: server %d: %v\n%s", i, err, logTail(s.logPath, 40))
	}
}

// waitPortsFree polls until every port of s accepts a listener, or timeout
// passes.
func waitPortsFree(s *server, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, p := range []int{s.clientPort, s.quorumPort, s.electionPort} {
		for time.Now().Before(deadline) {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				l.Close()
				break
			}
			time.Sleep(50 * time.Millisecond) // poll interval
		}
	}
}

// Stop stops every server. It is idempotent and registered with t.Cleanup.
func (e *Ensemble) Stop() {
	e.mu.Lock()
	e.stopped = true
	servers := append([]*server(nil), e.servers...)
	e.mu.Unlock()
	for _, s := range servers {
		e.stop(s, 5*time.Second)
	}
}

func (e *Ensemble) cleanup() {
	e.Stop()
	if e.t.Failed() {
		for i, s := range e.servers {
			e.t.Logf("zktest: server %d log %s (tail):\n%s", i, s.logPath, logTail(s.logPath, 60))
		}
	}
}

func (e *Ensemble) server(i int) *server {
	e.t.Helper()
	if i < 0 || i >= len(e.servers) {
		e.t.Fatalf("zktest: no server %d in an ensemble of %d", i, len(e.servers))
	}
	return e.servers[i]
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.clientPort) }

func (e *Ensemble) writeConfig(s *server) error {
	dataDir := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	tick := e.opts.tickTime.Milliseconds()
	if tick < 1 {
		tick = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=%d\n", tick)
	fmt.Fprintf(&b, "initLimit=%d\n", 20)
	fmt.Fprintf(&b, "syncLimit=%d\n", 10)
	fmt.Fprintf(&b, "dataDir=%s\n", dataDir)
	fmt.Fprintf(&b, "clientPort=%d\n", s.clientPort)
	fmt.Fprintf(&b, "clientPortAddress=127.0.0.1\n")
	fmt.Fprintf(&b, "maxClientCnxns=0\n")
	fmt.Fprintf(&b, "admin.enableServer=false\n")
	fmt.Fprintf(&b, "4lw.commands.whitelist=*\n")
	fmt.Fprintf(&b, "autopurge.purgeInterval=0\n")
	if len(e.servers) > 1 {
		for _, p := range e.servers {
			fmt.Fprintf(&b, "server.%d=127.0.0.1:%d:%d\n", p.id, p.quorumPort, p.electionPort)
		}
	}
	if err := os.WriteFile(s.cfgPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, "myid"), []byte(fmt.Sprintf("%d\n", s.id)), 0o644)
}

func (e *Ensemble) launch(s *server) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return errors.New("ensemble is stopped")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if st, err := logf.Stat(); err == nil {
		s.logOffset = st.Size()
	}
	fmt.Fprintf(logf, "=== zktest: starting server %d at %s\n", s.id, time.Now().Format(time.RFC3339Nano))
	cp := strings.Join(append([]string{s.dir}, e.classpath...), string(os.PathListSeparator))
	args := []string{
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.net.preferIPv4Stack=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
	}
	args = append(args, e.opts.jvmOptions...)
	args = append(args, "-cp", cp, mainClass, s.cfgPath)
	cmd := exec.Command(e.java, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", e.java, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		err := cmd.Wait()
		logf.Close()
		e.mu.Lock()
		s.err = err
		e.mu.Unlock()
		close(done)
	}()
	return nil
}

// stop signals the server (SIGKILL at once when grace is 0) and waits for it.
func (e *Ensemble) stop(s *server, grace time.Duration) {
	e.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	if grace > 0 {
		_ = cmd.Process.Signal(terminateSignal)
		select {
		case <-done:
			return
		case <-time.After(grace):
		}
	}
	_ = cmd.Process.Kill()
	<-done
}

// waitServing polls until the server answers ruok with imok and srvr with a
// Mode line, or the deadline passes, or the process exits. When the server's
// log reports that a port was in use, the error wraps errBind.
func (e *Ensemble) waitServing(s *server, deadline time.Time) error {
	e.mu.Lock()
	done, offset := s.done, s.logOffset
	e.mu.Unlock()
	var last string
	for {
		select {
		case <-done:
			e.mu.Lock()
			err := s.err
			e.mu.Unlock()
			if bindFailed(s.logPath, offset) {
				return fmt.Errorf("process exited (%v) at %s: a port was in use: %w", err, s.addr(), errBind)
			}
			return fmt.Errorf("process exited (%v) before serving at %s", err, s.addr())
		default:
		}
		if r, err := FourLetterWord(s.addr(), "ruok", time.Second); err == nil && strings.TrimSpace(r) == "imok" {
			r, err := FourLetterWord(s.addr(), "srvr", time.Second)
			if err == nil && strings.Contains(r, "Mode:") {
				return nil
			}
			last = strings.TrimSpace(r)
			if err != nil {
				last = err.Error()
			}
		} else if err != nil {
			last = err.Error()
		} else {
			last = r
		}
		// A quorum or election port in use does not end the process; it
		// logs the failure and never serves.
		if bindFailed(s.logPath, offset) {
			return fmt.Errorf("not serving at %s: a port was in use: %w", s.addr(), errBind)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving at %s after %v (last answer: %q)", s.addr(), e.opts.startTimeout, last)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// bindFailed reports whether the log, from offset on (the current
// process's part), says that a port could not be bound.
func bindFailed(logPath string, offset int64) bool {
	f, err := os.Open(logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("Address already in use")) || bytes.Contains(b, []byte("BindException"))
}

// FourLetterWord sends a ZooKeeper four-letter command (ruok, srvr, mntr,
// cons, ...) to addr and returns the answer.
func FourLetterWord(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// findRuntime locates java and builds the server classpath (without the
// configuration directory, which comes first and differs per server).
func findRuntime() (string, []string, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/java"); serr != nil {
			return "", nil, errors.New("java not found in PATH")
		}
		java = "/usr/bin/java"
	}
	jar := os.Getenv("ZOOKEEPER_JAR")
	if jar == "" {
		for _, c := range jarCandidates {
			if fileExists(c) {
				jar = c
				break
			}
		}
		if jar == "" {
			return "", nil, fmt.Errorf("ZooKeeper server jar not found (looked for %s; set ZOOKEEPER_JAR to override)", strings.Join(jarCandidates, ", "))
		}
	} else if !fileExists(jar) {
		return "", nil, fmt.Errorf("ZOOKEEPER_JAR=%s does not exist", jar)
	}
	cp := []string{jar}
	seen := map[string]bool{jar: true}
	add := func(p string) {
		if p != "" && !seen[p] && fileExists(p) {
			seen[p] = true
			cp = append(cp, p)
		}
	}
	deps, err := manifestClassPath(jar)
	if err != nil {
		return "", nil, err
	}
	if len(deps) == 0 {
		// An upstream tarball layout: the dependencies sit next to the jar.
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(jar), "*.jar"))
		deps = matches
	}
	for _, d := range deps {
		add(d)
	}
	hasBinding := false
	for _, p := range cp {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "slf4j-simple") || strings.HasPrefix(base, "slf4j-log4j12") ||
			strings.HasPrefix(base, "logback-classic") || strings.HasPrefix(base, "slf4j-reload4j") {
			hasBinding = true
		}
	}
	if !hasBinding {
		for _, b := range loggingBindings {
			if fileExists(b) {
				add(b)
				break
			}
		}
	}
	for _, p := range filepath.SplitList(os.Getenv("ZOOKEEPER_CLASSPATH")) {
		add(p)
	}
	return java, cp, nil
}

// manifestClassPath returns the existing files named by the jar manifest's
// Class-Path attribute (how the Debian package records the dependencies).
func manifestClassPath(jar string) ([]string, error) {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", jar, err)
	}
	defer zr.Close()
	var manifest []byte
	for _, f := range zr.File {
		if f.Name != "META-INF/MANIFEST.MF" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		manifest, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if manifest == nil {
		return nil, nil
	}
	// Manifest lines are wrapped at 72 bytes; a continuation starts with a space.
	var attrs []string
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, " ") && len(attrs) > 0 {
			attrs[len(attrs)-1] += line[1:]
			continue
		}
		attrs = append(attrs, line)
	}
	var out []string
	for _, a := range attrs {
		v, ok := strings.CutPrefix(a, "Class-Path:")
		if !ok {
			continue
		}
		for _, p := range strings.Fields(v) {
			p = strings.TrimPrefix(p, "file:")
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(jar), p)
			}
			if fileExists(p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// logTail returns the last n lines of a log file.
func logTail(path string, n int) string {
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
