// Package uri parses the paths users give the alluxio CLI and client:
// "/path", "alluxio:///path", "alluxio://host:port/path" and, in
// fault-tolerant mode, "alluxio://zk@zk1:2181,zk2:2181/path" which names the
// ZooKeeper ensemble to find the leading master through.
package uri

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
)

// Scheme is the scheme of Alluxio URIs.
const Scheme = "alluxio"

// URI is a parsed Alluxio URI.
type URI struct {
	// Scheme is "alluxio", or "" for a plain path.
	Scheme string
	// Authority is the text between "//" and the path, e.g. "host:19998" or
	// "zk@zk1:2181,zk2:2181"; "" when absent.
	Authority string
	// MasterAddr is host:port when the authority names exactly one master.
	MasterAddr string
	// Masters lists host:port of every master when the authority names
	// masters (one or more, separated by "," or ";").
	Masters []string
	// ZooKeeper lists host:port of the ensemble of a "zk@" authority.
	ZooKeeper []string
	// Path is the namespace path, cleaned with pathutil.Clean.
	Path string
}

// Parse parses s. It refuses relative paths, "." and ".." components,
// unknown schemes, and authorities whose ports are missing or not 1..65535.
func Parse(s string) (URI, error) {
	if s == "" {
		return URI{}, fmt.Errorf("uri: empty path")
	}
	if strings.HasPrefix(s, "/") {
		p, err := pathutil.Clean(s)
		if err != nil {
			return URI{}, fmt.Errorf("uri: %w", err)
		}
		return URI{Path: p}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		if i := strings.IndexByte(s, ':'); i > 0 && validScheme(s[:i]) {
			return URI{}, fmt.Errorf("uri: %q: scheme %q needs \"//\" (want alluxio://host:port/path or /path)", s, s[:i])
		}
		return URI{}, fmt.Errorf("uri: %q is a relative path (want an absolute path such as /dir/file or an alluxio:// URI)", s)
	}
	if !strings.EqualFold(scheme, Scheme) {
		return URI{}, fmt.Errorf("uri: %q: unknown scheme %q (want alluxio:// or a plain /path)", s, scheme)
	}
	u := URI{Scheme: Scheme}
	auth, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		auth, path = rest[:i], rest[i:]
	}
	u.Authority = auth
	p, err := pathutil.Clean(path)
	if err != nil {
		return URI{}, fmt.Errorf("uri: %q: %w", s, err)
	}
	u.Path = p
	if auth == "" {
		return u, nil
	}
	if zk, ok := strings.CutPrefix(auth, "zk@"); ok {
		addrs, err := splitAddrs(zk)
		if err != nil {
			return URI{}, fmt.Errorf("uri: %q: ZooKeeper address: %w", s, err)
		}
		u.ZooKeeper = addrs
		return u, nil
	}
	if strings.Contains(auth, "@") {
		return URI{}, fmt.Errorf("uri: %q: unsupported authority %q (want host:port or zk@host:port,...)", s, auth)
	}
	addrs, err := splitAddrs(auth)
	if err != nil {
		return URI{}, fmt.Errorf("uri: %q: master address: %w", s, err)
	}
	u.Masters = addrs
	if len(addrs) == 1 {
		u.MasterAddr = addrs[0]
	}
	return u, nil
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= 'a' && c <= 'z') && !(i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
			return false
		}
	}
	return true
}

// splitAddrs splits "h1:p1,h2:p2" (or ";"-separated) into checked
// host:port items.
func splitAddrs(s string) ([]string, error) {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("%q is not host:port", a)
		}
		if host == "" {
			return nil, fmt.Errorf("%q has no host", a)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has a bad port (want 1..65535)", a)
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(n)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no host:port in %q", s)
	}
	return out, nil
}

// String returns the URI in canonical form: the plain path, or
// "alluxio://authority/path".
func (u URI) String() string {
	if u.Scheme == "" {
		return u.Path
	}
	return u.Scheme + "://" + u.Authority + u.Path
}

// WithPath returns u with another path (already clean).
func (u URI) WithPath(p string) URI {
	u.Path = p
	return u
}
