package zkleader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/go-zookeeper/zk"
)

// Inquirer finds the leader master through ZooKeeper, for workers, clients
// and the CLI. It connects lazily on first use and keeps the connection
// until Close. It is safe for concurrent use.
type Inquirer struct {
	// RetryInterval separates the lookups of Leader when no leader is
	// published (default 1s, Alluxio's). Set it before first use.
	RetryInterval time.Duration

	cfg    Config
	cfgErr error
	log    *slog.Logger

	mu     sync.Mutex
	sess   *session
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// LeaderInfo describes a published leader node.
type LeaderInfo struct {
	Address string    // host:port, the node's name
	Epoch   int64     // the node's epoch, 0 if it holds none (e.g. written by Alluxio)
	Ctime   time.Time // when the node was created
	Czxid   int64     // the ZooKeeper transaction that created it
}

// NewInquirer returns an Inquirer for cfg. A bad cfg is reported by the
// first call.
func NewInquirer(cfg Config) *Inquirer {
	cfg, err := cfg.normalize()
	return &Inquirer{
		RetryInterval: DefaultRetryInterval,
		cfg:           cfg,
		cfgErr:        err,
		log:           cfg.Logger,
		done:          make(chan struct{}),
	}
}

// session returns the connection, dialing it on first use.
func (q *Inquirer) session() (*session, error) {
	if q.cfgErr != nil {
		return nil, q.cfgErr
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	if q.sess == nil {
		s, err := dial(q.cfg, nil)
		if err != nil {
			return nil, err
		}
		q.sess = s
	}
	return q.sess, nil
}

// Leader returns the address (host:port) of the current leader. When none
// is published it waits on a watch of the leader path and returns as soon
// as a leader node appears; after InquiryRetry intervals of RetryInterval
// without one it fails with an error wrapping rpcstatus.ErrUnavailable. It
// fails the same way when ZooKeeper cannot be reached within the connection
// timeout.
func (q *Inquirer) Leader(ctx context.Context) (string, error) {
	info, err := q.LeaderInfo(ctx)
	return info.Address, err
}

// LeaderInfo is Leader with the leader node's epoch and creation time.
func (q *Inquirer) LeaderInfo(ctx context.Context) (LeaderInfo, error) {
	s, err := q.session()
	if err != nil {
		return LeaderInfo{}, err
	}
	var (
		watch    <-chan zk.Event // fires when the leader path changes; nil when the last look set none
		interval *time.Timer     // the current retry interval; nil before the first
		ended    bool            // the current interval has ended
		retries  int
	)
	defer func() {
		if interval != nil {
			interval.Stop()
		}
	}()
	for {
		if _, err := s.wait(ctx); err != nil {
			return LeaderInfo{}, err
		}
		var info LeaderInfo
		var ok bool
		if interval == nil {
			info, ok, err = q.lookup(ctx, s) // a leader is usually there: no watch
		} else {
			watch, info, ok, err = q.watchOnce(ctx, s)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return LeaderInfo{}, fmt.Errorf("zkleader: find leader under %s at ZooKeeper %s: %w", q.cfg.LeaderPath, q.cfg.serverList(), ctx.Err())
		case errors.Is(err, ErrClosed):
			return LeaderInfo{}, err
		case err != nil:
			q.log.Debug("zkleader: leader lookup failed", "err", err)
			watch = nil // wait out the interval
		case ok:
			return info, nil
		}
		if interval == nil || ended {
			if retries >= q.cfg.InquiryRetry {
				if err == nil {
					err = errors.New("no leader node")
				}
				return LeaderInfo{}, fmt.Errorf("zkleader: no leader under %s at ZooKeeper %s after %d attempts (%v): %w",
					q.cfg.LeaderPath, q.cfg.serverList(), 1+q.cfg.InquiryRetry, err, rpcstatus.ErrUnavailable)
			}
			retries++
			if interval == nil {
				interval = time.NewTimer(q.RetryInterval)
			} else {
				interval.Reset(q.RetryInterval)
			}
			ended = false
			if watch == nil && err == nil {
				continue // look again at once, setting the watch
			}
		}
		select {
		case <-watch:
			// The leader path changed (a clean hand-over publishes the
			// new leader well within the interval): look again.
		case <-interval.C:
			ended = true
		case <-ctx.Done():
			return LeaderInfo{}, fmt.Errorf("zkleader: find leader under %s at ZooKeeper %s: %w", q.cfg.LeaderPath, q.cfg.serverList(), ctx.Err())
		case <-q.done:
			return LeaderInfo{}, ErrClosed
		}
	}
}

// lookup reads the leader path once.
func (q *Inquirer) lookup(ctx context.Context, s *session) (LeaderInfo, bool, error) {
	children, err := call(ctx, func() ([]string, error) {
		c, _, err := s.conn.Children(q.cfg.LeaderPath)
		return c, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return LeaderInfo{}, false, nil
	}
	if err != nil {
		return LeaderInfo{}, false, q.wrapErr(err)
	}
	return q.pick(ctx, s, children)
}

func (q *Inquirer) wrapErr(err error) error {
	if errors.Is(err, zk.ErrClosing) || errors.Is(err, zk.ErrConnectionClosed) && q.isClosed() {
		return ErrClosed
	}
	return fmt.Errorf("zkleader: list %s: %w", q.cfg.LeaderPath, err)
}

func (q *Inquirer) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// pick chooses among the leader nodes: the highest epoch, then the largest
// ctime (Alluxio's rule for stale nodes), then the largest czxid.
func (q *Inquirer) pick(ctx context.Context, s *session, children []string) (LeaderInfo, bool, error) {
	var best LeaderInfo
	found := false
	for _, c := range children {
		type get struct {
			data []byte
			stat *zk.Stat
		}
		g, err := call(ctx, func() (get, error) {
			d, st, err := s.conn.Get(q.cfg.LeaderPath + "/" + c)
			return get{d, st}, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			continue // vanished since the listing
		}
		if err != nil {
			return LeaderInfo{}, false, fmt.Errorf("zkleader: read %s/%s: %w", q.cfg.LeaderPath, c, err)
		}
		epoch, perr := parseEpoch(g.data)
		if perr != nil {
			epoch = 0
		}
		info := LeaderInfo{Address: c, Epoch: epoch, Ctime: time.UnixMilli(g.stat.Ctime), Czxid: g.stat.Czxid}
		if !found || better(info, best) {
			best, found = info, true
		}
	}
	if found && len(children) > 1 {
		q.log.Debug("zkleader: several leader nodes, picked one", "nodes", children, "picked", best.Address, "epoch", best.Epoch)
	}
	return best, found, nil
}

func better(a, b LeaderInfo) bool {
	if a.Epoch != b.Epoch {
		return a.Epoch > b.Epoch
	}
	if !a.Ctime.Equal(b.Ctime) {
		return a.Ctime.After(b.Ctime)
	}
	return a.Czxid > b.Czxid
}

// Watch delivers the leader's address now (if there is one) and each time a
// new leader node is published, including a re-elected leader at the same
// address. Periods without a leader are not reported (WatchInfo reports
// them). The channel holds only the latest address if the reader falls
// behind, and is closed when ctx ends or the Inquirer is closed.
func (q *Inquirer) Watch(ctx context.Context) <-chan string {
	out := make(chan string, 1)
	var last LeaderInfo
	q.follow(ctx, func() { close(out) }, func(info LeaderInfo) {
		if info.Address == "" || info.Address == last.Address && info.Czxid == last.Czxid {
			return
		}
		last = info
		select { // keep only the latest
		case <-out:
		default:
		}
		out <- info.Address
	})
	return out
}

// WatchInfo delivers the leader node now, or a zero LeaderInfo (Address "")
// when none is published, and then every change: a new leader node
// (including a re-elected leader at the same address), or a zero LeaderInfo
// as soon as the last leader node goes away (the leader resigned, or its
// session expired), so a caller can stop using a leader that left. The
// channel holds only the latest state if the reader falls behind, and is
// closed when ctx ends or the Inquirer is closed.
func (q *Inquirer) WatchInfo(ctx context.Context) <-chan LeaderInfo {
	out := make(chan LeaderInfo, 1)
	first := true
	var last LeaderInfo
	q.follow(ctx, func() { close(out) }, func(info LeaderInfo) {
		if !first && info.Address == last.Address && info.Czxid == last.Czxid {
			return
		}
		first, last = false, info
		select { // keep only the latest
		case <-out:
		default:
		}
		out <- info
	})
	return out
}

// follow calls emit, from one goroutine, with the leader node (zero when
// there is none) after every change of the leader path until ctx ends or
// the Inquirer is closed, then calls done.
func (q *Inquirer) follow(ctx context.Context, done func(), emit func(LeaderInfo)) {
	s, err := q.session()
	if err != nil {
		q.log.Warn("zkleader: cannot watch the leader", "err", err)
		done()
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		done()
		return
	}
	q.wg.Add(1)
	q.mu.Unlock()
	go func() {
		defer q.wg.Done()
		defer done()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-q.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		q.watchLoop(ctx, s, emit)
	}()
}

func (q *Inquirer) watchLoop(ctx context.Context, s *session, emit func(LeaderInfo)) {
	var last LeaderInfo
	delay := 50 * time.Millisecond
	for ctx.Err() == nil {
		ch, info, ok, err := q.watchOnce(ctx, s)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			q.log.Debug("zkleader: leader watch interrupted, retrying", "err", err, "delay", delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 50 * time.Millisecond
		if !ok {
			info = LeaderInfo{}
		}
		if info.Address != last.Address || info.Czxid != last.Czxid {
			q.log.Debug("zkleader: leader changed", "leader", info.Address, "epoch", info.Epoch)
		}
		last = info
		emit(info)
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// watchOnce reads the leader path and sets a watch that fires on the next
// change: a child watch, or an existence watch while the path is missing.
func (q *Inquirer) watchOnce(ctx context.Context, s *session) (<-chan zk.Event, LeaderInfo, bool, error) {
	if _, err := s.wait(ctx); err != nil {
		return nil, LeaderInfo{}, false, err
	}
	type childrenW struct {
		children []string
		ch       <-chan zk.Event
	}
	r, err := call(ctx, func() (childrenW, error) {
		c, _, ch, err := s.conn.ChildrenW(q.cfg.LeaderPath)
		return childrenW{c, ch}, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		type existsW struct {
			ok bool
			ch <-chan zk.Event
		}
		e, err := call(ctx, func() (existsW, error) {
			ok, _, ch, err := s.conn.ExistsW(q.cfg.LeaderPath)
			return existsW{ok, ch}, err
		})
		if err != nil {
			return nil, LeaderInfo{}, false, q.wrapErr(err)
		}
		if e.ok { // created meanwhile: look again at once
			ch := make(chan zk.Event, 1)
			ch <- zk.Event{}
			return ch, LeaderInfo{}, false, nil
		}
		return e.ch, LeaderInfo{}, false, nil
	}
	if err != nil {
		return nil, LeaderInfo{}, false, q.wrapErr(err)
	}
	info, ok, err := q.pick(ctx, s, r.children)
	if err != nil {
		return nil, LeaderInfo{}, false, err
	}
	return r.ch, info, ok, nil
}

// Close closes the connection and ends all watches. It is idempotent.
func (q *Inquirer) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.done)
	s := q.sess
	q.mu.Unlock()
	if s != nil {
		s.close()
	}
	q.wg.Wait()
	return nil
}
