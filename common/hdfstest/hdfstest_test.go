package hdfstest_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/hdfstest"
)

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

func TestIntegrationStartRestartStop(t *testing.T) {
	c := hdfstest.Start(t)
	t.Logf("first start: %v", c.StartupTime)
	if c.URI != "hdfs://"+c.NameNodeAddr {
		t.Errorf("URI %q does not match NameNodeAddr %q", c.URI, c.NameNodeAddr)
	}
	if err := dial(c.NameNodeAddr); err != nil {
		t.Fatalf("NameNode does not accept connections: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "hdfs", "name-0-1", "current", "VERSION")); err != nil {
		t.Errorf("no formatted NameNode under Dir: %v", err)
	}
	addr := c.NameNodeAddr
	c.Restart()
	t.Logf("restart: %v", c.StartupTime)
	if c.NameNodeAddr != addr {
		t.Errorf("restart moved the NameNode from %s to %s", addr, c.NameNodeAddr)
	}
	if err := dial(c.NameNodeAddr); err != nil {
		t.Fatalf("NameNode does not accept connections after restart: %v", err)
	}
	c.Stop()
	if c.Running() {
		t.Error("Running after Stop")
	}
	if err := dial(addr); err == nil {
		t.Error("NameNode port still open after Stop")
	}
	c.Stop() // idempotent
	c.Start()
	if err := dial(addr); err != nil {
		t.Fatalf("NameNode does not accept connections after Start: %v", err)
	}
	c.Kill()
	if err := dial(addr); err == nil {
		t.Error("NameNode port still open after Kill")
	}
}

// TestIntegrationShared: a Shared cluster is started once, comes back on
// its port when a test left it stopped, and a paused cluster stops promptly.
func TestIntegrationShared(t *testing.T) {
	s := &hdfstest.Shared{}
	defer s.Close()
	c := s.Cluster(t)
	addr, dir := c.NameNodeAddr, c.Dir
	if again := s.Cluster(t); again != c {
		t.Fatal("second Cluster call returned another cluster")
	}
	c.Stop()
	c = s.Cluster(t)
	if c.NameNodeAddr != addr || c.Dir != dir || !c.Running() {
		t.Fatalf("after Stop, Cluster gave %s in %s (running %v), want %s in %s running", c.NameNodeAddr, c.Dir, c.Running(), addr, dir)
	}
	if err := dial(addr); err != nil {
		t.Fatalf("NameNode does not accept connections after the restart: %v", err)
	}
	c.Pause()
	c.Resume()
	c.Pause()
	begin := time.Now()
	c.Stop() // resumes it first, so SIGTERM is acted on
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("Stop of a paused cluster took %v", d)
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", dir, err)
	}
}
