package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/zkleader"
)

// ZooKeeperInquireClient finds the leader master through ZooKeeper, as
// Alluxio's fault-tolerant clients do: the leader publishes an ephemeral node
// <alluxio.zookeeper.leader.path>/<host>:<port>, and this client reads it
// (zkleader.Inquirer). No master host name is needed.
//
// It caches the leader and keeps the cache fresh with a ZooKeeper watch, so
// most calls cost nothing: the watch replaces the cached leader as soon as a
// new one is published and clears it as soon as the leader's node goes away
// (a leader that resigned is not asked again). When an RPC to the cached
// leader fails with Unavailable or NOT_LEADER, the FileSystem calls
// InvalidatePrimary and the next GetPrimaryRPCAddress asks ZooKeeper again;
// while no leader is published that lookup waits on its watch and returns
// as soon as one is. It is safe for concurrent use; Close releases the
// ZooKeeper session.
type ZooKeeperInquireClient struct {
	inq     *zkleader.Inquirer
	servers []string

	mu       sync.Mutex
	leader   string // cached leader, "" when unknown
	watchGen uint64 // counts the watch's reports, so a slower lookup does not overwrite a newer one
	waiters  []leaderWaiter
	// nextWaiter numbers the waiters, so stop finds its own.
	nextWaiter uint64
	reached    bool // ZooKeeper answered at least once
	watching   bool
	closed     bool
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// NewZooKeeperInquireClient returns an inquire client for the ZooKeeper
// ensemble and paths of cfg. It connects lazily, on the first lookup.
func NewZooKeeperInquireClient(cfg zkleader.Config) *ZooKeeperInquireClient {
	var servers []string
	for _, s := range cfg.Servers {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				servers = append(servers, p)
			}
		}
	}
	return &ZooKeeperInquireClient{
		inq:     zkleader.NewInquirer(cfg),
		servers: servers,
	}
}

// ZooKeeperConfig returns the zkleader settings of the alluxio.zookeeper.*
// keys of cfg.
func ZooKeeperConfig(cfg *conf.Config) zkleader.Config {
	return zkleader.Config{
		Servers:           cfg.GetList("alluxio.zookeeper.address"),
		SessionTimeout:    cfg.GetDuration("alluxio.zookeeper.session.timeout"),
		ConnectionTimeout: cfg.GetDuration("alluxio.zookeeper.connection.timeout"),
		ElectionPath:      cfg.Get("alluxio.zookeeper.election.path"),
		LeaderPath:        cfg.Get("alluxio.zookeeper.leader.path"),
		InquiryRetry:      cfg.GetInt("alluxio.zookeeper.leader.inquiry.retry"),
	}
}

// Servers returns the ZooKeeper addresses.
func (z *ZooKeeperInquireClient) Servers() []string { return append([]string(nil), z.servers...) }

// GetPrimaryRPCAddress returns the cached leader, or asks ZooKeeper when
// none is cached (at first use and after InvalidatePrimary). When ZooKeeper
// has never answered and none of its servers accepts a connection, the
// error wraps ErrZooKeeperUnreachable (not retried by the FileSystem).
func (z *ZooKeeperInquireClient) GetPrimaryRPCAddress(ctx context.Context) (string, error) {
	z.mu.Lock()
	if z.closed {
		z.mu.Unlock()
		return "", ErrClosed
	}
	if z.leader != "" {
		a := z.leader
		z.mu.Unlock()
		return a, nil
	}
	z.startWatchLocked()
	reached := z.reached
	gen := z.watchGen
	z.mu.Unlock()

	var a string
	var err error
	if reached {
		a, err = z.inq.Leader(ctx)
	} else {
		a, err = z.firstLeader(ctx)
	}
	if err != nil {
		if errors.Is(err, zkleader.ErrClosed) {
			return "", ErrClosed
		}
		var ue *zkUnreachableError
		if errors.As(err, &ue) {
			return "", err
		}
		return "", fmt.Errorf("client: find the leader master in ZooKeeper at %s: %w", strings.Join(z.servers, ","), err)
	}
	return z.setLookedUp(a, gen), nil
}

// setLookedUp records a leader found by a lookup that started when the
// watch had made gen reports, and returns the leader to use: the watch's,
// if it reported a leader since (the lookup may have read an older state,
// such as a crashed leader's node just before it expired).
func (z *ZooKeeperInquireClient) setLookedUp(a string, gen uint64) string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.watchGen != gen && z.leader != "" {
		return z.leader
	}
	z.setLocked(a)
	return a
}

// firstLeader looks the leader up while checking, in parallel, that some
// ZooKeeper server accepts connections at all: when none does, it fails at
// once instead of waiting out the connection timeout.
func (z *ZooKeeperInquireClient) firstLeader(ctx context.Context) (string, error) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		a   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		a, err := z.inq.Leader(lctx)
		ch <- result{a, err}
	}()
	if perr := z.probe(ctx); perr != nil && ctx.Err() == nil {
		cancel()
		r := <-ch
		if r.err == nil { // answered after all
			return r.a, nil
		}
		return "", &zkUnreachableError{servers: strings.Join(z.servers, ","), probe: perr}
	}
	r := <-ch
	return r.a, r.err
}

// InvalidatePrimary forgets the cached leader if it is still addr (an RPC to
// it just failed), so the next GetPrimaryRPCAddress asks ZooKeeper again.
func (z *ZooKeeperInquireClient) InvalidatePrimary(addr string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.leader == addr {
		z.leader = ""
	}
}

// onLeaderChange arranges for fire to be called, once, as soon as
// ZooKeeper publishes a leader other than addr (at once if it has); the
// FileSystem ends an RPC in flight to a deposed leader with it (a paused or
// partitioned one may never answer). fire runs with the client's lock
// held: it must not call back into the client. The returned stop function
// unregisters fire.
func (z *ZooKeeperInquireClient) onLeaderChange(addr string, fire func()) (stop func()) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.leader != "" && z.leader != addr {
		fire()
		return func() {}
	}
	z.nextWaiter++
	id := z.nextWaiter
	z.waiters = append(z.waiters, leaderWaiter{id: id, addr: addr, fire: fire})
	return func() {
		z.mu.Lock()
		defer z.mu.Unlock()
		for i, w := range z.waiters {
			if w.id == id {
				z.waiters = append(z.waiters[:i], z.waiters[i+1:]...)
				return
			}
		}
	}
}

type leaderWaiter struct {
	id   uint64
	addr string
	fire func()
}

// set records a leader learnt from ZooKeeper.
func (z *ZooKeeperInquireClient) set(a string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.setLocked(a)
}

// setLocked is set with z.mu held.
func (z *ZooKeeperInquireClient) setLocked(a string) {
	z.reached = true
	if z.closed {
		return
	}
	z.leader = a
	kept := z.waiters[:0]
	for _, w := range z.waiters {
		if w.addr != a {
			w.fire()
		} else {
			kept = append(kept, w)
		}
	}
	z.waiters = kept
}

// watched records what the watch reports: a newly published leader, or ""
// when the leader's node went away (it resigned, or its session expired),
// which clears the cache so the next call looks the new leader up instead
// of trying the old one. Calls in flight to the old leader are left to
// finish: a leader that resigned drains them.
func (z *ZooKeeperInquireClient) watched(a string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.watchGen++
	if a == "" {
		z.reached = true
		z.leader = ""
		return
	}
	z.setLocked(a)
}

// startWatchLocked starts following the leader node; z.mu is held.
func (z *ZooKeeperInquireClient) startWatchLocked() {
	if z.watching || z.closed {
		return
	}
	z.watching = true
	ctx, cancel := context.WithCancel(context.Background())
	if z.stop != nil {
		z.stop() // the previous watch, already ended
	}
	z.stop = cancel
	ch := z.inq.WatchInfo(ctx)
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		for info := range ch {
			z.watched(info.Address)
		}
		// The watch ended: closed, or it could not start (no session);
		// the next lookup starts another.
		z.mu.Lock()
		z.watching = false
		z.mu.Unlock()
	}()
}

// probe tries a TCP connection to each ZooKeeper server, to tell "ZooKeeper
// is down" from "no leader is published"; it returns the last dial error
// when none answers.
func (z *ZooKeeperInquireClient) probe(ctx context.Context) error {
	if len(z.servers) == 0 {
		return errors.New("no servers configured (alluxio.zookeeper.address)")
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	errs := make(chan error, len(z.servers))
	for _, s := range z.servers {
		go func() {
			c, err := d.DialContext(ctx, "tcp", s)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	var last error
	for range z.servers {
		err := <-errs
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}

// zkUnreachableError says that no ZooKeeper server could be reached.
type zkUnreachableError struct {
	servers string
	probe   error // a dial error
}

func (e *zkUnreachableError) Error() string {
	return fmt.Sprintf("cannot reach ZooKeeper at %s: %v", e.servers, e.probe)
}

func (e *zkUnreachableError) Unwrap() []error {
	return []error{ErrZooKeeperUnreachable, rpcstatus.ErrUnavailable}
}

// Close ends the watch and the ZooKeeper session. It is idempotent.
func (z *ZooKeeperInquireClient) Close() error {
	z.mu.Lock()
	if z.closed {
		z.mu.Unlock()
		return nil
	}
	z.closed = true
	stop := z.stop
	z.mu.Unlock()
	if stop != nil {
		stop()
	}
	err := z.inq.Close()
	z.wg.Wait()
	return err
}
