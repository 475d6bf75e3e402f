package zkleader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/go-zookeeper/zk"
)

// session wraps one zk.Conn: it tracks the connection state, lets callers
// wait for a live session with a deadline, and records when the server was
// last heard from. The client library re-establishes connections, and after
// an expiry a new session, by itself.
type session struct {
	cfg  Config
	log  *slog.Logger
	conn *zk.Conn
	// onState, if set, is called synchronously for every session state
	// change. It runs on the library's goroutine and must not block or call
	// the connection.
	onState func(zk.State)

	connPtr  atomic.Pointer[zk.Conn] // conn, for the event callback (which may run before dial returns)
	base     time.Time               // monotonic origin of lastRecv
	lastRecv atomic.Int64            // nanoseconds since base of the last bytes received

	mu      sync.Mutex
	state   zk.State
	id      int64         // session id while state == StateHasSession
	changed chan struct{} // closed and replaced on every state change
	closed  bool
}

func dial(cfg Config, onState func(zk.State)) (*session, error) {
	s := &session{
		cfg:     cfg,
		log:     cfg.Logger,
		onState: onState,
		base:    time.Now(),
		state:   zk.StateDisconnected,
		changed: make(chan struct{}),
	}
	conn, _, err := zk.Connect(cfg.Servers, cfg.SessionTimeout,
		zk.WithLogger(zkLogger{cfg.Logger}),
		zk.WithLogInfo(false),
		zk.WithDialer(s.dialer),
		zk.WithEventCallback(s.event),
	)
	if err != nil {
		return nil, fmt.Errorf("zkleader: connect to ZooKeeper at %s: %w", cfg.serverList(), err)
	}
	s.conn = conn
	s.connPtr.Store(conn)
	return s, nil
}

// dialer records every read so sinceHeard can tell how long the server has
// been silent.
func (s *session) dialer(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, s: s}, nil
}

type recordingConn struct {
	net.Conn
	s *session
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.s.lastRecv.Store(int64(time.Since(c.s.base)))
	}
	return n, err
}

// sinceHeard is the time since the server last sent anything.
func (s *session) sinceHeard() time.Duration {
	return time.Since(s.base) - time.Duration(s.lastRecv.Load())
}

func (s *session) event(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	s.state = ev.State
	if ev.State == zk.StateHasSession {
		if c := s.connPtr.Load(); c != nil {
			s.id = c.SessionID()
		}
	} else {
		s.id = 0
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.log.Debug("zookeeper session state", "state", ev.State.String(), "server", ev.Server)
	if s.onState != nil {
		s.onState(ev.State)
	}
}

// current returns the session id (0 unless connected with a session) and
// a channel closed at the next state change.
func (s *session) current() (int64, chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == zk.StateHasSession && s.id == 0 {
		if c := s.connPtr.Load(); c != nil {
			s.id = c.SessionID()
		}
	}
	return s.id, s.changed, s.closed
}

// wait blocks until the connection has a live session and returns its id. It
// fails after cfg.ConnectionTimeout with an error naming the servers and
// wrapping rpcstatus.ErrUnavailable, or when ctx ends.
func (s *session) wait(ctx context.Context) (int64, error) {
	timer := time.NewTimer(s.cfg.ConnectionTimeout)
	defer timer.Stop()
	for {
		id, changed, closed := s.current()
		if closed {
			return 0, ErrClosed
		}
		if id != 0 {
			return id, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, fmt.Errorf("zkleader: connecting to ZooKeeper at %s: %w", s.cfg.serverList(), ctx.Err())
		case <-timer.C:
			return 0, fmt.Errorf("zkleader: cannot connect to ZooKeeper at %s within %v: %w",
				s.cfg.serverList(), s.cfg.ConnectionTimeout, rpcstatus.ErrUnavailable)
		}
	}
}

func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.conn.Close()
}

// call runs a blocking ZooKeeper operation and returns early when ctx ends.
// The library's calls take no context; an abandoned call finishes in the
// background when the connection answers, fails or closes.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// ensurePath creates p and its ancestors as persistent nodes.
func (s *session) ensurePath(ctx context.Context, p string) error {
	if p == "/" || p == "" {
		return nil
	}
	exists, err := call(ctx, func() (bool, error) {
		ok, _, err := s.conn.Exists(p)
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("zkleader: check %s: %w", p, err)
	}
	if exists {
		return nil
	}
	if err := s.ensurePath(ctx, path.Dir(p)); err != nil {
		return err
	}
	_, err = call(ctx, func() (string, error) {
		return s.conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
	})
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("zkleader: create %s: %w", p, err)
	}
	return nil
}

// isConnErr reports errors after which the same call may succeed once the
// connection is back.
func isConnErr(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionMoved) || errors.Is(err, zk.ErrSessionExpired)
}

// zkLogger routes the client library's messages to slog at debug level.
type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Debug("zookeeper client: " + fmt.Sprintf(format, args...))
}
