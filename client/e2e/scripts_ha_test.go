package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/zktest"
)

// TestIntegrationLocalHAScripts runs bin/alluxio-start.sh local-ha and
// bin/alluxio-stop.sh local-ha with a private conf dir and free ports: a
// local ZooKeeper (deploy/zookeeper/start-local.sh), three masters sharing
// one journal and a worker; the CLI, told only where ZooKeeper is, finds the
// leader; stop ends every process, ZooKeeper included.
func TestIntegrationLocalHAScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil && os.Getenv("ZOOKEEPER_JAR") == "" {
		t.Fatalf("ZooKeeper is not installed; install it with: %s", zktest.InstallCommand)
	}
	c := newCluster(t, nil) // only its configuration: the scripts start the processes
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	zkPort := stablePort(t)
	var ports []string
	for i := 0; i < 3; i++ {
		p := stablePort(t)
		for p+1 > 65535 || !portFree(p+1) {
			p = stablePort(t)
		}
		ports = append(ports, fmt.Sprint(p))
	}
	zkOpts := fmt.Sprintf("-Dalluxio.zookeeper.enabled=true -Dalluxio.zookeeper.address=127.0.0.1:%d", zkPort)
	pidDir := filepath.Join(c.home, "run")
	env := func() []string {
		var env []string
		for _, e := range c.env() {
			if !strings.HasPrefix(e, "ALLUXIO_HOME=") {
				env = append(env, e)
			}
		}
		return append(env,
			"ALLUXIO_PID_DIR="+pidDir,
			fmt.Sprintf("ALLUXIO_LOCAL_HA_ZK_PORT=%d", zkPort),
			"ALLUXIO_LOCAL_HA_MASTER_PORTS="+strings.Join(ports, ","),
			"ALLUXIO_LOCAL_HA_ZK_DIR="+filepath.Join(c.home, "zookeeper"))
	}
	run := func(script string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "bin", script), args...)
		cmd.Env = env()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if out, err := run("alluxio-stop.sh", "local-ha"); err != nil {
				t.Errorf("alluxio-stop.sh local-ha: %v\n%s", err, out)
			}
		}
	})
	out, err := run("alluxio-start.sh", "local-ha")
	if err != nil || !strings.Contains(out, "Fault-tolerant local cluster is up") {
		logs, _ := filepath.Glob(filepath.Join(c.home, "logs", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, tail(string(b), 20))
		}
		t.Fatalf("alluxio-start.sh local-ha: %v\n%s", err, out)
	}
	pids, _ := filepath.Glob(filepath.Join(pidDir, "*.pid"))
	if len(pids) != 4 {
		t.Errorf("want 4 pid files (3 masters, 1 worker), got %v", pids)
	}
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(filepath.Join(c.bin, "alluxio"), args...)
		cmd.Env = append(env(), "ALLUXIO_USER_JAVA_OPTS="+zkOpts)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	// Every master has joined the election once masterInfo lists it.
	var info string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var errs string
		var code int
		info, errs, code = cli("fs", "masterInfo")
		missing := 0
		for _, p := range ports {
			if !strings.Contains(info, "127.0.0.1:"+p) {
				missing++
			}
		}
		if code == 0 && missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fs masterInfo does not list the three masters (ports %v) within 30s: exit %d\n%s%s", ports, code, info, errs)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	if _, errs, code := cli("fs", "mkdir", "/local-ha"); code != 0 {
		t.Fatalf("fs mkdir through ZooKeeper: exit %d: %s", code, errs)
	}
	// Starting again is harmless.
	if out, err := run("alluxio-start.sh", "local-ha"); err != nil || strings.Count(out, "already running") < 5 {
		t.Errorf("second start did not notice ZooKeeper and the 4 processes running (err %v):\n%s", err, out)
	}
	out, err = run("alluxio-stop.sh", "local-ha")
	stopped = true
	if err != nil || strings.Count(out, "Stopped") != 5 {
		t.Fatalf("alluxio-stop.sh local-ha (want 4 daemons and ZooKeeper stopped): %v\n%s", err, out)
	}
	for _, p := range pids {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("pid file %s left behind", p)
		}
	}
	if portFree(zkPort) == false {
		t.Errorf("ZooKeeper still listens on %d after alluxio-stop.sh local-ha", zkPort)
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	cmd := exec.Command("bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port))
	return cmd.Run() != nil
}
