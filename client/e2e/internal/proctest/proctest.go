// Package proctest holds what the process-based test packages (client/e2e,
// client/e2e/hostile, client/e2e/torture) share: the real binaries and ports
// for their daemons, the processes themselves, network namespaces for
// partitions, and the parser of alluxio-master --dump-journal.
package proctest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries returns the directory holding alluxio, alluxio-master and
// alluxio-worker: $ALLUXIO_BIN_DIR (make test sets it) or, once per test
// binary, a fresh build into a temporary directory.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if d := os.Getenv("ALLUXIO_BIN_DIR"); d != "" {
			binDir = d
			return
		}
		dir, err := os.MkdirTemp("", "alluxio-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		root := repoRoot()
		for _, pkg := range []string{"./master/cmd/alluxio-master", "./worker/cmd/alluxio-worker", "./client/cmd/alluxio"} {
			cmd := exec.Command("go", "build", "-o", dir, pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		binDir = dir
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	for _, b := range []string{"alluxio", "alluxio-master", "alluxio-worker"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Fatalf("binary %s missing in %s (run make build): %v", b, binDir, err)
		}
	}
	return binDir
}

// repoRoot is the repository's top directory (this file is
// client/e2e/internal/proctest/proctest.go).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

// FreePort returns a free loopback port chosen by the kernel (from the
// ephemeral range: fine for a process that is never restarted).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StablePort returns a free TCP port below the kernel's ephemeral range
// (ip_local_port_range), so that it stays free while its process is down
// between a kill and a restart: a port from the ephemeral range can
// meanwhile become the local port of any outgoing connection.
func StablePort(t testing.TB) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for i := 0; i < 1000; i++ {
		p := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}
