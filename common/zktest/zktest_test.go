package zktest

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestFindRuntime(t *testing.T) {
	java, cp, err := findRuntime()
	if err != nil {
		t.Fatalf("findRuntime: %v (install with %s)", err, InstallCommand)
	}
	t.Logf("java=%s classpath=%s", java, strings.Join(cp, ":"))
	joined := strings.Join(cp, ":")
	for _, want := range []string{"zookeeper", "zookeeper-jute", "slf4j-api", "netty-handler"} {
		if !strings.Contains(joined, "/"+want+".jar") && !strings.Contains(joined, "/"+want+"-") {
			t.Errorf("classpath lacks %s: %s", want, joined)
		}
	}
}

func TestIntegrationStandalone(t *testing.T) {
	start := time.Now()
	e := Start(t, 1)
	t.Logf("standalone server serving after %v", time.Since(start))
	addr := e.Servers()[0]
	if r, err := FourLetterWord(addr, "srvr", time.Second); err != nil || !strings.Contains(r, "Mode: standalone") {
		t.Fatalf("srvr = %q, %v; want standalone mode", r, err)
	}

	e.StopServer(0)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatalf("server still accepts connections after StopServer")
	}
	e.StartServer(0)
	if r, err := FourLetterWord(addr, "ruok", time.Second); err != nil || r != "imok" {
		t.Fatalf("ruok after restart = %q, %v", r, err)
	}
	e.Stop()
	e.Stop() // idempotent
}

func TestIntegrationEnsemble(t *testing.T) {
	start := time.Now()
	e := Start(t, 3)
	t.Logf("3-server ensemble serving after %v", time.Since(start))
	modes := map[string]int{}
	for _, addr := range e.Servers() {
		r, err := FourLetterWord(addr, "srvr", time.Second)
		if err != nil {
			t.Fatalf("srvr %s: %v", addr, err)
		}
		for _, line := range strings.Split(r, "\n") {
			if m, ok := strings.CutPrefix(line, "Mode: "); ok {
				modes[strings.TrimSpace(m)]++
			}
		}
	}
	if modes["leader"] != 1 || modes["follower"] != 2 {
		t.Fatalf("modes = %v, want one leader and two followers", modes)
	}
	// A follower can leave and rejoin while the other two keep quorum.
	e.KillServer(2)
	e.StartServer(2)
}

func TestIntegrationProxy(t *testing.T) {
	e := Start(t, 1)
	p := NewProxy(t, e.Servers()[0])
	if r, err := FourLetterWord(p.Addr(), "ruok", time.Second); err != nil || r != "imok" {
		t.Fatalf("ruok through proxy = %q, %v", r, err)
	}
	p.Block()
	if r, err := FourLetterWord(p.Addr(), "ruok", time.Second); err == nil && r == "imok" {
		t.Fatalf("blocked proxy still forwards")
	}
	p.Unblock()
	if r, err := FourLetterWord(p.Addr(), "ruok", time.Second); err != nil || r != "imok" {
		t.Fatalf("ruok after unblock = %q, %v", r, err)
	}
	p.Blackhole()
	if r, err := FourLetterWord(p.Addr(), "ruok", 300*time.Millisecond); err == nil && r != "" {
		t.Fatalf("black-holed proxy answered %q", r)
	}
	p.Unblock()
	if r, err := FourLetterWord(p.Addr(), "ruok", time.Second); err != nil || r != "imok" {
		t.Fatalf("ruok after the black hole = %q, %v", r, err)
	}
}
