package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// pollTimeout bounds one master's answer to GetStatusOfSelf.
const pollTimeout = time.Second

// PollingInquireClient finds the leader among a fixed list of masters, as
// Alluxio's PollingMasterInquireClient does for a URI naming several masters
// (alluxio://m1:19998,m2:19998,m3:19998/path): it asks each one
// GetStatusOfSelf, which every master answers, and picks the one whose role
// is LEADER (or SINGLE). The answer is cached until InvalidatePrimary. It is
// safe for concurrent use; Close releases its connections.
type PollingInquireClient struct {
	addrs []string

	mu     sync.Mutex
	leader string
	conns  map[string]*grpc.ClientConn
	closed bool
}

// NewPollingInquireClient returns an inquire client that polls addrs
// (host:port each).
func NewPollingInquireClient(addrs []string) *PollingInquireClient {
	return &PollingInquireClient{addrs: append([]string(nil), addrs...), conns: map[string]*grpc.ClientConn{}}
}

// GetPrimaryRPCAddress returns the cached leader, or polls the masters.
// When none says it leads, the error wraps ErrUnavailable (the FileSystem
// retries: an election may be in progress).
func (p *PollingInquireClient) GetPrimaryRPCAddress(ctx context.Context) (string, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", ErrClosed
	}
	if p.leader != "" {
		a := p.leader
		p.mu.Unlock()
		return a, nil
	}
	p.mu.Unlock()
	var errs []string
	for _, a := range p.addrs {
		role, err := p.role(ctx, a)
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return "", fmt.Errorf("client: poll masters for the leader: %w", errors.Join(err, ctx.Err()))
			}
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
			continue
		}
		if role == "LEADER" || role == "SINGLE" {
			p.mu.Lock()
			p.leader = a
			p.mu.Unlock()
			return a, nil
		}
		errs = append(errs, a+": "+role)
	}
	return "", fmt.Errorf("client: no leader among masters %s (%s): %w",
		strings.Join(p.addrs, ","), strings.Join(errs, "; "), rpcstatus.ErrUnavailable)
}

func (p *PollingInquireClient) role(ctx context.Context, addr string) (string, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", ErrClosed
	}
	cc := p.conns[addr]
	if cc == nil {
		var err error
		cc, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			p.mu.Unlock()
			return "", err
		}
		p.conns[addr] = cc
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	st, err := pb.NewMetaMasterClientServiceClient(cc).GetStatusOfSelf(ctx, &pb.GetStatusOfSelfRequest{})
	if err != nil {
		cc.ResetConnectBackoff()
		return "", rpcstatus.FromGRPC(err)
	}
	return st.GetRole(), nil
}

// InvalidatePrimary forgets the cached leader if it is addr.
func (p *PollingInquireClient) InvalidatePrimary(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leader == addr {
		p.leader = ""
	}
}

// Close closes the connections. It is idempotent.
func (p *PollingInquireClient) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for _, cc := range p.conns {
		errs = append(errs, cc.Close())
	}
	p.conns = nil
	return errors.Join(errs...)
}
