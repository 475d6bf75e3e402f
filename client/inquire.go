package client

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/uri"
)

// MasterInquireClient finds the primary (leader) master. The FileSystem asks
// it once to connect and again before every retry of a failed RPC, so an
// implementation backed by leader election follows failovers.
type MasterInquireClient interface {
	// GetPrimaryRPCAddress returns the leader's RPC address as host:port.
	GetPrimaryRPCAddress(ctx context.Context) (string, error)
}

// StaticInquireClient always answers the same master address.
type StaticInquireClient struct{ Address string }

// NewStaticInquireClient returns an inquire client for a fixed host:port.
func NewStaticInquireClient(addr string) *StaticInquireClient {
	return &StaticInquireClient{Address: addr}
}

// GetPrimaryRPCAddress returns the configured address.
func (s *StaticInquireClient) GetPrimaryRPCAddress(context.Context) (string, error) {
	if s.Address == "" {
		return "", fmt.Errorf("client: no master address configured: %w", ErrInvalidArgument)
	}
	return s.Address, nil
}

// PrimaryInvalidator is implemented by inquire clients that cache the
// leader. The FileSystem calls InvalidatePrimary with the address an RPC just
// failed against (Unavailable or NOT_LEADER) before asking for the leader
// again, so the retry goes to whichever master leads now.
type PrimaryInvalidator interface {
	InvalidatePrimary(addr string)
}

// leaderChangeCallback is implemented by inquire clients that learn of a
// new leader by themselves (a ZooKeeper watch): fire is called once a
// leader other than addr is known (it must be quick and must not call back
// into the inquire client); stop unregisters it.
type leaderChangeCallback interface {
	onLeaderChange(addr string, fire func()) (stop func())
}

// InquireClientFromConfig returns the inquire client the configuration
// describes: with alluxio.zookeeper.enabled, one that asks the ZooKeeper
// ensemble of alluxio.zookeeper.address for the leader (no master host name
// needed); otherwise alluxio.master.hostname:alluxio.master.rpc.port. Close
// the result if it is an io.Closer and you are done with it (a FileSystem
// that built it itself closes it).
func InquireClientFromConfig(cfg *conf.Config) (MasterInquireClient, error) {
	if cfg.GetBool("alluxio.zookeeper.enabled") {
		zc := ZooKeeperConfig(cfg)
		if len(zc.Servers) == 0 {
			return nil, fmt.Errorf("client: alluxio.zookeeper.enabled is true (from %s) but alluxio.zookeeper.address is empty: %w",
				cfg.Source("alluxio.zookeeper.enabled"), ErrInvalidArgument)
		}
		return NewZooKeeperInquireClient(zc), nil
	}
	host := cfg.Get("alluxio.master.hostname")
	if host == "" {
		return nil, fmt.Errorf("client: alluxio.master.hostname is empty: %w", ErrInvalidArgument)
	}
	return NewStaticInquireClient(net.JoinHostPort(host, strconv.Itoa(cfg.GetInt("alluxio.master.rpc.port")))), nil
}

// InquireClientFromURI returns the inquire client an alluxio:// URI's
// authority names: "zk@zk1:2181,zk2:2181" asks that ZooKeeper ensemble (with
// the other alluxio.zookeeper.* keys of cfg), "host:port" is that master,
// "m1:port,m2:port,..." polls those masters for the one that leads
// (PollingInquireClient), and no authority falls back to the configuration.
func InquireClientFromURI(u uri.URI, cfg *conf.Config) (MasterInquireClient, error) {
	switch {
	case len(u.ZooKeeper) > 0:
		zc := ZooKeeperConfig(cfg)
		zc.Servers = append([]string(nil), u.ZooKeeper...)
		return NewZooKeeperInquireClient(zc), nil
	case u.MasterAddr != "":
		return NewStaticInquireClient(u.MasterAddr), nil
	case len(u.Masters) > 0:
		return NewPollingInquireClient(u.Masters), nil
	}
	return InquireClientFromConfig(cfg)
}
