package hostile

import (
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

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// cluster is one master and one worker process with a private configuration
// directory, journal, UFS and tier directory.
type cluster struct {
	t       *testing.T
	bin     string
	home    string
	confDir string
	ufs     string
	tier    string
	props   map[string]string
	master  *proc
	worker  *proc
}

// proc is a daemon process with its name and output.
type proc struct {
	*proctest.Proc
	name string
	log  *proctest.SyncBuffer
}

func newCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	home := t.TempDir()
	tier := filepath.Join(home, "tier")
	c := &cluster{
		t: t, bin: binaries(t), home: home,
		confDir: filepath.Join(home, "conf"),
		ufs:     filepath.Join(home, "ufs"),
		tier:    tier,
	}
	c.props = map[string]string{
		"alluxio.master.hostname":                      "127.0.0.1",
		"alluxio.master.rpc.port":                      fmt.Sprint(freePort(t)),
		"alluxio.master.web.port":                      fmt.Sprint(freePort(t)),
		"alluxio.master.journal.folder":                filepath.Join(home, "journal"),
		"alluxio.master.mount.table.root.ufs":          c.ufs,
		"alluxio.worker.hostname":                      "127.0.0.1",
		"alluxio.worker.rpc.port":                      fmt.Sprint(freePort(t)),
		"alluxio.worker.web.port":                      fmt.Sprint(freePort(t)),
		"alluxio.worker.tieredstore.levels":            "1",
		"alluxio.worker.tieredstore.level0.alias":      "MEM",
		"alluxio.worker.tieredstore.level0.dirs.path":  tier,
		"alluxio.worker.tieredstore.level0.dirs.quota": "32MB",
		"alluxio.worker.block.heartbeat.interval":      "200ms",
		"alluxio.user.block.size.bytes.default":        "4MB",
		"alluxio.user.rpc.retry.max.duration":          "10s",
	}
	for k, v := range extra {
		c.props[k] = v
	}
	for _, d := range []string{c.ufs, c.tier, c.confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for k, v := range c.props {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if err := os.WriteFile(filepath.Join(c.confDir, "alluxio-site.properties"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) masterAddr() string { return "127.0.0.1:" + c.props["alluxio.master.rpc.port"] }
func (c *cluster) workerAddr() string { return "127.0.0.1:" + c.props["alluxio.worker.rpc.port"] }

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

// cli runs bin/alluxio with args and returns its combined output and error.
func (c *cluster) cli(args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "alluxio"), args...)
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ok runs the CLI and fails the test unless it exits 0.
func (c *cluster) ok(args ...string) string {
	c.t.Helper()
	out, err := c.cli(args...)
	if err != nil {
		c.t.Fatalf("alluxio %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) start(name, port string) *proc {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "alluxio-"+name))
	cmd.Env = c.env()
	log := &proctest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	pp, err := proctest.Start(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	p := &proc{Proc: pp, name: name, log: log}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !p.Exited() {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s did not listen on %s; log:\n%s", name, port, p.log)
	return nil
}

func (c *cluster) startMaster() {
	c.t.Helper()
	c.master = c.start("master", c.props["alluxio.master.rpc.port"])
}

func (c *cluster) startWorker() {
	c.t.Helper()
	c.worker = c.start("worker", c.props["alluxio.worker.rpc.port"])
}

// alive fails the test if a process has exited.
func (c *cluster) alive() {
	c.t.Helper()
	for _, p := range []*proc{c.master, c.worker} {
		if p != nil && p.Exited() {
			c.t.Fatalf("%s exited (%v); log:\n%s", p.name, p.Cmd.ProcessState, p.log)
		}
	}
}

func (c *cluster) stop(p *proc) {
	if p == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(20 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.Done
		c.t.Errorf("%s did not exit within 20s of SIGTERM", p.name)
	}
}

func (c *cluster) stopAll() {
	c.stop(c.worker)
	c.stop(c.master)
	if c.t.Failed() {
		for _, p := range []*proc{c.master, c.worker} {
			if p != nil {
				c.t.Logf("%s log (tail):\n%s", p.name, tail(p.log.String(), 4000))
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// dial opens a raw gRPC connection able to send 128 MB messages.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(128<<20), grpc.MaxCallRecvMsgSize(128<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func binaries(t *testing.T) string { return proctest.Binaries(t) }

func freePort(t *testing.T) int { return proctest.FreePort(t) }
