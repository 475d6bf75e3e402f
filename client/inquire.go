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

// InquireClientFromConfig returns the inquire client the configuration
// describes: alluxio.master.hostname:alluxio.master.rpc.port. With
// alluxio.zookeeper.enabled it fails until ZooKeeper inquiry is available;
// pass one with WithMasterInquireClient instead.
func InquireClientFromConfig(cfg *conf.Config) (MasterInquireClient, error) {
	if cfg.GetBool("alluxio.zookeeper.enabled") {
		return nil, fmt.Errorf("client: alluxio.zookeeper.enabled is true but this client cannot inquire ZooKeeper for the leader yet; set a master address: %w", ErrInvalidArgument)
	}
	host := cfg.Get("alluxio.master.hostname")
	if host == "" {
		return nil, fmt.Errorf("client: alluxio.master.hostname is empty: %w", ErrInvalidArgument)
	}
	return NewStaticInquireClient(net.JoinHostPort(host, strconv.Itoa(cfg.GetInt("alluxio.master.rpc.port")))), nil
}

// InquireClientFromURI returns the inquire client an alluxio:// URI's
// authority names ("host:port", or the first of several masters), falling
// back to the configuration when the URI has none. A "zk@" authority fails
// until ZooKeeper inquiry is available.
func InquireClientFromURI(u uri.URI, cfg *conf.Config) (MasterInquireClient, error) {
	switch {
	case len(u.ZooKeeper) > 0:
		return nil, fmt.Errorf("client: %s names ZooKeeper %v, but this client cannot inquire ZooKeeper for the leader yet: %w", u, u.ZooKeeper, ErrInvalidArgument)
	case u.MasterAddr != "":
		return NewStaticInquireClient(u.MasterAddr), nil
	case len(u.Masters) > 0:
		return NewStaticInquireClient(u.Masters[0]), nil
	}
	return InquireClientFromConfig(cfg)
}
