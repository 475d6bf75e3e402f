package zkleader

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Defaults of the alluxio.zookeeper.* keys.
const (
	DefaultElectionPath      = "/alluxio/election"
	DefaultLeaderPath        = "/alluxio/leader"
	DefaultSessionTimeout    = 60 * time.Second
	DefaultConnectionTimeout = 15 * time.Second
	DefaultInquiryRetry      = 10
	DefaultRetryInterval     = time.Second
)

// ErrClosed is returned by calls on a closed Elector or Inquirer.
var ErrClosed = errors.New("zkleader: closed")

// Config holds the alluxio.zookeeper.* settings. Zero values take the
// Alluxio defaults.
type Config struct {
	// Servers are ZooKeeper client addresses, host:port
	// (alluxio.zookeeper.address split at commas).
	Servers []string
	// SessionTimeout (alluxio.zookeeper.session.timeout, default 60s) is how
	// long ZooKeeper keeps a silent client's session, and with it the
	// ephemeral nodes of a crashed leader. The server clamps it to
	// [2, 20] x its tickTime.
	SessionTimeout time.Duration
	// ConnectionTimeout (alluxio.zookeeper.connection.timeout, default 15s)
	// bounds the wait for a session with ZooKeeper.
	ConnectionTimeout time.Duration
	// ElectionPath (alluxio.zookeeper.election.path) holds the candidates.
	ElectionPath string
	// LeaderPath (alluxio.zookeeper.leader.path) holds the leader's address.
	LeaderPath string
	// InquiryRetry (alluxio.zookeeper.leader.inquiry.retry, default 10) is how
	// many intervals of Inquirer.RetryInterval Inquirer.Leader waits for a
	// leader when none is published (returning as soon as one is), looking
	// again at the end of each; a negative value means it does not wait.
	InquiryRetry int
	// Logger receives the package's logs; nil discards them.
	Logger *slog.Logger
}

// normalize validates c and fills in defaults.
func (c Config) normalize() (Config, error) {
	var servers []string
	for _, s := range c.Servers {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				servers = append(servers, p)
			}
		}
	}
	c.Servers = servers
	if len(c.Servers) == 0 {
		return c, errors.New("zkleader: no ZooKeeper servers configured (alluxio.zookeeper.address)")
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.ConnectionTimeout <= 0 {
		c.ConnectionTimeout = DefaultConnectionTimeout
	}
	if c.ElectionPath == "" {
		c.ElectionPath = DefaultElectionPath
	}
	if c.LeaderPath == "" {
		c.LeaderPath = DefaultLeaderPath
	}
	for _, p := range []struct{ key, v string }{
		{"alluxio.zookeeper.election.path", c.ElectionPath},
		{"alluxio.zookeeper.leader.path", c.LeaderPath},
	} {
		if !strings.HasPrefix(p.v, "/") || p.v == "/" || strings.HasSuffix(p.v, "/") || strings.Contains(p.v, "//") {
			return c, fmt.Errorf("zkleader: %s %q is not an absolute znode path", p.key, p.v)
		}
	}
	if c.ElectionPath == c.LeaderPath ||
		strings.HasPrefix(c.LeaderPath, c.ElectionPath+"/") ||
		strings.HasPrefix(c.ElectionPath, c.LeaderPath+"/") {
		return c, fmt.Errorf("zkleader: election path %q and leader path %q must not overlap", c.ElectionPath, c.LeaderPath)
	}
	if c.InquiryRetry == 0 {
		c.InquiryRetry = DefaultInquiryRetry
	}
	if c.InquiryRetry < 0 {
		c.InquiryRetry = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// epochPath is the persistent epoch counter node.
func (c Config) epochPath() string { return c.ElectionPath + "-epoch" }

func (c Config) serverList() string { return strings.Join(c.Servers, ",") }
