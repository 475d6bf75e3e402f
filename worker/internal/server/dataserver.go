package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/datawire"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// The data server moves block bytes over plain TCP on its own port
// (alluxio.worker.data.port), beside the gRPC service, as Alluxio's Netty
// data server does: a stored block is written from a mapping of its file
// (sendfile for ranges under 1 MiB, see send) and a written block is spliced
// from the socket into its temp file, so neither side pays for gRPC framing,
// HTTP/2 flow control or protobuf copies.
//
// Wire format (all integers big-endian):
//
//	request   = op:uint8 hlen:uint32 header[hlen]
//	            op 1 (read):  header = alluxio.ReadBlockRequest (stored blocks only: ufs must be unset)
//	            op 2 (write): header = alluxio.WriteBlockHeader
//	response  = rlen:uint32 alluxio.DataResponseHeader[rlen]
//	read:     request, then response (code 0: length raw bytes follow; else none)
//	write:    request, then chunks: n:uint32 data[n] (0 < n <= MaxChunkSize),
//	          ended by n = 0 (commit) or n = DataCancel (abort); then the response
//	          (length = the committed length). On an error the worker answers
//	          at once and closes the connection.
//
// After a successful exchange the connection may carry another request. A
// connection idle for DataConfig.IdleTimeout (waiting for a request or in
// the middle of one) is closed; a read or write that fails part way closes
// it, and an unfinished write is aborted, so its temp block never becomes
// visible.
const (
	DataOpRead  = datawire.OpRead
	DataOpWrite = datawire.OpWrite
	// DataCancel, as a chunk length, aborts a write.
	DataCancel = datawire.Cancel
	// MaxDataHeader bounds request and response headers.
	MaxDataHeader = datawire.MaxHeader
	// DefaultDataIdleTimeout is how long a connection may stay silent.
	DefaultDataIdleTimeout = 60 * time.Second
)

// dataSlice bounds one sendfile call, so the write deadline is renewed as
// long as the client keeps reading.
const dataSlice = 8 << 20

// DataConfig configures a DataServer.
type DataConfig struct {
	// IdleTimeout closes connections silent this long; 0 means DefaultDataIdleTimeout.
	IdleTimeout time.Duration
	Logger      *slog.Logger // nil = discard
}

// DataServer serves block reads and writes of a Service on a TCP listener.
type DataServer struct {
	svc  *Service
	idle time.Duration
	log  *slog.Logger

	ctx    context.Context // ends at Shutdown's deadline: aborts work in progress
	cancel context.CancelFunc

	mu       sync.Mutex
	lis      []net.Listener
	conns    map[net.Conn]bool // true while waiting for a request
	shutdown bool
	wg       sync.WaitGroup
}

// NewDataServer returns a data server for svc; Serve starts it.
func NewDataServer(svc *Service, cfg DataConfig) *DataServer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultDataIdleTimeout
	}
	d := &DataServer{svc: svc, idle: cfg.IdleTimeout, log: cfg.Logger, conns: map[net.Conn]bool{}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d
}

// ErrDataServerClosed is returned by Serve after Shutdown.
var ErrDataServerClosed = errors.New("worker: data server closed")

// Serve accepts connections on l until Shutdown; it always closes l.
func (d *DataServer) Serve(l net.Listener) error {
	d.mu.Lock()
	if d.shutdown {
		d.mu.Unlock()
		l.Close()
		return ErrDataServerClosed
	}
	d.lis = append(d.lis, l)
	d.mu.Unlock()
	defer l.Close()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			d.mu.Lock()
			closed := d.shutdown
			d.mu.Unlock()
			if closed {
				return ErrDataServerClosed
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				d.log.Warn("worker: data server accept failed, retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("worker: data server accept: %w", err)
		}
		backoff = 0
		d.mu.Lock()
		if d.shutdown {
			d.mu.Unlock()
			c.Close()
			return ErrDataServerClosed
		}
		d.conns[c] = true
		d.wg.Add(1)
		d.mu.Unlock()
		go d.serveConn(c)
	}
}

// isTemporary reports accept errors worth retrying (out of file descriptors).
func isTemporary(err error) bool {
	var se interface{ Temporary() bool }
	return errors.As(err, &se) && se.Temporary()
}

// Shutdown stops accepting, lets the exchanges in progress finish until ctx
// is done, then closes every connection (aborting unfinished writes). It is
// idempotent.
func (d *DataServer) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.shutdown = true
	for _, l := range d.lis {
		l.Close()
	}
	d.lis = nil
	// Idle connections (between requests) close now; busy ones at the end
	// of their exchange (serveConn checks shutdown).
	for c, idle := range d.conns {
		if idle {
			_ = c.SetReadDeadline(time.Now())
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	d.cancel()
	d.mu.Lock()
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	<-done
	return ctx.Err()
}

// setIdle records whether c waits for a request; it reports false (and
// leaves c busy) once the server is shutting down.
func (d *DataServer) setIdle(c net.Conn, idle bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if idle && d.shutdown {
		return false
	}
	d.conns[c] = idle
	return true
}

func (d *DataServer) serveConn(c net.Conn) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.conns, c)
		d.mu.Unlock()
		c.Close()
	}()
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("worker: panic in data server", "remote", c.RemoteAddr().String(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	for {
		// The deadline goes first, so Shutdown's (now) overrides it.
		if err := c.SetReadDeadline(time.Now().Add(d.idle)); err != nil || !d.setIdle(c, true) {
			return
		}
		op, hdr, err := d.readRequest(c)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.log.Debug("worker: data connection closed", "remote", c.RemoteAddr().String(), "err", err)
				// Tell the client why, if it still listens (bad header).
				if errors.Is(err, rpcstatus.ErrInvalidArgument) {
					d.fail(c, err)
				}
			}
			return
		}
		var keep bool
		switch op {
		case DataOpRead:
			keep = d.serveRead(c, hdr)
		case DataOpWrite:
			keep = d.serveWrite(c, hdr)
		default:
			d.fail(c, invalid("unknown data server op %d", op))
			return
		}
		if !keep {
			return
		}
	}
}

// readRequest reads an op and its header. A clean EOF before the op is
// io.EOF; every other failure closes the connection.
func (d *DataServer) readRequest(c net.Conn) (byte, []byte, error) {
	var pre [5]byte
	if _, err := io.ReadFull(c, pre[:1]); err != nil {
		return 0, nil, err // io.EOF: the client is done
	}
	d.setIdle(c, false)
	if _, err := io.ReadFull(c, pre[1:]); err != nil {
		return 0, nil, noEOF(err)
	}
	n := binary.BigEndian.Uint32(pre[1:])
	if n > MaxDataHeader {
		return 0, nil, invalid("data request header of %d bytes (at most %d)", n, MaxDataHeader)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return 0, nil, noEOF(err)
	}
	return pre[0], hdr, nil
}

// noEOF turns an EOF inside a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// respond writes a response header.
func (d *DataServer) respond(c net.Conn, err error, length int64) error {
	h := &alluxiopb.DataResponseHeader{Length: length}
	if err != nil {
		st := status.Convert(rpcstatus.ToGRPC(err))
		h.Code, h.Message = int32(st.Code()), st.Message()
	}
	b, merr := proto.Marshal(h)
	if merr != nil {
		return merr
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	buf = append(buf, b...)
	if err := c.SetWriteDeadline(time.Now().Add(d.idle)); err != nil {
		return err
	}
	_, werr := c.Write(buf)
	return werr
}

// fail answers err and ends the connection: it stops sending, then reads
// and drops what the client still sends for a while, so the answer is not
// lost to a reset while the client is blocked writing.
func (d *DataServer) fail(c net.Conn, err error) {
	if werr := d.respond(c, err, 0); werr != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(min(d.idle, 5*time.Second)))
	_, _ = io.CopyN(io.Discard, c, 256<<20)
}

// serveRead sends a range of a stored block. It reports whether the
// connection may carry another request.
func (d *DataServer) serveRead(c net.Conn, hdr []byte) bool {
	req := &alluxiopb.ReadBlockRequest{}
	if err := proto.Unmarshal(hdr, req); err != nil {
		d.fail(c, invalid("bad read request header: %v", err))
		return false
	}
	if req.GetUfs() != nil {
		// Reads through to the UFS (cache misses) are served by the gRPC ReadBlock.
		d.fail(c, fmt.Errorf("worker: block %d: the data server reads stored blocks only (read the UFS through ReadBlock): %w", req.GetBlockId(), rpcstatus.ErrInvalidArgument))
		return false
	}
	r, start, end, err := d.svc.openCached(req)
	if err != nil {
		// A clean refusal: the connection stays usable.
		return d.respond(c, err, 0) == nil
	}
	defer r.Close()
	if err := d.respond(c, nil, end-start); err != nil {
		return false
	}
	if err := d.send(c, r, start, end); err != nil {
		d.log.Debug("worker: data server read ended early", "block", req.GetBlockId(), "err", err)
		return false
	}
	return true
}

// send writes [start, end) of a stored block to c. Ranges of mapMin bytes
// or more are written from mappings of the block file, dataSlice bytes at a
// time (a reader that stops early has not made the worker map the whole
// block): on tmpfs that costs less CPU than sendfile (about 0.5 against 0.85
// CPU-s/GiB for both ends of a loopback read, BenchmarkDataServer), whose
// page references make the receiver's copy dearer. Smaller ranges, or a
// failed mapping, use sendfile.
func (d *DataServer) send(c net.Conn, r *blockstore.BlockReader, start, end int64) error {
	for pos := start; pos < end; {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		n := min(int64(dataSlice), end-pos)
		if err := c.SetWriteDeadline(time.Now().Add(d.idle)); err != nil {
			return err
		}
		var sent int64
		var err error
		if n >= mapMin {
			sent, err = d.sendMapped(c, r, pos, n)
		} else {
			sent, err = r.WriteRangeTo(c, pos, n)
		}
		d.svc.cfg.Metrics.BytesRead(int(sent))
		pos += sent
		if err != nil {
			return err
		}
	}
	return nil
}

// sendMapped writes n bytes of the block at pos from a mapping of the
// file, or with sendfile if it cannot be mapped.
func (d *DataServer) sendMapped(c net.Conn, r *blockstore.BlockReader, pos, n int64) (int64, error) {
	data, unmap, err := r.Map(pos, pos+n)
	if err != nil {
		d.log.Debug("worker: mapping block failed, using sendfile", "block", r.Meta().ID, "err", err)
		return r.WriteRangeTo(c, pos, n)
	}
	defer func() {
		if err := unmap(); err != nil {
			d.log.Warn("worker: unmap block range", "err", err)
		}
	}()
	sent, err := c.Write(data)
	return int64(sent), err
}

// serveWrite receives a block and commits it, or aborts it. It reports
// whether the connection may carry another request.
func (d *DataServer) serveWrite(c net.Conn, hdr []byte) bool {
	h := &alluxiopb.WriteBlockHeader{}
	if err := proto.Unmarshal(hdr, h); err != nil {
		d.fail(c, invalid("bad write request header: %v", err))
		return false
	}
	tb, err := d.svc.createBlock(h)
	if err != nil {
		d.fail(c, err)
		return false
	}
	length, err := d.receive(c, tb)
	if err != nil {
		tb.Abort()
		if errors.Is(err, rpcstatus.ErrCanceled) {
			return d.respond(c, err, 0) == nil
		}
		d.log.Debug("worker: data server write aborted", "block", h.GetBlockId(), "err", err)
		d.fail(c, err)
		return false
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.idle)
	err = d.svc.commit(ctx, tb)
	cancel()
	if err != nil {
		// commit aborts the temp block itself when the local commit fails.
		return d.respond(c, err, 0) == nil
	}
	return d.respond(c, nil, length) == nil
}

// receive copies chunks into tb until the end or cancel marker.
func (d *DataServer) receive(c net.Conn, tb *blockstore.TempBlock) (int64, error) {
	var pre [4]byte
	for {
		if err := d.ctx.Err(); err != nil {
			return 0, fmt.Errorf("worker: data server shutting down: %w", rpcstatus.ErrUnavailable)
		}
		if err := c.SetReadDeadline(time.Now().Add(d.idle)); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, pre[:]); err != nil {
			return 0, fmt.Errorf("worker: write of block %d: connection lost: %w", tb.ID(), noEOF(err))
		}
		n := binary.BigEndian.Uint32(pre[:])
		switch {
		case n == 0:
			return tb.Written(), nil
		case n == DataCancel:
			return 0, fmt.Errorf("worker: write of block %d canceled by the client: %w", tb.ID(), rpcstatus.ErrCanceled)
		case n > MaxChunkSize:
			return 0, invalid("chunk of %d bytes (at most %d)", n, MaxChunkSize)
		}
		if err := d.svc.checkGrowth(tb, int64(n)); err != nil {
			return 0, err
		}
		got, err := tb.WriteFrom(c, int64(n))
		d.svc.cfg.Metrics.BytesWritten(int(got))
		if err != nil {
			return 0, err
		}
	}
}
