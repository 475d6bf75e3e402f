package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// workerClient returns a BlockWorker client for addr.
func (f *FileSystem) workerClient(addr WorkerAddress) (pb.BlockWorkerClient, error) {
	cc, err := f.conn(addr.String())
	if err != nil {
		return nil, err
	}
	return pb.NewBlockWorkerClient(cc), nil
}

// workerWait bounds how long a call waits for the master to know a live
// worker (or a block's location): a newly elected leader learns them as the
// workers register with it, within seconds of the failover.
const workerWait = 30 * time.Second

// noWorkersError says the master knows no suitable worker (yet); it wraps
// ErrUnavailable and is what awaitWorkers retries.
type noWorkersError struct{ msg string }

func (e *noWorkersError) Error() string { return e.msg }
func (e *noWorkersError) Unwrap() error { return rpcstatus.ErrUnavailable }

// awaitWorkers runs op, which fails with a *noWorkersError while the master
// knows no suitable worker, under the retry policy for at most workerWait
// (and the policy's max duration). Other errors end it at once.
func (f *FileSystem) awaitWorkers(ctx context.Context, op func(ctx context.Context) error) error {
	p := f.retry
	if p.MaxDuration <= 0 || p.MaxDuration > workerWait {
		p.MaxDuration = workerWait
	}
	return p.Do(ctx, func(ctx context.Context, _ int) error { return op(ctx) },
		func(err error) bool { var nw *noWorkersError; return errors.As(err, &nw) })
}

// liveWorkers returns the live workers, waiting (see awaitWorkers) while the
// master knows none, as after a failover.
func (f *FileSystem) liveWorkers(ctx context.Context) ([]WorkerInfo, error) {
	var live []WorkerInfo
	err := f.awaitWorkers(ctx, func(ctx context.Context) error {
		all, err := f.GetWorkerInfoList(ctx)
		if err != nil {
			return err
		}
		live = live[:0]
		for _, w := range all {
			if w.State != "LOST" {
				live = append(live, w)
			}
		}
		if len(live) == 0 {
			return &noWorkersError{"client: no live workers"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return live, nil
}

// deadWorkerTTL is how long a worker that refused a connection is avoided.
// The master lists a dead worker as live until alluxio.master.worker.timeout
// (minutes); a restarted worker is tried again after this.
const deadWorkerTTL = 8 * time.Second

// deadWorkers is a FileSystem's short-lived set of workers (host:port) that
// refused connections. The zero value is ready to use.
type deadWorkers struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time // nil = time.Now (tests replace it)
}

func (d *deadWorkers) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

// mark records that addr refused a connection.
func (d *deadWorkers) mark(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.until == nil {
		d.until = make(map[string]time.Time)
	}
	d.until[addr] = d.clock().Add(deadWorkerTTL)
}

// clear forgets addr: it answered.
func (d *deadWorkers) clear(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.until, addr)
}

// isDead reports whether addr refused a connection within deadWorkerTTL.
func (d *deadWorkers) isDead(addr string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.until[addr]
	if !ok {
		return false
	}
	if !d.clock().Before(u) {
		delete(d.until, addr)
		return false
	}
	return true
}

// note looks at the outcome of a call to the worker at addr: a refused
// connection marks it dead, an answer clears it.
func (d *deadWorkers) note(addr string, err error) {
	switch {
	case err == nil:
		d.clear(addr)
	case refusedConnection(err):
		d.mark(addr)
	}
}

// refusedConnection reports whether err says the worker could not be
// connected to (nothing listens at its address, or the dial failed), as
// opposed to an answer of a running worker.
func refusedConnection(err error) bool {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "Error while dialing")
}

// dialOptions returns the interceptors of a worker connection to addr, which
// keep the set up to date from every call's outcome.
func (d *deadWorkers) dialOptions(addr string) []grpc.DialOption {
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		d.note(addr, err)
		return err
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			d.note(addr, err)
			return nil, err
		}
		return &notingStream{ClientStream: cs, d: d, addr: addr}, nil
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(unary), grpc.WithChainStreamInterceptor(stream)}
}

// notingStream reports a stream's refused connection (which may surface at
// its first message rather than when it is opened) and its first answer.
type notingStream struct {
	grpc.ClientStream
	d        *deadWorkers
	addr     string
	answered bool
}

func (s *notingStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && refusedConnection(err) {
		s.d.mark(s.addr)
	}
	return err
}

func (s *notingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		if !s.answered {
			s.answered = true
			s.d.clear(s.addr)
		}
	case refusedConnection(err):
		s.d.mark(s.addr)
	}
	return err
}

// pickWorker chooses where to write: the local worker if it has free space,
// else a random worker with room for a whole block (need bytes), else a
// random worker with any free space. Workers that just refused connections
// are passed over while another is live.
func (f *FileSystem) pickWorker(ctx context.Context, need int64) (WorkerAddress, error) {
	return f.pickWorkerExcept(ctx, need, nil)
}

// pickWorkerExcept is pickWorker that also passes over the workers in
// exclude (by host:port) while another is live.
func (f *FileSystem) pickWorkerExcept(ctx context.Context, need int64, exclude map[string]bool) (WorkerAddress, error) {
	all, err := f.liveWorkers(ctx)
	if err != nil {
		return WorkerAddress{}, err
	}
	// Avoid the failed workers unless no other is live: the master lists a
	// dead worker as live for minutes, and trying it cannot do worse than
	// failing with no worker at all.
	var live []WorkerInfo
	for _, w := range all {
		a := w.Address.String()
		if !exclude[a] && !f.dead.isDead(a) {
			live = append(live, w)
		}
	}
	if len(live) == 0 {
		live = all
	}
	free := func(w WorkerInfo) int64 {
		if w.Capacity == 0 { // capacity unknown: assume room
			return need + 1
		}
		return w.Capacity - w.Used
	}
	for _, w := range live {
		if f.isLocal(w.Address.Host) && (need == 0 || free(w) > 0) {
			return w.Address, nil
		}
	}
	var roomy, some []WorkerInfo
	for _, w := range live {
		switch {
		case need == 0 || free(w) >= need:
			roomy = append(roomy, w)
		case free(w) > 0:
			some = append(some, w)
		}
	}
	if len(roomy) == 0 {
		roomy = some
	}
	if len(roomy) == 0 {
		return WorkerAddress{}, fmt.Errorf("client: no worker has free space: %w", rpcstatus.ErrResourceExhausted)
	}
	return roomy[rand.IntN(len(roomy))].Address, nil
}

// orderLocations returns the locations with local ones first, the others
// shuffled, skipping addresses in bad.
func (f *FileSystem) orderLocations(locs []BlockLocation, bad map[string]bool) []BlockLocation {
	var local, remote []BlockLocation
	for _, l := range locs {
		if bad[l.Address.String()] {
			continue
		}
		if f.isLocal(l.Address.Host) {
			local = append(local, l)
		} else {
			remote = append(remote, l)
		}
	}
	rand.Shuffle(len(remote), func(i, j int) { remote[i], remote[j] = remote[j], remote[i] })
	// Workers that just refused connections go last.
	out := make([]BlockLocation, 0, len(local)+len(remote))
	var dead []BlockLocation
	for _, l := range append(local, remote...) {
		if f.dead.isDead(l.Address.String()) {
			dead = append(dead, l)
		} else {
			out = append(out, l)
		}
	}
	return append(out, dead...)
}
