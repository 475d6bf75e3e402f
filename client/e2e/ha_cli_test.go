package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationCLIAndTraceAcrossFailover drives the CLI with no master
// address (ZooKeeper inquiry only): `fs leader` and `fs masterInfo` name the
// leader and every master with its role, and `alluxio --trace fs mkdir`
// started right after kill -9 of the leader (whose ZooKeeper node lives on
// for a session timeout) prints a span tree with attempts against the dead
// leader and the new one.
func TestIntegrationCLIAndTraceAcrossFailover(t *testing.T) {
	c := newHACluster(t, haConfig{masters: 3, workers: 1})
	c.startAll()
	old, oldEpoch := c.waitLeader(nil)

	ok := func(args ...string) (string, string) {
		t.Helper()
		out, errs, code := c.cli(args...)
		if code != 0 {
			t.Fatalf("alluxio %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
		return out, errs
	}
	// Alluxio's fs leader prints the leader's host name; every master here
	// is on 127.0.0.1, so masterInfo's leader line names which one.
	if out, _ := ok("fs", "leader"); !strings.Contains(out, old.host) {
		t.Errorf("fs leader printed %q, want the leader %s", out, old.addr())
	}
	info, _ := ok("fs", "masterInfo")
	if !regexp.MustCompile(`(?i)leader[^\n]*` + regexp.QuoteMeta(old.addr())).MatchString(info) {
		t.Errorf("fs masterInfo does not name the leader %s:\n%s", old.addr(), info)
	}
	for _, m := range c.masters {
		if !strings.Contains(info, m.addr()) {
			t.Errorf("fs masterInfo does not list %s (%s):\n%s", m.name, m.addr(), info)
		}
	}
	if strings.Count(info, "LEADER") < 1 || strings.Count(info, "STANDBY") < 2 {
		t.Errorf("fs masterInfo should show one LEADER and two STANDBY masters:\n%s", info)
	}
	if !strings.Contains(info, fmt.Sprint(oldEpoch)) {
		t.Errorf("fs masterInfo does not show the leader's epoch %d:\n%s", oldEpoch, info)
	}
	ok("fs", "mkdir", "/traced")

	// kill -9: ZooKeeper still names the dead leader until its session
	// expires, so the call's first attempts go there and fail, and a later
	// attempt reaches the new leader.
	c.signal(old, syscall.SIGKILL)
	start := time.Now()
	out, errs, code := c.cli("--trace", "fs", "mkdir", "/traced/across-failover")
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("alluxio --trace fs mkdir across a failover: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	next, _ := c.waitLeader(old)
	t.Logf("mkdir across the failover took %v; span tree:\n%s", took.Round(time.Millisecond), tail(errs, 60))
	// One span per RPC attempt, naming the master it went to.
	attempt := regexp.MustCompile(`(?m)^.*attempt.*master\.address=(\S+).*$`)
	perMaster := map[string]int{}
	var last string
	for _, m := range attempt.FindAllStringSubmatch(errs, -1) {
		perMaster[m[1]]++
		last = m[0]
	}
	if perMaster[old.addr()] == 0 {
		t.Errorf("trace shows no attempt against the killed leader %s (attempts per master: %v)", old.addr(), perMaster)
	}
	if perMaster[next.addr()] == 0 {
		t.Errorf("trace shows no attempt against the new leader %s (attempts per master: %v)", next.addr(), perMaster)
	}
	if !strings.Contains(last, next.addr()) || !strings.Contains(last, "OK") {
		t.Errorf("the last attempt should be an OK against the new leader %s, got: %s", next.addr(), last)
	}
	if !strings.Contains(errs, "re-resolved") && !strings.Contains(errs, "resolve") {
		t.Errorf("trace shows no leader re-resolution event")
	}
	if info, _ := ok("fs", "masterInfo"); !regexp.MustCompile(`(?i)leader[^\n]*` + regexp.QuoteMeta(next.addr())).MatchString(info) {
		t.Errorf("fs masterInfo after the failover does not name the new leader %s:\n%s", next.addr(), info)
	}
	ok("fs", "test", "-d", "/traced/across-failover")
}
