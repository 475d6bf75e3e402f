package zktest

import (
	"errors"
	"fmt"
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

func TestParseEphemeralLow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"32768\t60999\n", 32768},
		{"40000 65000", 40000},
		{"1024 65000", defaultEphemeral}, // leaves no room below
		{"garbage", defaultEphemeral},
		{"", defaultEphemeral},
	} {
		if got := parseEphemeralLow(tc.in); got != tc.want {
			t.Errorf("parseEphemeralLow(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestFreePortsBelowEphemeralRange: ports come from below the kernel's
// ephemeral range, where outgoing connections do not take them.
func TestFreePortsBelowEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	ports, err := freePorts(9)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < minPort || p >= low {
			t.Errorf("port %d outside [%d, %d)", p, minPort, low)
		}
		if seen[p] {
			t.Errorf("port %d chosen twice", p)
		}
		seen[p] = true
	}
}

// TestIntegrationPortInUse: a server whose port is taken is reported as a
// bind failure (so Start picks other ports), and StartServer waits for its
// fixed ports to be free again instead of failing.
func TestIntegrationPortInUse(t *testing.T) {
	e := newEnsemble(t, 1, options{tickTime: 200 * time.Millisecond, startTimeout: 30 * time.Second})
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	err = e.startAll(ports)
	l.Close()
	if !errors.Is(err, errBind) {
		t.Fatalf("start on a port in use = %v, want a bind failure", err)
	}
	e.stopProcesses()
	if err := e.startAll(ports); err != nil {
		t.Fatalf("start once the port is free: %v", err)
	}

	// A restart must keep its ports: it waits for them.
	e.StopServer(0)
	l, err = net.Listen("tcp", e.Servers()[0])
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(3 * time.Second) // hold the port across the first start-up
		l.Close()
		close(released)
	}()
	e.StartServer(0)
	<-released
	if r, err := FourLetterWord(e.Servers()[0], "ruok", time.Second); err != nil || r != "imok" {
		t.Fatalf("ruok after the restart = %q, %v", r, err)
	}
}
