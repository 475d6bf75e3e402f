package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// The worker data server (worker/internal/server/dataserver.go documents the
// wire format) moves block bytes over plain TCP: a stored block is sent from
// its file with sendfile, a written one spliced into its temp file. The
// client uses it for remote reads of stored blocks and for block writes when
// the worker advertises a data port and alluxio.user.data.transport is AUTO;
// the gRPC streams remain for reads from the UFS, workers without a data
// port and data servers that cannot be reached.
const (
	dataOpRead    byte   = 1
	dataOpWrite   byte   = 2
	dataCancel    uint32 = 0xFFFFFFFF
	maxDataHeader        = 64 << 10
	// dataDialTimeout bounds connecting to a data server; a failure falls
	// back to gRPC.
	dataDialTimeout = 5 * time.Second
	// dataAnswerWait bounds waiting for a worker's answer to a write after
	// sending it failed.
	dataAnswerWait = 2 * time.Second
)

// Span attributes of data server calls.
var (
	attrBlock  = attribute.Key("alluxio.block_id")
	attrWorker = attribute.Key("alluxio.worker.address")
)

// useData reports whether blocks of worker w move through its data server.
func (f *FileSystem) useData(w WorkerAddress) bool {
	return w.DataPort > 0 && w.DataPort <= 65535 && !strings.EqualFold(f.cfg.Get("alluxio.user.data.transport"), "GRPC")
}

// dataAddr is host:dataport of w.
func dataAddr(w WorkerAddress) string { return net.JoinHostPort(w.Host, strconv.Itoa(w.DataPort)) }

// dataDialError says the data server could not be reached (or broke before
// answering): the caller falls back to the gRPC stream.
type dataDialError struct{ err error }

func (e *dataDialError) Error() string { return e.err.Error() }
func (e *dataDialError) Unwrap() error { return e.err }

// fallBack reports whether err from the data server should be retried over gRPC.
func fallBack(err error) bool {
	var de *dataDialError
	return errors.As(err, &de)
}

// dataConn is one data server connection; ctx ending interrupts its I/O.
type dataConn struct {
	c    net.Conn
	ctx  context.Context
	stop func() bool // unregisters the ctx watch
}

// dialData connects to w's data server and sends a request (op, header).
func (f *FileSystem) dialData(ctx context.Context, w WorkerAddress, op byte, hdr proto.Message) (*dataConn, error) {
	d := net.Dialer{Timeout: dataDialTimeout}
	c, err := d.DialContext(ctx, "tcp", dataAddr(w))
	if err != nil {
		return nil, &dataDialError{fmt.Errorf("connect to the data server of worker %s: %w", w, err)}
	}
	dc := &dataConn{c: c, ctx: ctx}
	dc.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	b, err := proto.Marshal(hdr)
	if err != nil {
		dc.close()
		return nil, fmt.Errorf("marshal data request: %w", err)
	}
	req := make([]byte, 5, 5+len(b))
	req[0] = op
	binary.BigEndian.PutUint32(req[1:], uint32(len(b)))
	if _, err := c.Write(append(req, b...)); err != nil {
		dc.close()
		return nil, &dataDialError{dc.ioErr(w, err)}
	}
	return dc, nil
}

func (dc *dataConn) close() {
	dc.stop()
	dc.c.Close()
}

// ioErr describes a failed read or write on the connection: the context's
// error once it ended, else a lost connection (ErrUnavailable, so a reader
// tries another source).
func (dc *dataConn) ioErr(w WorkerAddress, err error) error {
	if cerr := dc.ctx.Err(); cerr != nil {
		return cerr
	}
	return fmt.Errorf("data server of worker %s: %v: %w", w, err, rpcstatus.ErrUnavailable)
}

// response reads the worker's answer: nil for OK with the length it carries,
// else the worker's error (wrapping the rpcstatus sentinel of its code).
func (dc *dataConn) response(w WorkerAddress) (int64, error) {
	var pre [4]byte
	if _, err := io.ReadFull(dc.c, pre[:]); err != nil {
		return 0, dc.ioErr(w, err)
	}
	n := binary.BigEndian.Uint32(pre[:])
	if n > maxDataHeader {
		return 0, fmt.Errorf("data server of worker %s: response header of %d bytes: %w", w, n, rpcstatus.ErrInternal)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(dc.c, b); err != nil {
		return 0, dc.ioErr(w, err)
	}
	h := &pb.DataResponseHeader{}
	if err := proto.Unmarshal(b, h); err != nil {
		return 0, fmt.Errorf("data server of worker %s: bad response header: %v: %w", w, err, rpcstatus.ErrInternal)
	}
	if h.GetCode() != 0 {
		return 0, rpcstatus.FromGRPC(status.Error(codes.Code(h.GetCode()), h.GetMessage()))
	}
	if h.GetLength() < 0 {
		return 0, fmt.Errorf("data server of worker %s: negative length %d: %w", w, h.GetLength(), rpcstatus.ErrInternal)
	}
	return h.GetLength(), nil
}

// openDataRead reads a range of a stored block from w's data server. The
// returned source reads exactly the range; a connection lost part way is an
// ErrUnavailable error, so the reader tries another source.
func (f *FileSystem) openDataRead(ctx context.Context, w WorkerAddress, req *pb.ReadBlockRequest) (_ io.ReadCloser, err error) {
	_, span := f.startSpan(ctx, "DataReadBlock", attrBlock.Int64(req.GetBlockId()), attrWorker.String(w.String()))
	defer func() { endSpan(span, err) }()
	dc, err := f.dialData(ctx, w, dataOpRead, req)
	if err != nil {
		return nil, err
	}
	n, err := dc.response(w)
	if err != nil {
		dc.close()
		if errors.Is(err, rpcstatus.ErrUnavailable) && ctx.Err() == nil {
			err = &dataDialError{err} // broke before answering
		}
		return nil, fmt.Errorf("read block %d from worker %s: %w", req.GetBlockId(), w, err)
	}
	f.dead.clear(w.String())
	return &dataSource{dc: dc, worker: w, blockID: req.GetBlockId(), remain: n, total: n}, nil
}

// dataSource reads the raw bytes of a data server read.
type dataSource struct {
	dc      *dataConn
	worker  WorkerAddress
	blockID int64
	remain  int64
	total   int64
	once    sync.Once
}

func (s *dataSource) Read(p []byte) (int, error) {
	if s.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.remain {
		p = p[:s.remain]
	}
	n, err := s.dc.c.Read(p)
	s.remain -= int64(n)
	if err != nil {
		if n > 0 && s.remain == 0 {
			return n, nil
		}
		return n, fmt.Errorf("read block %d from worker %s at %d of %d bytes: %w", s.blockID, s.worker, s.total-s.remain, s.total, s.dc.ioErr(s.worker, err))
	}
	return n, nil
}

func (s *dataSource) Close() error {
	s.once.Do(s.dc.close)
	return nil
}

// dataBlockWriter writes one block through a data server.
type dataBlockWriter struct {
	dc      *dataConn
	worker  WorkerAddress
	blockID int64
	pre     [4]byte
}

// openDataWrite starts writing a block on w's data server.
func (f *FileSystem) openDataWrite(ctx context.Context, w WorkerAddress, h *pb.WriteBlockHeader) (_ *dataBlockWriter, err error) {
	_, span := f.startSpan(ctx, "DataWriteBlock", attrBlock.Int64(h.GetBlockId()), attrWorker.String(w.String()))
	defer func() { endSpan(span, err) }()
	dc, err := f.dialData(ctx, w, dataOpWrite, h)
	if err != nil {
		return nil, err
	}
	return &dataBlockWriter{dc: dc, worker: w, blockID: h.GetBlockId()}, nil
}

// write sends one chunk. If the worker refused it (it answers and closes the
// connection on an error), the error is the worker's.
func (b *dataBlockWriter) write(p []byte) error {
	binary.BigEndian.PutUint32(b.pre[:], uint32(len(p)))
	bufs := net.Buffers{b.pre[:], p}
	if _, err := bufs.WriteTo(b.dc.c); err != nil {
		return b.answerAfter(err)
	}
	return nil
}

// answerAfter returns the worker's answer explaining a failed send, if it
// gave one, else the send error.
func (b *dataBlockWriter) answerAfter(sendErr error) error {
	if b.dc.ctx.Err() == nil {
		_ = b.dc.c.SetReadDeadline(time.Now().Add(dataAnswerWait))
		if _, err := b.dc.response(b.worker); err != nil && !errors.Is(err, rpcstatus.ErrUnavailable) {
			return err
		}
	}
	return b.dc.ioErr(b.worker, sendErr)
}

// commit ends the block and returns the length the worker committed.
func (b *dataBlockWriter) commit() (int64, error) {
	defer b.dc.close()
	binary.BigEndian.PutUint32(b.pre[:], 0)
	if _, err := b.dc.c.Write(b.pre[:]); err != nil {
		return 0, b.answerAfter(err)
	}
	return b.dc.response(b.worker)
}

// abort cancels the block (best effort: closing the connection aborts it too).
func (b *dataBlockWriter) abort() {
	defer b.dc.close()
	if b.dc.ctx.Err() != nil {
		return
	}
	_ = b.dc.c.SetWriteDeadline(time.Now().Add(dataAnswerWait))
	binary.BigEndian.PutUint32(b.pre[:], dataCancel)
	_, _ = b.dc.c.Write(b.pre[:])
}
