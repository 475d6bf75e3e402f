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
