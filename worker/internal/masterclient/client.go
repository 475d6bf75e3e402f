// Package masterclient keeps a worker registered with the leader master: it
// finds the master through a MasterResolver, gets a worker id, registers with
// a full block report, heartbeats with the blocks added and removed since the
// last accepted heartbeat, and carries out the master's commands (REGISTER,
// FREE, DELETE, PERSIST). On any connection error it backs off, resolves the
// master again and re-registers; it never gives up while its context lives.
//
// With a resolver that follows the leader (LeaderWatcher, such as
// ZKResolver), the client watches the leader for the whole of Run: a
// session ends as soon as another leader is published or the leader's node
// goes away, and the back-off between sessions ends as soon as a new leader
// is published, so the worker registers with a new leader within moments of
// its election. While the leader is unknown or unreachable the back-off
// stays short (LeaderBackoffMax). A block commit that fails because the
// master stopped leading is retried against the new leader (within
// CommitRetryTimeout).
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
// the same address), and may deliver "" when the leader's node goes away;
// the channel may keep only the latest value. With it, the client leaves a
// master as soon as another leader is published (or the leader left)
// instead of waiting for a heartbeat to fail, and registers with the new
// one without waiting out its back-off.
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
	// BackoffBase and BackoffMax bound the wait between reconnection
	// attempts (defaults 100ms and 5s).
	BackoffBase, BackoffMax time.Duration
	// LeaderBackoffMax (default 500ms) caps the wait instead of BackoffMax
	// while the leader is unknown or unreachable (the last attempt failed
	// with Unavailable, NOT_LEADER or a timeout): a failover then costs at
	// most this much on top of the election.
	LeaderBackoffMax time.Duration
	// CommitRetryTimeout (default RPCTimeout) bounds how long CommitBlock
	// waits for a registration and retries a commit that failed with
	// Unavailable or NOT_LEADER against the next leader.
	CommitRetryTimeout time.Duration
	UFS                *ufs.Registry // for PERSIST
	Logger             *slog.Logger
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
	// The current session: its number (counting from 1), a channel closed
	// when it ends, and the function that ends it.
	sessSeq  uint64
	sessDone <-chan struct{}
	sessEnd  context.CancelCauseFunc

	persist *persister

	mountTable mountTable // for MountProperties

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
	if cfg.LeaderBackoffMax <= 0 {
		cfg.LeaderBackoffMax = 500 * time.Millisecond
	}
	if cfg.CommitRetryTimeout <= 0 {
		cfg.CommitRetryTimeout = cfg.RPCTimeout
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

// registration is what CommitBlock needs of a session.
type registration struct {
	master   alluxiopb.BlockMasterWorkerServiceClient
	addr     string
	workerID int64
	seq      uint64
	done     <-chan struct{} // closed when the session ends
}

// waitRegistered waits until the worker is registered in a session after
// session number after, ctx is done or deadline passes.
func (c *Client) waitRegistered(ctx context.Context, after uint64, deadline time.Time) (registration, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		c.mu.Lock()
		r := registration{master: c.master, addr: c.masterAddr, workerID: c.workerID, seq: c.sessSeq, done: c.sessDone}
		ok := c.registered && c.sessSeq > after
		var ch <-chan struct{} = c.regCh
		if c.registered && !ok {
			// Still registered in the session that failed: it is ending.
			if c.sessDone == nil || isClosed(c.sessDone) {
				c.registered = false
				c.regCh = make(chan struct{})
				ch = c.regCh
			} else {
				ch = c.sessDone
			}
		}
		c.mu.Unlock()
		if ok {
			return r, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return registration{}, ctx.Err()
		case <-t.C:
			return registration{}, fmt.Errorf("masterclient: not registered with a master after %v: %w", c.cfg.CommitRetryTimeout, rpcstatus.ErrUnavailable)
		}
	}
}

// endSession ends session seq, if it is still the current one, with cause.
func (c *Client) endSession(seq uint64, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessSeq == seq && c.sessEnd != nil {
		c.sessEnd(cause)
	}
}

// CommitBlock tells the master that a block is stored here. Before the
// worker is registered it waits for the registration. When the commit fails
// because the master is unavailable or no longer leads (a failover), or the
// session ends while the commit is in flight (another leader was
// published), it ends the session, waits for the registration with the next
// leader and commits there (a commit is idempotent); all of this within
// CommitRetryTimeout.
func (c *Client) CommitBlock(ctx context.Context, blockID, length int64, tier string, usedOnTier int64) error {
	deadline := time.Now().Add(c.cfg.CommitRetryTimeout)
	var failed uint64 // the session the last attempt failed in
	var lastErr error
	for {
		r, err := c.waitRegistered(ctx, failed, deadline)
		if err != nil {
			if lastErr != nil {
				return fmt.Errorf("masterclient: commit block %d: %w (last attempt: %w)", blockID, err, lastErr)
			}
			return err
		}
		err = c.commitOnce(ctx, r, blockID, length, tier, usedOnTier)
		if err == nil {
			return nil
		}
		cut := ctx.Err() == nil && isClosed(r.done) // the session ended during the call
		if ctx.Err() != nil || !(rpcstatus.Retryable(err) || cut) || !time.Now().Before(deadline) {
			return fmt.Errorf("masterclient: commit block %d to %s: %w", blockID, r.addr, err)
		}
		c.log.Info("masterclient: block commit failed; retrying with the leader", "block", blockID, "master", r.addr, "err", err)
		c.endSession(r.seq, fmt.Errorf("masterclient: commit to %s failed: %w", r.addr, err))
		failed, lastErr = r.seq, err
	}
}

// commitOnce sends one commit in session r; the call is cut short when the
// session ends.
func (c *Client) commitOnce(ctx context.Context, r registration, blockID, length int64, tier string, usedOnTier int64) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
	defer cancel()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-r.done:
			cancel()
		case <-finished:
		}
	}()
	_, err := r.master.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{
		WorkerId: r.workerID, BlockId: blockID, Length: length, TierAlias: tier, UsedBytesOnTier: usedOnTier,
	})
	return rpcstatus.FromGRPC(err)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Run keeps the worker registered and heartbeating until ctx is done, then
// waits for running PERSIST jobs to stop. It returns nil on cancellation.
func (c *Client) Run(ctx context.Context) error {
	defer c.persist.wait()
	defer c.disconnect()
	feed := newLeaderFeed()
	if lw, ok := c.cfg.Resolver.(LeaderWatcher); ok {
		wctx, stop := context.WithCancel(ctx)
		ch := lw.Watch(wctx)
		followed := make(chan struct{})
		go func() {
			defer close(followed)
			for a := range ch {
				feed.report(a)
			}
			// The watch ended: sessions ask the resolver again.
			feed.forget()
		}()
		defer func() {
			stop()
			<-followed
		}()
	}
	attempt := 0
	for ctx.Err() == nil {
		wasRegistered, seen, err := c.session(ctx, feed)
		if ctx.Err() != nil {
			break
		}
		c.disconnect()
		if wasRegistered {
			attempt = 0 // a session that worked restarts the backoff
		}
		attempt++
		base, maxD := c.cfg.BackoffBase, c.cfg.BackoffMax
		if leaderUnreachable(err) {
			maxD = min(maxD, c.cfg.LeaderBackoffMax)
		}
		if errors.Is(err, rpcstatus.ErrNotLeader) && attempt <= notLeaderFastRetries {
			// Typically a leader just published that is still taking
			// over (sealing the previous term's journal): it serves
			// within milliseconds.
			base = min(base, notLeaderBackoffBase)
		}
		d := backoff(base, maxD, attempt)
		// Warn on the first failure of an outage (and now and then after), not on every retry.
		level := slog.LevelDebug
		if attempt == 1 || attempt%20 == 0 {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "masterclient: no usable master; retrying", "err", err, "attempt", attempt, "retry_in", d)
		published, werr := feed.waitLeader(ctx, seen, d)
		if werr != nil {
			break
		}
		if published {
			attempt = 0 // a new leader: try it at once, and quickly again
		}
	}
	return nil
}

// A master that answers NOT_LEADER is retried notLeaderFastRetries times
// with a back-off from notLeaderBackoffBase before the usual one.
const (
	notLeaderFastRetries = 5
	notLeaderBackoffBase = 10 * time.Millisecond
)

// leaderUnreachable reports errors that mean the leader is unknown or
// cannot be reached (rather than a leader refusing the worker).
func leaderUnreachable(err error) bool {
	return rpcstatus.Retryable(err) || errors.Is(err, context.DeadlineExceeded)
}

func backoff(base, maxD time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

func (c *Client) disconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.master, c.masterAddr = nil, nil, ""
	if c.sessEnd != nil {
		c.sessEnd(errors.New("masterclient: disconnected"))
	}
	c.sessDone, c.sessEnd = nil, nil
	if c.registered {
		c.registered = false
		c.regCh = make(chan struct{})
	}
}

// session resolves and connects to the master, registers and heartbeats until
// an error. It reports whether registration succeeded, and how many reports
// of the feed it has taken into account (a later report of a leader ends
// the back-off that follows).
//
// The leader is the feed's when it names one, else the resolver's. The
// session ends, cutting short a call in flight, when the feed reports a new
// leader or that the leader's node went away.
func (c *Client) session(ctx context.Context, feed *leaderFeed) (bool, uint64, error) {
	addr, gen, _ := feed.get()
	// catchUp: the address came from the resolver, and the feed may not
	// have reported it yet; its first report of it is no change.
	catchUp := false
	if addr == "" {
		var err error
		addr, err = c.cfg.Resolver.Resolve(ctx)
		if err != nil {
			return false, gen, fmt.Errorf("masterclient: resolve master: %w", err)
		}
		var cur string
		cur, gen, _ = feed.get()
		catchUp = cur != addr
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, c.cfg.DialOptions...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return false, gen, fmt.Errorf("masterclient: dial %s: %w", addr, err)
	}
	sctx, endSession := context.WithCancelCause(ctx)
	defer endSession(nil)
	c.mu.Lock()
	c.conn, c.master, c.masterAddr = conn, alluxiopb.NewBlockMasterWorkerServiceClient(conn), addr
	c.sessSeq++
	c.sessDone, c.sessEnd = sctx.Done(), endSession
	c.mu.Unlock()

	var seen atomic.Uint64
	seen.Store(gen)
	go func() {
		g := gen
		for {
			a, ng, changed := feed.get()
			switch {
			case ng == g:
			case catchUp && a == addr:
				catchUp, g = false, ng
				seen.Store(g)
			case catchUp && a == "":
				g = ng // an older state than the resolver's answer
				seen.Store(g)
			case a == "":
				endSession(fmt.Errorf("masterclient: the leader master %s left (no leader is published): %w", addr, rpcstatus.ErrNotLeader))
				return
			default:
				endSession(fmt.Errorf("masterclient: a new leader master was published at %s: %w", a, rpcstatus.ErrNotLeader))
				return
			}
			select {
			case <-changed:
			case <-sctx.Done():
				return
			}
		}
	}()
	ended := func(err error) error {
		if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
			return cause
		}
		return err
	}

	if err := c.register(sctx); err != nil {
		return false, seen.Load(), ended(err)
	}
	c.log.Info("masterclient: registered with master", "master", addr, "worker_id", c.WorkerID())
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-sctx.Done():
			if ctx.Err() != nil {
				return true, seen.Load(), ctx.Err()
			}
			return true, seen.Load(), context.Cause(sctx)
		case <-t.C:
		}
		if err := c.heartbeat(sctx, ctx); err != nil {
			return true, seen.Load(), ended(err)
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
