package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client/e2e/internal/proctest"
)

// cluster is one master and one worker run as processes, with their own
// configuration directory, journal, UFS and tier directories.
type cluster struct {
	t       *testing.T
	bin     string
	home    string
	confDir string
	journal string
	ufs     string
	tier    string
	props   map[string]string
	master  *proc
	worker  *proc
	logs    map[string]*proctest.SyncBuffer
}

func newCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	home := t.TempDir()
	tierBase := "/dev/shm"
	if _, err := os.Stat(tierBase); err != nil {
		tierBase = home
	}
	tier, err := os.MkdirTemp(tierBase, "alluxio-e2e-tier")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tier) })
	c := &cluster{
		t: t, bin: binaries(t), home: home,
		confDir: filepath.Join(home, "conf"),
		journal: filepath.Join(home, "journal"),
		ufs:     filepath.Join(home, "ufs"),
		tier:    tier,
		logs:    map[string]*proctest.SyncBuffer{},
	}
	c.props = map[string]string{
		"alluxio.master.hostname":                      "127.0.0.1",
		"alluxio.master.rpc.port":                      fmt.Sprint(stablePort(t)),
		"alluxio.master.web.port":                      fmt.Sprint(stablePort(t)),
		"alluxio.master.journal.folder":                c.journal,
		"alluxio.master.mount.table.root.ufs":          c.ufs,
		"alluxio.worker.hostname":                      "127.0.0.1",
		"alluxio.worker.rpc.port":                      fmt.Sprint(stablePort(t)),
		"alluxio.worker.web.port":                      fmt.Sprint(stablePort(t)),
		"alluxio.worker.tieredstore.levels":            "1",
		"alluxio.worker.tieredstore.level0.alias":      "MEM",
		"alluxio.worker.tieredstore.level0.dirs.path":  tier,
		"alluxio.worker.tieredstore.level0.dirs.quota": "256MB",
		"alluxio.worker.block.heartbeat.interval":      "200ms",
		"alluxio.user.block.size.bytes.default":        "4MB",
		"alluxio.user.rpc.retry.max.duration":          "20s",
	}
	for k, v := range extra {
		c.props[k] = v
	}
	if err := os.MkdirAll(c.ufs, 0o755); err != nil {
		t.Fatal(err)
	}
	c.writeConf()
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) writeConf() {
	c.t.Helper()
	var b strings.Builder
	for k, v := range c.props {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if err := os.MkdirAll(c.confDir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.confDir, "alluxio-site.properties"), []byte(b.String()), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) env() []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "ALLUXIO_") {
			continue
		}
		env = append(env, e)
	}
	return append(env, "ALLUXIO_CONF_DIR="+c.confDir, "ALLUXIO_HOME="+c.home, "ALLUXIO_LOGS_DIR="+filepath.Join(c.home, "logs"))
}

// cli runs bin/alluxio with args and returns stdout, stderr and the exit code.
func (c *cluster) cli(args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "alluxio"), args...)
	cmd.Env = c.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("alluxio %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// ok runs the CLI and fails the test unless it exits 0.
func (c *cluster) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.cli(args...)
	if code != 0 {
		c.t.Fatalf("alluxio %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fails runs the CLI, expects a non-zero exit and one line on stderr, and returns it.
func (c *cluster) fails(args ...string) string {
	c.t.Helper()
	out, errs, code := c.cli(args...)
	if code == 0 {
		c.t.Fatalf("alluxio %s: want failure, got exit 0\nstdout: %s", strings.Join(args, " "), out)
	}
	line := strings.TrimRight(errs, "\n")
	if line == "" || strings.Contains(line, "\n") {
		c.t.Fatalf("alluxio %s: want exactly one line on stderr, got %q", strings.Join(args, " "), errs)
	}
	return line
}

// proc is a daemon process with its output.
type proc struct {
	*proctest.Proc
	log *proctest.SyncBuffer
}

// run starts bin/alluxio-<name> with extra arguments.
func (c *cluster) run(name string, args ...string) *proc {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "alluxio-"+name), args...)
	cmd.Env = c.env()
	log := &proctest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	pp, err := proctest.Start(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	return &proc{Proc: pp, log: log}
}

func (c *cluster) start(name string) *proc {
	c.t.Helper()
	p := c.run(name)
	c.logs[name] = p.log
	return p
}

func (c *cluster) startMaster() {
	c.t.Helper()
	c.master = c.start("master")
	c.waitPort(c.props["alluxio.master.rpc.port"], c.master, "master")
}

func (c *cluster) startWorker() {
	c.t.Helper()
	c.worker = c.start("worker")
	c.waitPort(c.props["alluxio.worker.rpc.port"], c.worker, "worker")
}

func (c *cluster) waitPort(port string, p *proc, name string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			break
		}
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s did not listen on %s; log:\n%s", name, port, c.logs[name])
}

// waitWorkers polls fsadmin report until n workers are live.
func (c *cluster) waitWorkers(n int) {
	c.t.Helper()
	want := fmt.Sprintf("Live Workers: %d", n)
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		out, errs, code := c.cli("fsadmin", "report")
		last = out + errs
		if code == 0 && strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("want %q in fsadmin report; last output:\n%s\nworker log:\n%s", want, last, c.logs["worker"])
}

// kill signals p and waits for it to exit; after 30s it kills it and fails.
func (c *cluster) kill(p *proc, sig syscall.Signal) {
	c.t.Helper()
	if p == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.Done:
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.Done
		c.t.Errorf("process did not exit within 30s of %v", sig)
	}
}

func (c *cluster) stopAll() {
	c.kill(c.worker, syscall.SIGTERM)
	c.kill(c.master, syscall.SIGTERM)
}

func binaries(t *testing.T) string { return proctest.Binaries(t) }

func freePort(t *testing.T) int { return proctest.FreePort(t) }
