// Package masterclient keeps a worker registered with the leader master: it
// finds the master through a MasterResolver, gets a worker id, registers with
// a full block report, heartbeats with the blocks added and removed since the
// last accepted heartbeat, and carries out the master's commands (REGISTER,
// FREE, DELETE, PERSIST). On any connection error it backs off, resolves the
// master again and re-registers; it never gives up while its context lives.
package masterclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// MasterResolver finds the current leader master. It is called again after
// every connection failure, so an implementation backed by ZooKeeper follows
// leader changes.
type MasterResolver interface {
	Resolve(ctx context.Context) (addr string, err error)
}

// LeaderWatcher is an optional interface of a MasterResolver. Watch delivers
// the leader's address now and each time a new leader is published (even at
// the same address). With it, the client leaves a master as soon as another
// leader is published instead of waiting for a heartbeat to fail, and
// registers with the new one.
type LeaderWatcher interface {
	Watch(ctx context.Context) <-chan string
}

// StaticResolver always resolves to one address
// (alluxio.master.hostname:alluxio.master.rpc.port).
type StaticResolver struct{ Addr string }

// NewStaticResolver returns a resolver for host:port.
func NewStaticResolver(host string, port int) StaticResolver {
	return StaticResolver{Addr: net.JoinHostPort(host, strconv.Itoa(port))}
}

// Resolve implements MasterResolver.
func (r StaticResolver) Resolve(context.Context) (string, error) {
	if r.Addr == "" {
		return "", fmt.Errorf("masterclient: no master address configured: %w", rpcstatus.ErrUnavailable)
	}
	return r.Addr, nil
}

// Config configures a Client.
type Config struct {
	Resolver MasterResolver
	Store    *blockstore.Store
	// Address is what this worker advertises to the master and clients.
	Address           *alluxiopb.WorkerNetAddress
	HeartbeatInterval time.Duration // default 1s
	// RPCTimeout bounds each call to the master; default 10s.
	RPCTimeout time.Duration
	// BackoffBase and BackoffMax bound the wait between reconnection attempts.
	BackoffBase, BackoffMax time.Duration
	UFS                     *ufs.Registry // for PERSIST
	Logger                  *slog.Logger
	// DialOptions are extra options for connections to the master and peers.
	DialOptions []grpc.DialOption
	// PersistConcurrency bounds concurrent PERSIST jobs; default 4.
	PersistConcurrency int
}

// Client is the worker's connection to the master.
type Client struct {
	cfg   Config
	log   *slog.Logger
	store *blockstore.Store

	mu         sync.Mutex
	conn       *grpc.ClientConn
	master     alluxiopb.BlockMasterWorkerServiceClient
	masterAddr string
	workerID   int64
	registered bool
	// regCh is closed when the worker becomes registered; a new one is made
	// when it stops being registered.
	regCh chan struct{}

	persist *persister

	heartbeats, heartbeatFailures, registrations atomic.Int64
}

// Counters are cumulative counts of the client's calls to the master.
type Counters struct {
	Heartbeats, HeartbeatFailures, Registrations int64
}

// Counters returns the cumulative counts.
func (c *Client) Counters() Counters {
	return Counters{Heartbeats: c.heartbeats.Load(), HeartbeatFailures: c.heartbeatFailures.Load(), Registrations: c.registrations.Load()}
}

// New creates a client; Run drives it.
func New(cfg Config) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.RPCTimeout <= 0 {
		cfg.RPCTimeout = 10 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 100 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Second
	}
	if cfg.PersistConcurrency <= 0 {
		cfg.PersistConcurrency = 4
	}
	c := &Client{cfg: cfg, log: cfg.Logger, store: cfg.Store, regCh: make(chan struct{})}
	c.persist = newPersister(c)
	return c
}

// WorkerID is the id the master gave this worker, 0 before the first registration.
func (c *Client) WorkerID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.workerID
}

// MasterAddress is the address of the master in use, "" when disconnected.
func (c *Client) MasterAddress() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.masterAddr
}

// Registered reports whether the worker is registered with the current master.
func (c *Client) Registered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered
}

func (c *Client) current() (alluxiopb.BlockMasterWorkerServiceClient, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.master, c.workerID, c.registered
}

func (c *Client) setRegistered(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok == c.registered {
		return
	}
	c.registered = ok
	if ok {
		close(c.regCh)
	} else {
		c.regCh = make(chan struct{})
	}
}

// waitRegistered waits until the worker is registered, ctx is done or
// RPCTimeout passes.
func (c *Client) waitRegistered(ctx context.Context) (alluxiopb.BlockMasterWorkerServiceClient, int64, error) {
	t := time.NewTimer(c.cfg.RPCTimeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		m, id, ok, ch := c.master, c.workerID, c.registered, c.regCh
		c.mu.Unlock()
		if ok {
			return m, id, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-t.C:
			return nil, 0, fmt.Errorf("masterclient: not registered with a master after %v: %w", c.cfg.RPCTimeout, rpcstatus.ErrUnavailable)
		}
	}
}

// CommitBlock tells the master that a block is stored here. Before the
// worker is registered it waits (up to RPCTimeout) for the registration.
func (c *Client) CommitBlock(ctx context.Context, blockID, length int64, tier string, usedOnTier int64) error {
	m, id, err := c.waitRegistered(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
	defer cancel()
	_, err = m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{
		WorkerId: id, BlockId: blockID, Length: length, TierAlias: tier, UsedBytesOnTier: usedOnTier,
	})
	if err != nil {
		return fmt.Errorf("masterclient: commit block %d: %w", blockID, rpcstatus.FromGRPC(err))
	}
	return nil
}

// Run keeps the worker registered and heartbeating until ctx is done, then
// waits for running PERSIST jobs to stop. It returns nil on cancellation.
func (c *Client) Run(ctx context.Context) error {
	defer c.persist.wait()
	defer c.disconnect()
	attempt := 0
	for ctx.Err() == nil {
		wasRegistered, err := c.session(ctx)
		if ctx.Err() != nil {
			break
		}
		c.disconnect()
		if wasRegistered {
			attempt = 0 // a session that worked restarts the backoff
		}
		attempt++
		d := backoff(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt)
		// Warn on the first failure of an outage (and now and then after), not on every retry.
		level := slog.LevelDebug
		if attempt == 1 || attempt%20 == 0 {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "masterclient: no usable master; retrying", "err", err, "attempt", attempt, "retry_in", d)
		if sleep(ctx, d) != nil {
			break
		}
	}
	return nil
}

func backoff(base, maxD time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) disconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.master, c.masterAddr = nil, nil, ""
	if c.registered {
		c.registered = false
		c.regCh = make(chan struct{})
	}
}

// session resolves and connects to the master, registers and heartbeats until
// an error. It reports whether registration succeeded.
func (c *Client) session(ctx context.Context) (bool, error) {
	addr, err := c.cfg.Resolver.Resolve(ctx)
	if err != nil {
		return false, fmt.Errorf("masterclient: resolve master: %w", err)
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, c.cfg.DialOptions...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return false, fmt.Errorf("masterclient: dial %s: %w", addr, err)
	}
	c.mu.Lock()
	c.conn, c.master, c.masterAddr = conn, alluxiopb.NewBlockMasterWorkerServiceClient(conn), addr
	c.mu.Unlock()
	if err := c.register(ctx); err != nil {
		return false, err
	}
	c.log.Info("masterclient: registered with master", "master", addr, "worker_id", c.WorkerID())
	// sctx ends the session, cutting short a call in flight, when another
	// leader is published.
	sctx, endSession := context.WithCancelCause(ctx)
	defer endSession(nil)
	if lw, ok := c.cfg.Resolver.(LeaderWatcher); ok {
		go func() {
			first := true
			for a := range lw.Watch(sctx) {
				if first && a == addr {
					first = false // the leader we are talking to
					continue
				}
				endSession(fmt.Errorf("masterclient: a new leader master was published at %s: %w", a, rpcstatus.ErrNotLeader))
				return
			}
		}()
	}
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-sctx.Done():
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			return true, context.Cause(sctx)
		case <-t.C:
		}
		if err := c.heartbeat(sctx, ctx); err != nil {
			if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
				return true, cause
			}
			return true, err
		}
	}
}

// register gets a worker id and sends the full block report.
func (c *Client) register(ctx context.Context) error {
	c.setRegistered(false)
	c.mu.Lock()
	m := c.master
	c.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
	idResp, err := m.GetWorkerId(cctx, &alluxiopb.GetWorkerIdRequest{WorkerAddress: c.cfg.Address})
	cancel()
	if err != nil {
		return fmt.Errorf("masterclient: get worker id: %w", rpcstatus.FromGRPC(err))
	}
	id := idResp.GetWorkerId()
	rep := c.store.FullReport()
	req := &alluxiopb.RegisterWorkerRequest{
		WorkerId:             id,
		TotalBytesOnTiers:    map[string]int64{},
		UsedBytesOnTiers:     map[string]int64{},
		CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{},
		BlockLengths:         rep.Lengths,
	}
	for _, u := range rep.Tiers {
		req.StorageTiers = append(req.StorageTiers, u.Alias)
		req.TotalBytesOnTiers[u.Alias] = u.Capacity
		req.UsedBytesOnTiers[u.Alias] = u.Used
	}
	for alias, ids := range rep.Blocks {
		req.CurrentBlocksOnTiers[alias] = &alluxiopb.BlockIdList{BlockIds: ids}
	}
	cctx, cancel = context.WithTimeout(ctx, c.cfg.RPCTimeout)
	_, err = m.RegisterWorker(cctx, req)
	cancel()
	if err != nil {
		return fmt.Errorf("masterclient: register worker %d: %w", id, rpcstatus.FromGRPC(err))
	}
	c.registrations.Add(1)
	c.store.AckReport(rep)
	c.mu.Lock()
	c.workerID = id
	c.mu.Unlock()
	c.setRegistered(true)
	return nil
}

// heartbeat sends one heartbeat on ctx (the session's) and carries out the
// answer; PERSIST jobs run on jobCtx, which outlives the session.
func (c *Client) heartbeat(ctx, jobCtx context.Context) error {
	m, id, _ := c.current()
	delta := c.store.Delta()
	persisted, failed := c.persist.results()
	req := &alluxiopb.BlockHeartbeatRequest{
		WorkerId:           id,
		UsedBytesOnTiers:   map[string]int64{},
		RemovedBlockIds:    delta.Removed,
		AddedBlocksOnTiers: map[string]*alluxiopb.BlockIdList{},
		AddedBlockLengths:  delta.Lengths,
		PersistedFileIds:   persisted,
		FailedPersistFiles: failed,
	}
	for _, u := range c.store.Usage() {
		req.UsedBytesOnTiers[u.Alias] = u.Used
	}
	for alias, ids := range delta.Added {
		req.AddedBlocksOnTiers[alias] = &alluxiopb.BlockIdList{BlockIds: ids}
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
	resp, err := m.BlockHeartbeat(cctx, req)
	cancel()
	c.heartbeats.Add(1)
	if err != nil {
		c.heartbeatFailures.Add(1)
		return fmt.Errorf("masterclient: heartbeat: %w", rpcstatus.FromGRPC(err))
	}
	c.store.Ack(delta)
	c.persist.ack(persisted, failed)
	return c.handle(ctx, jobCtx, resp.GetCommand())
}

func (c *Client) handle(ctx, jobCtx context.Context, cmd *alluxiopb.Command) error {
	switch cmd.GetCommandType() {
	case alluxiopb.CommandType_COMMAND_UNKNOWN, alluxiopb.CommandType_COMMAND_NOTHING:
	case alluxiopb.CommandType_COMMAND_REGISTER:
		c.log.Info("masterclient: master asked to register again")
		return c.register(ctx)
	case alluxiopb.CommandType_COMMAND_FREE, alluxiopb.CommandType_COMMAND_DELETE:
		for _, id := range cmd.GetBlockIds() {
			if err := c.store.Remove(id); err != nil && !errors.Is(err, rpcstatus.ErrNotFound) {
				c.log.Warn("masterclient: remove block", "block", id, "err", err)
			}
		}
	case alluxiopb.CommandType_COMMAND_PERSIST:
		for _, f := range cmd.GetPersistFiles() {
			c.persist.start(jobCtx, f)
		}
	default:
		c.log.Warn("masterclient: unknown command", "type", cmd.GetCommandType())
	}
	return nil
}
