package proctest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Netns is a network namespace joined to the test's namespace by a veth
// pair: HostIP on the test's side, NsIP inside, a private /30 that exists
// only on these two interfaces.
type Netns struct {
	Name, VethHost, VethNS string
	HostIP, NsIP           string
}

// ErrNoNetns marks a NewNetns error from creating the namespace itself: the
// machine (or container) does not allow network namespaces.
var ErrNoNetns = errors.New("cannot create a network namespace")

// IPCmd runs ip(8) and returns its combined output; the error names the
// command and carries ip's message.
func IPCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// NetnsUnavailable says why network namespaces cannot be used here ("" if
// they can): not Linux, not root, or no ip(8).
func NetnsUnavailable() string {
	if runtime.GOOS != "linux" {
		return fmt.Sprintf("network namespaces need Linux, this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Sprintf("network namespaces need root; running as euid %d", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Sprintf("ip(8) (iproute2) not found: %v", err)
	}
	return ""
}

// NewNetns creates the namespace name with the veth pair vethHost/vethNS
// (at most 15 characters each) on a free /30 of subnet ("10.200": a /30 of
// 10.200.0.0/16), and waits until the link carries traffic both ways. A
// namespace and link of the same names left by an earlier run that died are
// removed first. t.Cleanup deletes them, after the cleanups registered
// later (the processes running inside).
func NewNetns(t testing.TB, name, vethHost, vethNS, subnet string) (*Netns, error) {
	t.Helper()
	used, err := IPCmd("-4", "-o", "addr", "show")
	if err != nil {
		return nil, err
	}
	l := &Netns{Name: name, VethHost: vethHost, VethNS: vethNS}
	for try := 0; ; try++ {
		third := 1 + rand.IntN(250)
		fourth := 4 * rand.IntN(63)
		prefix := fmt.Sprintf("%s.%d.", subnet, third)
		if strings.Contains(used, prefix) && try < 50 {
			continue
		}
		l.HostIP, l.NsIP = fmt.Sprintf("%s%d", prefix, fourth+1), fmt.Sprintf("%s%d", prefix, fourth+2)
		break
	}
	_, _ = IPCmd("netns", "del", l.Name)
	_, _ = IPCmd("link", "del", l.VethHost)
	if _, err := IPCmd("netns", "add", l.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	t.Cleanup(func() {
		// Deleting the namespace deletes its veth end, and with it the pair.
		if _, err := IPCmd("netns", "del", l.Name); err != nil {
			t.Errorf("clean-up: %v", err)
		}
		if _, err := IPCmd("link", "show", l.VethHost); err == nil {
			// Deleting the namespace destroys the veth pair asynchronously, so
			// the host end may vanish between the show and the del.
			if _, err := IPCmd("link", "del", l.VethHost); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
				t.Errorf("clean-up: %v", err)
			}
		}
	})
	steps := [][]string{
		{"link", "add", l.VethHost, "type", "veth", "peer", "name", l.VethNS},
		{"link", "set", l.VethNS, "netns", l.Name},
		{"addr", "add", l.HostIP + "/30", "dev", l.VethHost},
		{"link", "set", l.VethHost, "up"},
		{"netns", "exec", l.Name, "ip", "addr", "add", l.NsIP + "/30", "dev", l.VethNS},
		{"netns", "exec", l.Name, "ip", "link", "set", l.VethNS, "up"},
		{"netns", "exec", l.Name, "ip", "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if _, err := IPCmd(s...); err != nil {
			return nil, fmt.Errorf("setting up the namespace: %w", err)
		}
	}
	// Poll until the link carries traffic both ways.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", net.JoinHostPort(l.HostIP, "0"))
		if err == nil {
			port := ln.Addr().(*net.TCPAddr).Port
			go func() {
				if c, err := ln.Accept(); err == nil {
					c.Close()
				}
			}()
			_, err = IPCmd("netns", "exec", l.Name, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", l.HostIP, port))
			ln.Close()
			if err == nil {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("veth link %s <-> %s (%s) does not carry traffic: %v", l.HostIP, l.NsIP, l.Name, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}
