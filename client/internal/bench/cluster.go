package bench

import (
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
	"syscall"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
)

// LocalCluster is one master and one worker run from the real binaries with
// a private configuration directory, free loopback ports, the journal and
// UFS on the local disk and the MEM tier on /dev/shm.
type LocalCluster struct {
	BinDir  string
	Home    string // configuration, journal, UFS and logs
	Journal string
	UFS     string
	Tier    string
	props   map[string]string
	master  *exec.Cmd
	masterW chan struct{}
	worker  *exec.Cmd
	workerW chan struct{}
}

// StartLocalCluster starts a master and a worker from binDir with a MEM
// tier of tierQuota bytes; extra properties override the defaults. Close
// stops them and removes their files.
func StartLocalCluster(ctx context.Context, binDir string, tierQuota int64, extra map[string]string) (*LocalCluster, error) {
	for _, b := range []string{"alluxio-master", "alluxio-worker"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return nil, fmt.Errorf("bench: %s not built (run make build): %w", b, err)
		}
	}
	home, err := os.MkdirTemp("", "alluxio-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	tierBase := "/dev/shm"
	if _, err := os.Stat(tierBase); err != nil {
		tierBase = home
	}
	tier, err := os.MkdirTemp(tierBase, "alluxio-bench-tier-")
	if err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("bench: %w", err)
	}
	c := &LocalCluster{BinDir: binDir, Home: home, Journal: filepath.Join(home, "journal"), UFS: filepath.Join(home, "ufs"), Tier: tier}
	ports, err := freePorts(4)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.props = map[string]string{
		"alluxio.master.hostname":                      "127.0.0.1",
		"alluxio.master.rpc.port":                      strconv.Itoa(ports[0]),
		"alluxio.master.web.port":                      strconv.Itoa(ports[1]),
		"alluxio.master.journal.folder":                c.Journal,
		"alluxio.master.mount.table.root.ufs":          c.UFS,
		"alluxio.worker.hostname":                      "127.0.0.1",
		"alluxio.worker.rpc.port":                      strconv.Itoa(ports[2]),
		"alluxio.worker.web.port":                      strconv.Itoa(ports[3]),
		"alluxio.worker.tieredstore.levels":            "1",
		"alluxio.worker.tieredstore.level0.alias":      "MEM",
		"alluxio.worker.tieredstore.level0.dirs.path":  tier,
		"alluxio.worker.tieredstore.level0.dirs.quota": strconv.FormatInt(tierQuota, 10) + "B",
		"alluxio.worker.memory.size":                   strconv.FormatInt(tierQuota, 10) + "B",
		"alluxio.user.rpc.retry.max.duration":          "30s",
		"alluxio.logger.level":                         "WARN",
		// The memory benchmark asks for a collection before each heap
		// sample (/debug/pprof/heap?gc=1); the handlers cost nothing unused.
		"alluxio.master.debug.pprof.enabled": "true",
	}
	for k, v := range extra {
		c.props[k] = v
	}
	for _, d := range []string{c.UFS, filepath.Join(home, "logs"), filepath.Join(home, "conf")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			c.Close()
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	if err := c.writeConf(nil); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.startMaster(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := WaitServing(ctx, c.MasterAddr(), "/", time.Now(), time.Minute); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w; log: %s", err, c.logTail("master"))
	}
	if c.worker, c.workerW, err = c.start("worker"); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.waitWorker(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("bench: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeConf writes alluxio-site.properties with the cluster's properties
// and extra on top.
func (c *LocalCluster) writeConf(extra map[string]string) error {
	m := map[string]string{}
	for k, v := range c.props {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	if err := os.WriteFile(filepath.Join(c.Home, "conf", "alluxio-site.properties"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

func (c *LocalCluster) env() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ALLUXIO_") {
			env = append(env, e)
		}
	}
	return append(env, "ALLUXIO_CONF_DIR="+filepath.Join(c.Home, "conf"), "ALLUXIO_HOME="+c.Home, "ALLUXIO_LOGS_DIR="+filepath.Join(c.Home, "logs"))
}

func (c *LocalCluster) start(name string) (*exec.Cmd, chan struct{}, error) {
	logf, err := os.OpenFile(filepath.Join(c.Home, "logs", name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	cmd := exec.Command(filepath.Join(c.BinDir, "alluxio-"+name))
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	return cmd, done, nil
}

func (c *LocalCluster) startMaster(context.Context) (time.Time, error) {
	t := time.Now()
	var err error
	c.master, c.masterW, err = c.start("master")
	return t, err
}

func (c *LocalCluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Home, "logs", name+".out"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (c *LocalCluster) waitWorker(ctx context.Context) error {
	fs, err := client.New(ctx, client.WithMasterAddress(c.MasterAddr()))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer fs.Close()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ws, err := fs.GetWorkerInfoList(ctx)
		if err == nil && len(ws) > 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("bench: the worker did not register; log: %s", c.logTail("worker"))
}

// MasterAddr is the master's RPC address.
func (c *LocalCluster) MasterAddr() string {
	return "127.0.0.1:" + c.props["alluxio.master.rpc.port"]
}

// MetricsURL is the master's /metrics.
func (c *LocalCluster) MetricsURL() string {
	return "http://127.0.0.1:" + c.props["alluxio.master.web.port"] + "/metrics"
}

// ClientConf is a client configuration for the cluster.
func (c *LocalCluster) ClientConf() (*conf.Config, error) {
	return conf.FromMap(c.props)
}

// Props returns a copy of the cluster's properties.
func (c *LocalCluster) Props() map[string]string {
	m := map[string]string{}
	for k, v := range c.props {
		m[k] = v
	}
	return m
}

// PID is the master's process id.
func (c *LocalCluster) PID() int {
	if c.master == nil || c.master.Process == nil {
		return 0
	}
	return c.master.Process.Pid
}

// WorkerPID is the worker's process id.
func (c *LocalCluster) WorkerPID() int {
	if c.worker == nil || c.worker.Process == nil {
		return 0
	}
	return c.worker.Process.Pid
}

// Restart stops the master with SIGTERM and starts it with props added.
func (c *LocalCluster) Restart(ctx context.Context, props map[string]string) (time.Time, error) {
	if err := stop(c.master, c.masterW); err != nil {
		return time.Time{}, err
	}
	if err := c.writeConf(props); err != nil {
		return time.Time{}, err
	}
	return c.startMaster(ctx)
}

func stop(cmd *exec.Cmd, done chan struct{}) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("bench: a daemon did not stop within 60s of SIGTERM; killed")
	}
}

// Close stops the worker and the master and removes the cluster's files.
func (c *LocalCluster) Close() error {
	err := errors.Join(stop(c.worker, c.workerW), stop(c.master, c.masterW))
	os.RemoveAll(c.Tier)
	os.RemoveAll(c.Home)
	return err
}

// pidControl restarts an external master: SIGTERM to its pid, then a shell
// command that starts it again.
type pidControl struct {
	pid     int
	command string
}

func (p *pidControl) PID() int { return p.pid }

func (p *pidControl) Restart(ctx context.Context, props map[string]string) (time.Time, error) {
	if len(props) > 0 {
		return time.Time{}, errors.New("bench: cannot change an external master's configuration")
	}
	proc, err := os.FindProcess(p.pid)
	if err != nil {
		return time.Time{}, err
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return time.Time{}, fmt.Errorf("bench: stop master pid %d: %w", p.pid, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("bench: master pid %d still running 60s after SIGTERM", p.pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t := time.Now()
	cmd := exec.Command("sh", "-c", "exec "+p.command)
	if err := cmd.Start(); err != nil {
		return time.Time{}, fmt.Errorf("bench: restart command: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	p.pid = pid
	return t, nil
}
