package zkleader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// ErrResigned is the cause of a term ended by Resign.
var ErrResigned = errors.New("zkleader: resigned")

// errNodeGone means the candidate node vanished (its session expired); the
// campaign starts over with a new node.
var errNodeGone = errors.New("zkleader: candidate node vanished")

// Elector takes part in the leader election for one participant (a master's
// host:port). It owns one ZooKeeper connection; after a session expiry the
// client library opens a new session on it by itself.
type Elector struct {
	cfg   Config
	id    string
	log   *slog.Logger
	sess  *session
	lease time.Duration // Valid fails after this much silence from ZooKeeper

	term atomic.Pointer[Term] // the latest term, seen by the state callback

	mu          sync.Mutex // guards the fields below; never held across ZooKeeper calls
	campaigning bool
	closed      bool
	done        chan struct{} // closed by Close
	wg          sync.WaitGroup
}

// NewElector connects to ZooKeeper and prepares the election and leader
// paths. participantID is the master's advertised host:port; it names the
// leader node. It fails after cfg.ConnectionTimeout (or when ctx ends) if no
// ZooKeeper server can be reached, with an error naming the servers.
func NewElector(ctx context.Context, cfg Config, participantID string) (*Elector, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(participantID); err != nil || strings.Contains(participantID, "/") {
		return nil, fmt.Errorf("zkleader: participant id %q is not host:port", participantID)
	}
	e := &Elector{
		cfg:   cfg,
		id:    participantID,
		log:   cfg.Logger.With("participant", participantID),
		lease: cfg.SessionTimeout * 2 / 3,
		done:  make(chan struct{}),
	}
	e.sess, err = dial(cfg, e.onState)
	if err != nil {
		return nil, err
	}
	if _, err := e.sess.wait(ctx); err != nil {
		e.sess.close()
		return nil, err
	}
	for _, p := range []string{cfg.ElectionPath, cfg.LeaderPath} {
		if err := e.sess.ensurePath(ctx, p); err != nil {
			e.sess.close()
			return nil, err
		}
	}
	return e, nil
}

// ID returns the participant id (host:port).
func (e *Elector) ID() string { return e.id }

// onState runs on the client library's goroutine for every session state
// change: any state but "connected with a session" ends the current term at
// once, before ZooKeeper could have elected anyone else.
func (e *Elector) onState(st zk.State) {
	if st == zk.StateHasSession {
		return
	}
	if t := e.term.Load(); t != nil {
		t.lose(fmt.Errorf("zkleader: ZooKeeper connection %s", stateName(st)))
	}
}

func stateName(st zk.State) string {
	switch st {
	case zk.StateDisconnected:
		return "disconnected"
	case zk.StateExpired:
		return "session expired"
	case zk.StateConnecting:
		return "reconnecting"
	}
	return strings.ToLower(strings.TrimPrefix(st.String(), "State"))
}

// Campaign blocks until this participant is the leader and returns its term,
// or until ctx ends, the Elector is closed, or ZooKeeper cannot be reached
// within the connection timeout. Only one Campaign may run at a time, and
// not while a term of this Elector is still valid. After a term is lost
// (see Term.Lost) Campaign may be called again.
func (e *Elector) Campaign(ctx context.Context) (*Term, error) {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return nil, ErrClosed
	case e.campaigning:
		e.mu.Unlock()
		return nil, errors.New("zkleader: a campaign is already running")
	}
	prev := e.term.Load()
	if prev != nil && prev.valid.Load() {
		e.mu.Unlock()
		return nil, fmt.Errorf("zkleader: already leader with epoch %d; resign first", prev.epoch)
	}
	e.campaigning = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.campaigning = false
		e.mu.Unlock()
	}()

	// The previous term's nodes must be gone before new ones with the same
	// name are created, or its clean-up could delete them. The clean-up
	// needs the connection, so wait for it (bounded by the connection
	// timeout) first.
	if prev != nil {
		if _, err := e.sess.wait(ctx); err != nil {
			return nil, err
		}
		select {
		case <-prev.cleaned:
		case <-ctx.Done():
			return nil, fmt.Errorf("zkleader: campaign: %w", ctx.Err())
		case <-e.done:
			return nil, ErrClosed
		}
	}

	start := time.Now()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return nil, fmt.Errorf("zkleader: campaign: %w", ctx.Err())
			case <-e.done:
				return nil, ErrClosed
			}
		}
		t, err := e.campaignOnce(ctx, start)
		if err == nil {
			return t, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("zkleader: campaign: %w", ctx.Err())
		}
		if e.isClosed() {
			return nil, ErrClosed
		}
		if !isConnErr(err) && !errors.Is(err, errNodeGone) {
			return nil, err
		}
		e.log.Info("zkleader: campaign interrupted, starting over", "err", err)
	}
}

func (e *Elector) campaignOnce(ctx context.Context, start time.Time) (*Term, error) {
	sid, err := e.sess.wait(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{e.cfg.ElectionPath, e.cfg.LeaderPath} {
		if err := e.sess.ensurePath(ctx, p); err != nil {
			return nil, err
		}
	}
	// Candidate nodes of this session left by an abandoned campaign would
	// otherwise stand in the queue forever.
	if err := e.removeOwnCandidates(ctx, sid); err != nil {
		return nil, err
	}
	node, err := call(ctx, func() (string, error) {
		return e.sess.conn.CreateProtectedEphemeralSequential(e.cfg.ElectionPath+"/n_", []byte(e.id), zk.WorldACL(zk.PermAll))
	})
	if err != nil {
		return nil, fmt.Errorf("zkleader: create candidate node under %s: %w", e.cfg.ElectionPath, err)
	}
	e.log.Debug("zkleader: candidate", "node", node)
	won := false
	defer func() {
		if !won {
			e.deleteInBackground(node, sid)
		}
	}()
	if err := e.waitLowest(ctx, node); err != nil {
		return nil, err
	}
	t, err := e.establish(ctx, node, sid)
	if err != nil {
		return nil, err
	}
	won = true
	e.log.Info("zkleader: elected leader", "epoch", t.epoch, "node", node, "waited", time.Since(start))
	return t, nil
}

// removeOwnCandidates deletes candidate nodes owned by session sid.
func (e *Elector) removeOwnCandidates(ctx context.Context, sid int64) error {
	children, err := call(ctx, func() ([]string, error) {
		c, _, err := e.sess.conn.Children(e.cfg.ElectionPath)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("zkleader: list %s: %w", e.cfg.ElectionPath, err)
	}
	for _, c := range children {
		if err := e.deleteOwned(ctx, e.cfg.ElectionPath+"/"+c, sid); err != nil {
			return err
		}
	}
	return nil
}

// deleteOwned deletes the ephemeral node p if session sid owns it.
func (e *Elector) deleteOwned(ctx context.Context, p string, sid int64) error {
	stat, err := call(ctx, func() (*zk.Stat, error) {
		ok, st, err := e.sess.conn.Exists(p)
		if err == nil && !ok {
			st = nil
		}
		return st, err
	})
	if err != nil {
		return fmt.Errorf("zkleader: stat %s: %w", p, err)
	}
	if stat == nil || stat.EphemeralOwner != sid {
		return nil
	}
	_, err = call(ctx, func() (struct{}, error) { return struct{}{}, e.sess.conn.Delete(p, stat.Version) })
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
		return fmt.Errorf("zkleader: delete %s: %w", p, err)
	}
	return nil
}

// deleteInBackground removes an abandoned candidate node without making the
// caller wait for a possibly absent connection.
func (e *Elector) deleteInBackground(node string, sid int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return // closing the session removes it
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := contextUntil(e.done, nil)
		defer cancel()
		ctx, cancel2 := context.WithTimeout(ctx, e.cfg.ConnectionTimeout)
		defer cancel2()
		if err := e.deleteOwned(ctx, node, sid); err != nil {
			e.log.Debug("zkleader: abandoned candidate not deleted (it goes with the session)", "node", node, "err", err)
		}
	}()
}

// waitLowest blocks until node has the lowest sequence number among the
// candidates, watching only its predecessor.
func (e *Elector) waitLowest(ctx context.Context, node string) error {
	name := path.Base(node)
	for {
		children, err := call(ctx, func() ([]string, error) {
			c, _, err := e.sess.conn.Children(e.cfg.ElectionPath)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("zkleader: list %s: %w", e.cfg.ElectionPath, err)
		}
		sorted := sortCandidates(children)
		idx := -1
		for i, c := range sorted {
			if c == name {
				idx = i
				break
			}
		}
		if idx < 0 {
			return errNodeGone
		}
		if idx == 0 {
			return nil
		}
		pred := e.cfg.ElectionPath + "/" + sorted[idx-1]
		type existsW struct {
			ok bool
			ch <-chan zk.Event
		}
		r, err := call(ctx, func() (existsW, error) {
			ok, _, ch, err := e.sess.conn.ExistsW(pred)
			return existsW{ok, ch}, err
		})
		if err != nil {
			return fmt.Errorf("zkleader: watch %s: %w", pred, err)
		}
		if !r.ok {
			continue
		}
		e.log.Debug("zkleader: waiting for predecessor", "node", name, "predecessor", pred, "position", idx)
		select {
		case <-r.ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return ErrClosed
		}
	}
}

// sortCandidates orders candidate node names by their sequence number (the
// last ten digits); names without one are dropped.
func sortCandidates(names []string) []string {
	type cand struct {
		name string
		seq  int64
	}
	var cs []cand
	for _, n := range names {
		if seq, ok := sequenceOf(n); ok {
			cs = append(cs, cand{n, seq})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.name
	}
	return out
}

func sequenceOf(name string) (int64, bool) {
	if len(name) < 10 {
		return 0, false
	}
	seq, err := strconv.ParseInt(name[len(name)-10:], 10, 64)
	if err != nil || seq < 0 {
		return 0, false
	}
	return seq, true
}

// establish takes the next epoch and publishes the leader node, atomically
// with a check that the candidate node still exists.
func (e *Elector) establish(ctx context.Context, node string, sid int64) (*Term, error) {
	leaderNode := e.cfg.LeaderPath + "/" + e.id
	epochPath := e.cfg.epochPath()
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			return nil, fmt.Errorf("zkleader: could not take an epoch from %s after %d attempts", epochPath, attempt)
		}
		if err := e.removeStaleLeaderNode(ctx, leaderNode); err != nil {
			return nil, err
		}
		type get struct {
			data []byte
			stat *zk.Stat
		}
		g, err := call(ctx, func() (get, error) {
			d, st, err := e.sess.conn.Get(epochPath)
			return get{d, st}, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			_, err := call(ctx, func() (string, error) {
				return e.sess.conn.Create(epochPath, []byte("0"), 0, zk.WorldACL(zk.PermAll))
			})
			if err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return nil, fmt.Errorf("zkleader: create %s: %w", epochPath, err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("zkleader: read %s: %w", epochPath, err)
		}
		cur, err := parseEpoch(g.data)
		if err != nil {
			return nil, fmt.Errorf("zkleader: epoch node %s holds %q, not an epoch number", epochPath, g.data)
		}
		next := cur + 1
		nextData := []byte(strconv.FormatInt(next, 10))
		res, err := call(ctx, func() ([]zk.MultiResponse, error) {
			return e.sess.conn.Multi(
				&zk.CheckVersionRequest{Path: node, Version: -1},
				&zk.SetDataRequest{Path: epochPath, Data: nextData, Version: g.stat.Version},
				&zk.CreateRequest{Path: leaderNode, Data: nextData, Acl: zk.WorldACL(zk.PermAll), Flags: zk.FlagEphemeral},
			)
		})
		switch {
		case err == nil:
		case len(res) == 3 && errors.Is(res[0].Error, zk.ErrNoNode):
			return nil, errNodeGone
		case errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrNodeExists):
			// Raced with another writer of the counter or the leader node.
			e.log.Warn("zkleader: epoch update raced, retrying", "err", err)
			continue
		default:
			return nil, fmt.Errorf("zkleader: take epoch %d and publish %s: %w", next, leaderNode, err)
		}
		t := &Term{
			e:            e,
			epoch:        next,
			sessionID:    sid,
			electionNode: node,
			leaderNode:   leaderNode,
			lost:         make(chan struct{}),
			cleaned:      make(chan struct{}),
		}
		t.valid.Store(true)
		e.term.Store(t)
		// A state change before the Store above was not seen by onState.
		if cur, _, _ := e.sess.current(); cur != sid {
			t.lose(errors.New("zkleader: ZooKeeper session lost while taking leadership"))
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			t.lose(ErrClosed)
			return t, nil
		}
		e.wg.Add(2)
		e.mu.Unlock()
		go t.watch(node)
		go t.watch(leaderNode)
		return t, nil
	}
}

// removeStaleLeaderNode deletes a leader node carrying this participant's
// name, left by an earlier process (or term) whose session is still alive.
func (e *Elector) removeStaleLeaderNode(ctx context.Context, leaderNode string) error {
	stat, err := call(ctx, func() (*zk.Stat, error) {
		ok, st, err := e.sess.conn.Exists(leaderNode)
		if err == nil && !ok {
			st = nil
		}
		return st, err
	})
	if err != nil {
		return fmt.Errorf("zkleader: stat %s: %w", leaderNode, err)
	}
	if stat == nil {
		return nil
	}
	e.log.Warn("zkleader: deleting stale leader node", "node", leaderNode, "owner_session", fmt.Sprintf("0x%x", stat.EphemeralOwner))
	_, err = call(ctx, func() (struct{}, error) { return struct{}{}, e.sess.conn.Delete(leaderNode, -1) })
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("zkleader: delete stale %s: %w", leaderNode, err)
	}
	return nil
}

func parseEpoch(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 0 {
		err = errors.New("negative")
	}
	return n, err
}

func (e *Elector) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Close ends the Elector: the current term is lost, and closing the
// ZooKeeper session deletes its nodes at once. Close is idempotent.
func (e *Elector) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	e.mu.Unlock()
	if t := e.term.Load(); t != nil {
		t.lose(ErrClosed)
	}
	e.sess.close()
	e.wg.Wait()
	return nil
}

// Term is one leadership term.
type Term struct {
	e            *Elector
	epoch        int64
	sessionID    int64
	electionNode string
	leaderNode   string

	valid   atomic.Bool
	once    sync.Once
	lost    chan struct{} // closed when the term ends
	cleaned chan struct{} // closed when the term's nodes are gone (or left to the session)

	mu    sync.Mutex
	cause error
}

// Epoch returns the term's epoch: strictly greater than that of every earlier
// term, of any participant.
func (t *Term) Epoch() int64 { return t.epoch }

// Lost returns a channel closed as soon as the term ends: ZooKeeper
// connection lost (even briefly) or session expired, a node of the term
// deleted, Resign, or Close. A leader must stop acknowledging writes then.
func (t *Term) Lost() <-chan struct{} { return t.lost }

// Valid reports whether the term still holds: not lost, and ZooKeeper heard
// from within two thirds of the session timeout. It is cheap enough for
// every write.
func (t *Term) Valid() bool {
	return t.valid.Load() && t.e.sess.sinceHeard() < t.e.lease
}

// Cause returns why the term ended, or nil while it holds.
func (t *Term) Cause() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cause
}

// LeaderNode returns the path of the published leader node.
func (t *Term) LeaderNode() string { return t.leaderNode }

// Resign ends the term and deletes its leader and candidate nodes, so a
// waiting participant takes over without waiting for a session timeout. It
// waits for the deletion until ctx ends; if ZooKeeper is unreachable the
// deletion continues in the background.
func (t *Term) Resign(ctx context.Context) error {
	t.lose(ErrResigned)
	select {
	case <-t.cleaned:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("zkleader: resign epoch %d: nodes not yet deleted: %w", t.epoch, ctx.Err())
	}
}

// lose ends the term (once) and starts deleting its nodes.
func (t *Term) lose(cause error) {
	t.once.Do(func() {
		t.valid.Store(false)
		t.mu.Lock()
		t.cause = cause
		t.mu.Unlock()
		close(t.lost)
		e := t.e
		if errors.Is(cause, ErrResigned) || errors.Is(cause, ErrClosed) {
			e.log.Info("zkleader: leadership ended", "epoch", t.epoch, "cause", cause)
		} else {
			e.log.Warn("zkleader: leadership lost", "epoch", t.epoch, "cause", cause)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.closed {
			close(t.cleaned) // closing the session deletes the nodes
			return
		}
		e.wg.Add(1)
		go t.cleanup()
	})
}

// cleanup deletes the term's nodes as soon as the session allows. It gives up
// when the session has changed (its ephemeral nodes went with it) or the
// Elector closes (closing the session deletes them).
func (t *Term) cleanup() {
	e := t.e
	defer e.wg.Done()
	defer close(t.cleaned)
	ctx, cancel := contextUntil(e.done, nil)
	defer cancel()
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		sid, err := e.sess.wait(ctx)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		if err == nil {
			if sid != t.sessionID {
				return
			}
			err = e.deleteOwned(ctx, t.leaderNode, sid)
			if err == nil {
				err = e.deleteOwned(ctx, t.electionNode, sid)
			}
			if err == nil {
				e.log.Debug("zkleader: term nodes deleted", "epoch", t.epoch)
				return
			}
		}
		e.log.Debug("zkleader: deleting term nodes, will retry", "epoch", t.epoch, "err", err)
		select {
		case <-time.After(delay):
		case <-e.done:
			return
		}
	}
}

// watch ends the term when node p is deleted.
func (t *Term) watch(p string) {
	defer t.e.wg.Done()
	ctx, cancel := contextUntil(t.e.done, t.lost)
	defer cancel()
	for {
		type existsW struct {
			ok bool
			ch <-chan zk.Event
		}
		r, err := call(ctx, func() (existsW, error) {
			ok, _, ch, err := t.e.sess.conn.ExistsW(p)
			return existsW{ok, ch}, err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			t.lose(fmt.Errorf("zkleader: watch %s: %w", p, err))
			return
		}
		if !r.ok {
			t.lose(fmt.Errorf("zkleader: %s was deleted", p))
			return
		}
		select {
		case ev := <-r.ch:
			if ev.Type == zk.EventNodeDeleted {
				t.lose(fmt.Errorf("zkleader: %s was deleted", p))
				return
			}
			if ev.Err != nil {
				t.lose(fmt.Errorf("zkleader: watch %s: %w", p, ev.Err))
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// contextUntil returns a context canceled when a or b (either may be nil)
// is closed, or when cancel is called.
func contextUntil(a, b <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-a:
		case <-b:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}
