package client

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// Span names and attribute keys of the client's traces.
const (
	spanPrefix     = "alluxio.client."
	attemptSpan    = "alluxio.rpc.attempt"
	eventReresolve = "leader re-resolved"

	attrPath          = attribute.Key("alluxio.path")
	attrDstPath       = attribute.Key("alluxio.dst_path")
	attrRPCMethod     = attribute.Key("rpc.method")
	attrMasterAddress = attribute.Key("alluxio.master.address")
	attrAttempt       = attribute.Key("alluxio.rpc.attempt")
	attrGRPCStatus    = attribute.Key("rpc.grpc.status_code")
	attrStatusName    = attribute.Key("alluxio.rpc.status")
	attrOldLeader     = attribute.Key("alluxio.leader.old")
	attrNewLeader     = attribute.Key("alluxio.leader.new")
	attrIndeterminate = attribute.Key("alluxio.outcome_unknown")
)

// masterKeepalive probes an idle master connection during an RPC, so a call
// to a master that stopped answering (paused, partitioned) fails within about
// 15s and is retried against the leader of the moment. Masters permit pings
// every 5s.
var masterKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}

// Flow-control windows of master connections, fixed: with gRPC's dynamic
// window the client answers the data frame of nearly every response with a
// BDP ping, which a master busy with a journal flush acknowledges in a
// write of its own (a read and a wake-up more for the client): about a
// sixth of the CPU of a create. 8 MiB carries a listing batch at once.
const (
	masterStreamWindow = 8 << 20
	masterConnWindow   = 16 << 20
)

// errLeaderMoved cancels an RPC in flight when a new leader is published.
var errLeaderMoved = errors.New("a new leader was published")

// conn returns the shared connection to a worker at addr.
func (f *FileSystem) conn(addr string) (*grpc.ClientConn, error) {
	return f.connWith(addr, false)
}

func (f *FileSystem) connWith(addr string, master bool) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if cc, ok := f.conns[addr]; ok {
		return cc, nil
	}
	opts := f.dialOpts
	if master {
		opts = append(append([]grpc.DialOption(nil), opts...),
			grpc.WithKeepaliveParams(masterKeepalive), grpc.WithStatsHandler(sentTracker{}),
			grpc.WithStaticStreamWindowSize(masterStreamWindow), grpc.WithStaticConnWindowSize(masterConnWindow))
	} else {
		opts = append(append([]grpc.DialOption(nil), opts...), f.dead.dialOptions(addr)...)
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", addr, err)
	}
	f.conns[addr] = cc
	return cc, nil
}

// resolveMaster returns the leader's address. failed is the address the last
// attempt failed against ("" on a first attempt): it is invalidated in the
// inquire client, which is then asked again, and the lookup is recorded on
// span as a "leader re-resolved" event.
//
// An inquire client that caches by itself (a PrimaryInvalidator, such as the
// ZooKeeper one, whose watch keeps it fresh) is asked on every call; any
// other is asked once and again only before retries.
func (f *FileSystem) resolveMaster(ctx context.Context, failed string, span trace.Span) (string, error) {
	inv, caches := f.inquire.(PrimaryInvalidator)
	f.mu.Lock()
	cur := f.masterAddr
	f.mu.Unlock()
	if failed == "" && cur != "" && !caches {
		return cur, nil
	}
	if failed != "" && caches {
		inv.InvalidatePrimary(failed)
	}
	a, err := f.inquire.GetPrimaryRPCAddress(ctx)
	if err != nil {
		if failed != "" {
			span.AddEvent(eventReresolve, trace.WithAttributes(attrOldLeader.String(failed), attribute.String("error", err.Error())))
		}
		if errors.Is(err, ErrClosed) {
			return "", err
		}
		return "", fmt.Errorf("find the leader master: %w", err)
	}
	if failed != "" {
		span.AddEvent(eventReresolve, trace.WithAttributes(attrOldLeader.String(failed), attrNewLeader.String(a)))
	}
	if a != cur {
		f.logger.Debug("leader master", "address", a, "previous", cur)
		f.mu.Lock()
		f.masterAddr = a
		f.mu.Unlock()
	}
	return a, nil
}

// MasterAddress returns the address of the leader master: the one the
// FileSystem last used, or what the inquire client answers now (for a
// ZooKeeper inquire client, the leader published in ZooKeeper).
func (f *FileSystem) MasterAddress(ctx context.Context) (string, error) {
	a, err := f.resolveMaster(ctx, "", trace.SpanFromContext(ctx))
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	return a, nil
}

// callKind tells callMaster whether an RPC changes the namespace.
type callKind int

const (
	// idempotent calls (reads, block id allocation) are retried freely; a
	// failure after retries is a plain failure.
	idempotent callKind = iota
	// mutation calls carry an operation id that stays the same across
	// attempts (the master deduplicates it). After an attempt whose outcome
	// is unknown, a failure wraps ErrIndeterminate.
	mutation
)

// retryable reports whether a master call failed in a way another attempt
// (against the possibly new leader) may fix.
func retryable(err error) bool {
	return rpcstatus.Retryable(err) && !errors.Is(err, ErrZooKeeperUnreachable)
}

// callMaster runs op against the leader under the retry policy. Unavailable
// and NOT_LEADER errors are retried, finding the leader again before each
// retry (and cancelling an attempt when the inquire client learns of a new
// leader meanwhile). Each attempt is a span "alluxio.rpc.attempt". Errors
// come back converted by rpcstatus.FromGRPC; a mutation that may have been
// applied but could not be confirmed fails with an error wrapping
// ErrIndeterminate.
func (f *FileSystem) callMaster(ctx context.Context, name string, kind callKind, op func(ctx context.Context, cc *grpc.ClientConn) error) error {
	var failed string     // address the previous attempt failed against
	maybeApplied := false // an attempt was sent and failed without a verdict
	verdict := false      // the last attempt's error is a master's verdict
	err := f.retry.Do(ctx, func(ctx context.Context, attempt int) error {
		ctx, span := f.tracer.Start(ctx, attemptSpan, trace.WithAttributes(
			attrRPCMethod.String(name), attrAttempt.Int(attempt)))
		defer span.End()
		addr, err := f.resolveMaster(ctx, failed, span)
		if err != nil {
			span.SetStatus(otelcodes.Error, err.Error())
			return err
		}
		span.SetAttributes(attrMasterAddress.String(addr))
		cc, err := f.connWith(addr, true)
		if err != nil {
			span.SetStatus(otelcodes.Error, err.Error())
			return err
		}
		if attempt > 1 {
			// Our policy paces the retries: dial now rather than fail fast
			// while gRPC waits out its own reconnect backoff.
			cc.ResetConnectBackoff()
		}
		actx, done := f.attemptContext(ctx, addr)
		wire := new(attemptWire)
		rerr := op(context.WithValue(actx, sentKey{}, wire), cc)
		moved := done()
		st, _ := status.FromError(rerr)
		span.SetAttributes(attrGRPCStatus.Int(int(st.Code())), attrStatusName.String(st.Code().String()))
		err = rpcstatus.FromGRPC(rerr)
		if err != nil && moved && ctx.Err() == nil {
			err = fmt.Errorf("%s: the call to %s was cut short: %w: %w", name, addr, errLeaderMoved, rpcstatus.ErrNotLeader)
		}
		verdict = false
		if err == nil {
			return nil
		}
		span.SetStatus(otelcodes.Error, err.Error())
		verdict = wire.answered.Load() && masterVerdict(err)
		if wire.sent.Load() && !verdict {
			// The request left and no verdict came back: the master may
			// have applied it. (A request that never got a connection, e.g.
			// to a dead leader, did not.)
			maybeApplied = true
		}
		if retryable(err) {
			failed = addr
			f.logger.Debug("master call failed, will retry", "rpc", name, "master", addr, "attempt", attempt, "err", err)
		}
		return err
	}, retryable)
	// The outcome rule for mutations. A mutation fails definitely only when
	// no attempt may have applied it, or when the last attempt got a verdict
	// from a master (see masterVerdict). The latter holds even after an
	// earlier attempt that may have applied: every attempt carries the same
	// operation id, which the masters deduplicate through the journal, so a
	// master that answers the retry is the leader after the one the earlier
	// attempt reached and has its history; had the earlier attempt applied,
	// the retry would be answered with its recorded result, so the verdict
	// is the operation's outcome. Any other last error after a maybe-applied
	// attempt (retryable, a context error, or something that did not come
	// from a master at all: Unimplemented or Internal from an HTTP server or
	// proxy that answered in its place, a transport error...) says nothing
	// about the operation: the outcome is unknown (ErrIndeterminate).
	if err != nil && kind == mutation && maybeApplied && !verdict && !errors.Is(err, ErrIndeterminate) {
		trace.SpanFromContext(ctx).SetAttributes(attrIndeterminate.Bool(true))
		return fmt.Errorf("%w (the master may have applied it): %w", ErrIndeterminate, err)
	}
	return err
}

// masterVerdict reports whether err, received as a gRPC status from the
// peer (see attemptWire.answered), is a definite answer of a master's
// handler about the operation: the request was understood and refused.
// Other codes (Unavailable, Internal, Unimplemented, Unknown, ...) may come
// from anything between the client and a master, or from a master that did
// not finish the operation.
func masterVerdict(err error) bool {
	for _, v := range []error{rpcstatus.ErrNotFound, rpcstatus.ErrAlreadyExists, rpcstatus.ErrInvalidArgument,
		rpcstatus.ErrFailedPrecondition, rpcstatus.ErrDirectoryNotEmpty, rpcstatus.ErrPermissionDenied, rpcstatus.ErrResourceExhausted} {
		if errors.Is(err, v) {
			return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		}
	}
	return false
}

// attemptContext derives the context of one attempt against addr. When the
// inquire client follows the leader by itself, the attempt is cancelled as
// soon as another leader is published: a deposed leader that is paused or cut
// off may never answer. done releases the context and reports whether it was
// cancelled for that reason.
func (f *FileSystem) attemptContext(ctx context.Context, addr string) (context.Context, func() (moved bool)) {
	n, ok := f.inquire.(leaderChangeCallback)
	if !ok {
		return ctx, func() bool { return false }
	}
	actx, cancel := context.WithCancelCause(ctx)
	stop := n.onLeaderChange(addr, func() { cancel(errLeaderMoved) })
	return actx, func() bool {
		stop()
		moved := errors.Is(context.Cause(actx), errLeaderMoved)
		cancel(nil)
		return moved
	}
}

// sentKey carries, in an attempt's context, an *attemptWire that
// sentTracker fills in.
type sentKey struct{}

// attemptWire records what one attempt's RPC did on the wire.
type attemptWire struct {
	// sent is set once the request's headers are handed to a connection:
	// from then on the master may receive, and apply, it.
	sent atomic.Bool
	// answered is set when a gRPC status arrived from the peer (trailers of
	// a gRPC response). An error gRPC made up locally, or from a non-gRPC
	// answer (an HTTP 404 from something that is not a master), leaves it
	// unset.
	answered atomic.Bool
}

// sentTracker is a gRPC stats handler on master connections that tells an
// RPC that reached the wire from one that failed before (no connection),
// and a status a gRPC server sent from one made up on the client's side.
type sentTracker struct{}

func (sentTracker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (sentTracker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (sentTracker) HandleConn(context.Context, stats.ConnStats) {}
func (sentTracker) HandleRPC(ctx context.Context, s stats.RPCStats) {
	w, ok := ctx.Value(sentKey{}).(*attemptWire)
	if !ok {
		return
	}
	switch s.(type) {
	case *stats.OutHeader, *stats.OutPayload:
		w.sent.Store(true)
	case *stats.InTrailer:
		w.answered.Store(true)
	}
}

// startSpan starts the span of a FileSystem call, "alluxio.client.<op>".
func (f *FileSystem) startSpan(ctx context.Context, op string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return f.tracer.Start(ctx, spanPrefix+op, trace.WithAttributes(attrs...))
}

// endSpan records err on span and ends it; it returns err.
func endSpan(span trace.Span, err error) error {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, err.Error())
	}
	span.End()
	return err
}
