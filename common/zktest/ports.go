package zktest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// portRangeFile holds the kernel's ephemeral port range, "low high".
const portRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Ports are chosen from [minPort, the ephemeral range's low bound). Ports in
// the ephemeral range (what listening on port 0 gives) can become the local
// port of any outgoing connection on a busy machine between the moment a
// port is picked and the moment the JVM binds it, or while a server is down
// between StopServer and StartServer.
const (
	minPort          = 10000
	defaultEphemeral = 32768 // Linux's default low bound
)

// errBind marks a server that could not bind one of its ports.
var errBind = errors.New("address already in use")

// ephemeralLow returns the low bound of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile(portRangeFile)
	if err != nil {
		return defaultEphemeral
	}
	return parseEphemeralLow(string(b))
}

// parseEphemeralLow parses ip_local_port_range; ranges that leave fewer
// than 2000 ports below them fall back to the default.
func parseEphemeralLow(s string) int {
	f := strings.Fields(s)
	if len(f) != 2 {
		return defaultEphemeral
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < minPort+2000 {
		return defaultEphemeral
	}
	return n
}

// freePorts picks n distinct loopback ports below the ephemeral range that
// accept a listener now (holding them all open while choosing, so they
// differ) and releases them. If it cannot find enough there it falls back
// to ports the kernel assigns.
func freePorts(n int) ([]int, error) {
	low := ephemeralLow()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		p := minPort + rand.N(low-minPort)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		out = append(out, p)
	}
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
