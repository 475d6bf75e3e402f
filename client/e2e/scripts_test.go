package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndToEndStartStopScripts runs bin/alluxio-start.sh local and
// bin/alluxio-stop.sh local as an operator would, with a private conf dir,
// twice: the second start keeps the first one's namespace (it formats only
// a journal folder that was never formatted), for the journal folder given
// as a path and as a file:/// URI.
func TestEndToEndStartStopScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test runs real processes")
	}
	t.Run("path", func(t *testing.T) { testStartStopScripts(t, func(dir string) string { return dir }) })
	t.Run("file-uri", func(t *testing.T) { testStartStopScripts(t, func(dir string) string { return "file://" + dir }) })
}

func testStartStopScripts(t *testing.T, folder func(dir string) string) {
	journalDir := filepath.Join(t.TempDir(), "journal")
	c := newCluster(t, map[string]string{"alluxio.master.journal.folder": folder(journalDir)})
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	run := func(script string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "bin", script), args...)
		var env []string
		for _, e := range c.env() {
			if !strings.HasPrefix(e, "ALLUXIO_HOME=") {
				env = append(env, e)
			}
		}
		cmd.Env = append(env, "ALLUXIO_PID_DIR="+filepath.Join(c.home, "run"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s", script, args, err, out.String())
		}
		return out.String()
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			run("alluxio-stop.sh", "local")
		}
	})
	out := run("alluxio-start.sh", "local")
	if !strings.Contains(out, "Local cluster is up") {
		t.Fatalf("start output:\n%s", out)
	}
	pids, _ := filepath.Glob(filepath.Join(c.home, "run", "*.pid"))
	if len(pids) != 2 {
		t.Fatalf("want 2 pid files, got %v", pids)
	}
	c.ok("fs", "mkdir", "/scripted")
	c.ok("fs", "touch", "/scripted/empty")
	if out := c.ok("fs", "ls", "/scripted"); !strings.Contains(out, "/scripted/empty") {
		t.Fatalf("ls after touch:\n%s", out)
	}
	// Starting again is harmless.
	if out := run("alluxio-start.sh", "local"); !strings.Contains(out, "already running") {
		t.Errorf("second start did not notice the running processes:\n%s", out)
	}
	out = run("alluxio-stop.sh", "local")
	if strings.Count(out, "Stopped") != 2 {
		t.Fatalf("stop output:\n%s", out)
	}
	// A second start replays the journal instead of formatting it.
	out = run("alluxio-start.sh", "local")
	if strings.Contains(out, "Formatting") || !strings.Contains(out, "Local cluster is up") {
		t.Fatalf("second start (the journal is formatted already):\n%s", out)
	}
	if out := c.ok("fs", "ls", "/scripted"); !strings.Contains(out, "/scripted/empty") {
		t.Fatalf("ls after a restart by the scripts:\n%s", out)
	}
	out = run("alluxio-stop.sh", "local")
	stopped = true
	if strings.Count(out, "Stopped") != 2 {
		t.Fatalf("stop output:\n%s", out)
	}
	for _, p := range pids {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("pid file %s left behind", p)
		}
	}
	if _, _, code := c.cli("-D", "alluxio.user.rpc.retry.max.duration=1s", "fs", "ls", "/"); code == 0 {
		t.Error("the master still answers after alluxio-stop.sh local")
	}
}
