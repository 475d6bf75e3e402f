// Package server implements the worker's gRPC data service (alluxio.BlockWorker):
// streaming block reads and writes, reads through from the UFS with caching,
// writes to the UFS, short-circuit local block locks and status.
//
// Handlers return Go errors wrapping rpcstatus sentinels; the interceptors
// installed by NewGRPCServer translate them with rpcstatus.ToGRPC (the one
// place) and turn panics into Internal errors.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"google.golang.org/grpc/mem"

	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
	"github.com/alluxio-go/alluxio/worker/internal/metrics"
)

// Master is what the data service needs from the worker's master client.
type Master interface {
	// CommitBlock tells the master a block is stored on this worker.
	CommitBlock(ctx context.Context, blockID, length int64, tier string, usedBytesOnTier int64) error
	// WorkerID is the id the master gave this worker (0 before registration).
	WorkerID() int64
	// MasterAddress is the address of the master in use ("" when none).
	MasterAddress() string
}

// Defaults and limits.
const (
	DefaultChunkSize = 1 << 20
	MaxChunkSize     = 64 << 20
	DefaultLockLease = 5 * time.Minute
	// DefaultMaxBlockSize bounds block sizes and reservations in requests.
	DefaultMaxBlockSize = int64(64) << 30
)

// Config configures a Service.
type Config struct {
	Store  *blockstore.Store
	UFS    *ufs.Registry // nil = reads from the UFS fail
	Master Master        // nil = blocks are reported by heartbeat only
	// MountProperties returns the properties of the mount holding a UFS
	// path (HDFS user, Hadoop configuration...), with which the UFS is
	// opened as the master opens it; nil = the backends' defaults.
	MountProperties func(ctx context.Context, ufsPath string) map[string]string
	Metrics         *metrics.Metrics // nil = none
	Logger          *slog.Logger     // nil = discard
	// LockLease is how long a short-circuit lock lives without CloseLocalBlock.
	LockLease    time.Duration
	MaxBlockSize int64
}

// Service implements alluxiopb.BlockWorkerServer.
type Service struct {
	alluxiopb.UnimplementedBlockWorkerServer
	cfg     Config
	log     *slog.Logger
	session atomic.Int64

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	closed   atomic.Bool

	// bufs recycles the chunk buffers of block reads: the transport frees
	// a chunk once it is on the wire.
	bufs mem.BufferPool
}

// New creates the service. Close stops its background work.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LockLease <= 0 {
		cfg.LockLease = DefaultLockLease
	}
	if cfg.MaxBlockSize <= 0 {
		cfg.MaxBlockSize = DefaultMaxBlockSize
	}
	s := &Service{cfg: cfg, log: cfg.Logger, bufs: new(datacodec.Pool)}
	s.session.Store(rand.Int64N(1 << 40))
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	return s
}

// Close cancels background caching and waits for it. It is idempotent.
func (s *Service) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.bgCancel()
	s.bg.Wait()
}

// RunLockJanitor releases expired short-circuit locks every interval until
// ctx is done.
func (s *Service) RunLockJanitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.cfg.Store.ExpireLocks(now)
		}
	}
}

func (s *Service) newSession() int64 { return s.session.Add(1) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("worker: "+format+": %w", append(args, rpcstatus.ErrInvalidArgument)...)
}

// ufsErr maps UFS errors to wire errors.
func ufsErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ufs.ErrNotFound):
		return fmt.Errorf("%w: %w", rpcstatus.ErrNotFound, err)
	case errors.Is(err, ufs.ErrExists):
		return fmt.Errorf("%w: %w", rpcstatus.ErrAlreadyExists, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: %w", rpcstatus.ErrPermissionDenied, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %w", rpcstatus.ErrFailedPrecondition, err)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return fmt.Errorf("%w: %w", rpcstatus.ErrInvalidArgument, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", rpcstatus.ErrResourceExhausted, err)
	}
	return err
}

// checkUFSPath rejects UFS paths no backend should be handed: ones that do
// not parse as URIs, name no registered scheme, are relative, hold a NUL or a
// ".." element (a request must name its file, not climb out of a mount).
func (s *Service) checkUFSPath(p string) error {
	if p == "" {
		return invalid("missing UFS path")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return invalid("UFS path %q contains NUL", p)
	}
	u, err := ufs.ParseURI(p)
	if err != nil {
		return invalid("bad UFS path %q: %v", p, err)
	}
	if !strings.HasPrefix(u.Path, "/") {
		return invalid("UFS path %q is not absolute", p)
	}
	for _, e := range strings.Split(u.Path, "/") {
		if e == ".." {
			return invalid("UFS path %q contains ..", p)
		}
	}
	if s.cfg.UFS == nil {
		return fmt.Errorf("worker: no UFS registry configured: %w", rpcstatus.ErrFailedPrecondition)
	}
	for _, scheme := range s.cfg.UFS.Schemes() {
		if scheme == u.Scheme {
			return nil
		}
	}
	return invalid("no UFS backend for scheme %q of %q (have %v)", u.Scheme, p, s.cfg.UFS.Schemes())
}

func (s *Service) chunkSize(n int64) (int, error) {
	switch {
	case n == 0:
		return DefaultChunkSize, nil
	case n < 0 || n > MaxChunkSize:
		return 0, invalid("chunk size %d out of range (0, %d]", n, MaxChunkSize)
	}
	return int(n), nil
}

// span resolves the requested [offset, offset+length) within a block of size blockLen.
func span(offset, length, blockLen int64) (int64, int64, error) {
	if offset < 0 {
		return 0, 0, invalid("negative offset %d", offset)
	}
	if length < -1 {
		return 0, 0, invalid("negative length %d", length)
	}
	if offset > blockLen {
		return 0, 0, invalid("offset %d beyond block length %d", offset, blockLen)
	}
	if length <= 0 {
		return offset, blockLen, nil
	}
	if length > blockLen-offset {
		return 0, 0, invalid("range [%d, %d+%d) beyond block length %d", offset, offset, length, blockLen)
	}
	return offset, offset + length, nil
}

// ReadBlock streams a block range from the store, or from the UFS when the
// block is absent and UFS options are given (caching it when asked).
func (s *Service) ReadBlock(req *alluxiopb.ReadBlockRequest, stream alluxiopb.BlockWorker_ReadBlockServer) error {
	chunk, err := s.chunkSize(req.GetChunkSize())
	if err != nil {
		return err
	}
	if req.GetOffset() < 0 || req.GetLength() < -1 {
		return invalid("bad range offset=%d length=%d", req.GetOffset(), req.GetLength())
	}
	r, start, end, err := s.openCached(req)
	if err == nil {
		defer r.Close()
		return s.sendRange(stream, r, start, end, chunk)
	}
	if !errors.Is(err, rpcstatus.ErrNotFound) || req.GetUfs() == nil || req.GetUfs().GetUfsPath() == "" {
		return err
	}
	return s.readThrough(stream, req, chunk)
}

// openCached opens the stored block of a read request (promoting it first
// when asked) and resolves the requested range [start, end). It fails with
// ErrNotFound when the block is not stored here. Both the gRPC ReadBlock
// and the data server read through it.
func (s *Service) openCached(req *alluxiopb.ReadBlockRequest) (r *blockstore.BlockReader, start, end int64, err error) {
	if req.GetOffset() < 0 || req.GetLength() < -1 {
		return nil, 0, 0, invalid("bad range offset=%d length=%d", req.GetOffset(), req.GetLength())
	}
	id := req.GetBlockId()
	if req.GetPromote() {
		if err := s.cfg.Store.Promote(id); err != nil && !errors.Is(err, rpcstatus.ErrNotFound) {
			s.log.Debug("worker: promote skipped", "block", id, "err", err)
		}
	}
	r, err = s.cfg.Store.Reader(id)
	if err != nil {
		return nil, 0, 0, err
	}
	start, end, err = span(req.GetOffset(), req.GetLength(), r.Length())
	if err != nil {
		r.Close()
		return nil, 0, 0, err
	}
	return r, start, end, nil
}

// mapMin is the smallest range sendRange sends from a mapping of the block
// file rather than by reading it.
const mapMin = 1 << 20

// sendRange sends [start, end) of a block. A stored block's range is mapped
// and its chunks handed to the transport as views of the mapping (see
// sendMapped); otherwise each chunk is read into a pooled buffer.
func (s *Service) sendRange(stream alluxiopb.BlockWorker_ReadBlockServer, r io.ReaderAt, start, end int64, chunk int) error {
	if br, ok := r.(*blockstore.BlockReader); ok && end-start >= mapMin {
		data, unmap, err := br.Map(start, end)
		if err == nil {
			return s.sendMapped(stream, data, unmap, chunk)
		}
		s.log.Debug("worker: mapping block failed, reading it", "block", br.Meta().ID, "err", err)
	}
	return s.sendRead(stream, r, start, end, chunk)
}

// sendMapped sends data in chunks that are views of a mapping of the block
// file: the transport copies them straight from the file's pages into its
// write buffer, saving the read into a buffer. The mapping is released once
// the transport has freed every chunk, or, for chunks it drops without
// freeing (queued on a connection that died), once they are garbage.
func (s *Service) sendMapped(stream alluxiopb.BlockWorker_ReadBlockServer, data []byte, unmap func() error, chunk int) error {
	m := &mapping{unmap: unmap, log: s.log}
	m.refs.Store(1)
	defer m.release(new(atomic.Bool))
	for off := 0; off < len(data); {
		n := min(chunk, len(data)-off)
		view := data[off : off+n : off+n]
		var buf mem.Buffer
		if mem.IsBelowBufferPoolingThreshold(n) {
			// Too small for a pooled Buffer, whose Put would tell us it is freed.
			buf = mem.SliceBuffer(append([]byte(nil), view...))
		} else {
			buf = m.chunk(view)
		}
		err := stream.SendMsg(&datacodec.Out{Field: 1, Buf: buf})
		buf.Free()
		if err != nil {
			return err
		}
		s.cfg.Metrics.BytesRead(n)
		off += n
	}
	return nil
}

// mapping is the mem.BufferPool of the chunks of one mapped block range:
// it counts the chunks not yet released and unmaps after the last one.
type mapping struct {
	refs  atomic.Int64
	unmap func() error
	log   *slog.Logger
}

// mappedChunk is what a chunk's Buffer points to; b must stay the first
// field (Put receives &b).
type mappedChunk struct {
	b    []byte
	done *atomic.Bool // released; separate so the cleanup does not keep the chunk alive
}

// chunk returns a Buffer of view, released by its last Free (Put) or, if
// the transport drops it unfreed, when it is collected.
func (m *mapping) chunk(view []byte) mem.Buffer {
	c := &mappedChunk{b: view, done: new(atomic.Bool)}
	m.refs.Add(1)
	runtime.AddCleanup(c, m.release, c.done)
	return mem.NewBuffer(&c.b, m)
}

func (m *mapping) release(done *atomic.Bool) {
	if !done.CompareAndSwap(false, true) {
		return
	}
	if m.refs.Add(-1) == 0 {
		if err := m.unmap(); err != nil {
			m.log.Warn("worker: unmap block range", "err", err)
		}
	}
}

func (m *mapping) Get(int) *[]byte { panic("worker: Get on a block mapping") }

func (m *mapping) Put(b *[]byte) { m.release((*mappedChunk)(unsafe.Pointer(b)).done) }

// sendRead reads each chunk of [start, end) straight into a pooled buffer
// that the transport sends as it is (see common/datacodec) and frees when written.
func (s *Service) sendRead(stream alluxiopb.BlockWorker_ReadBlockServer, r io.ReaderAt, start, end int64, chunk int) error {
	for off := start; off < end; {
		n := min(int64(chunk), end-off)
		bp := s.bufs.Get(int(n))
		got, err := r.ReadAt(*bp, off)
		if int64(got) < n {
			s.bufs.Put(bp)
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("worker: read block at %d: %w", off, err)
		}
		buf := mem.NewBuffer(bp, s.bufs)
		err = stream.SendMsg(&datacodec.Out{Field: 1, Buf: buf})
		buf.Free()
		if err != nil {
			return err
		}
		s.cfg.Metrics.BytesRead(int(n))
		off += n
	}
	return nil
}

func (s *Service) validateUFS(o *alluxiopb.UfsReadOptions) error {
	if o.GetUfsPath() == "" {
		return invalid("missing UFS path")
	}
	if err := s.checkUFSPath(o.GetUfsPath()); err != nil {
		return err
	}
	if o.GetOffsetInFile() < 0 {
		return invalid("negative UFS offset %d", o.GetOffsetInFile())
	}
	if o.GetBlockSize() <= 0 || o.GetBlockSize() > s.cfg.MaxBlockSize {
		return invalid("UFS block size %d out of range (0, %d]", o.GetBlockSize(), s.cfg.MaxBlockSize)
	}
	if s.cfg.UFS == nil {
		return fmt.Errorf("worker: no UFS registry configured: %w", rpcstatus.ErrFailedPrecondition)
	}
	return nil
}

// openUFS opens the UFS file of o at offset bytes into the block.
func (s *Service) openUFS(ctx context.Context, o *alluxiopb.UfsReadOptions, offset int64) (io.ReadCloser, error) {
	fs, err := s.cfg.UFS.Open(ctx, o.GetUfsPath(), s.mountProps(ctx, o.GetUfsPath()))
	if err != nil {
		return nil, fmt.Errorf("worker: open UFS %s: %w", o.GetUfsPath(), ufsErr(err))
	}
	rc, err := fs.Open(ctx, o.GetUfsPath(), o.GetOffsetInFile()+offset)
	if err != nil {
		err = ufsErr(err)
		if st, serr := fs.GetStatus(ctx, o.GetUfsPath()); serr == nil && st.IsDir {
			err = fmt.Errorf("%w: %w", rpcstatus.ErrFailedPrecondition, err)
		}
		fs.Close()
		return nil, fmt.Errorf("worker: open UFS file %s: %w", o.GetUfsPath(), err)
	}
	s.cfg.Metrics.UFSRead()
	return &ufsReader{ReadCloser: rc, fs: fs, m: s.cfg.Metrics}, nil
}

type ufsReader struct {
	io.ReadCloser
	fs ufs.UnderFileSystem
	m  *metrics.Metrics
}

func (r *ufsReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.m.UFSBytesRead(n)
	return n, err
}

func (r *ufsReader) Close() error {
	err := r.ReadCloser.Close()
	r.fs.Close()
	return err
}

// readThrough serves a block range from the UFS. With cache set it reads the
// whole block into a temp block while sending the requested range, then
// finishes caching in the background and commits it.
func (s *Service) readThrough(stream alluxiopb.BlockWorker_ReadBlockServer, req *alluxiopb.ReadBlockRequest, chunk int) error {
	ctx := stream.Context()
	o := req.GetUfs()
	if err := s.validateUFS(o); err != nil {
		return err
	}
	start, end, err := span(req.GetOffset(), req.GetLength(), o.GetBlockSize())
	if err != nil {
		return err
	}
	id := req.GetBlockId()
	var tb *blockstore.TempBlock
	if req.GetCache() {
		tb, err = s.cfg.Store.CreateBlock(s.newSession(), id, blockstore.CreateOptions{Reserve: o.GetBlockSize()})
		if err != nil {
			s.log.Debug("worker: not caching block read from UFS", "block", id, "err", err)
			tb = nil
		}
	}
	if tb == nil {
		rc, err := s.openUFS(ctx, o, start)
		if err != nil {
			return err
		}
		defer rc.Close()
		return s.sendStream(stream, rc, end-start, chunk)
	}
	// Caching: read the block from its first byte, keep everything, send the
	// range. The UFS stream outlives this call (see below), so it is opened
	// with the service's context rather than the request's.
	rc, err := s.openUFS(s.bgCtx, o, 0)
	if err != nil {
		tb.Abort()
		return err
	}
	handedOff := false
	defer func() {
		if !handedOff {
			rc.Close()
			tb.Abort()
		}
	}()
	buf := make([]byte, chunk)
	size := o.GetBlockSize()
	pos := int64(0)
	for pos < end {
		n := min(int64(len(buf)), size-pos)
		if _, err := io.ReadFull(rc, buf[:n]); err != nil {
			return fmt.Errorf("worker: read UFS %s at %d (block %d of %d bytes): %w", o.GetUfsPath(), o.GetOffsetInFile()+pos, id, size, shortErr(err))
		}
		if _, err := tb.Write(buf[:n]); err != nil {
			// Out of cache space: keep serving from the UFS without caching.
			s.log.Debug("worker: abandoning cache of block", "block", id, "err", err)
			tb.Abort()
			rest := &prefixReader{b: buf[:n], r: rc}
			return s.sendFrom(stream, rest, pos, start, end, chunk)
		}
		// Send the part of [pos, pos+n) inside [start, end).
		lo, hi := max(pos, start), min(pos+n, end)
		if lo < hi {
			if err := stream.Send(&alluxiopb.ReadBlockResponse{Chunk: buf[lo-pos : hi-pos]}); err != nil {
				return err
			}
			s.cfg.Metrics.BytesRead(int(hi - lo))
		}
		pos += n
	}
	handedOff = true
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer rc.Close()
		if err := s.finishCache(s.bgCtx, tb, rc, pos, size, buf); err != nil {
			s.log.Warn("worker: caching block from UFS failed", "block", id, "ufs", o.GetUfsPath(), "err", err)
		}
	}()
	return nil
}

func shortErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("UFS file shorter than the block: %w", rpcstatus.ErrFailedPrecondition)
	}
	return ufsErr(err)
}

// finishCache copies the rest of the block [pos, size) from r into tb,
// commits it and tells the master.
func (s *Service) finishCache(ctx context.Context, tb *blockstore.TempBlock, r io.Reader, pos, size int64, buf []byte) error {
	for pos < size {
		if err := ctx.Err(); err != nil {
			tb.Abort()
			return err
		}
		n := min(int64(len(buf)), size-pos)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			tb.Abort()
			return shortErr(err)
		}
		if _, err := tb.Write(buf[:n]); err != nil {
			tb.Abort()
			return err
		}
		pos += n
	}
	return s.commit(ctx, tb)
}

// commit commits tb locally and then at the master.
func (s *Service) commit(ctx context.Context, tb *blockstore.TempBlock) error {
	meta, err := tb.Commit()
	if err != nil {
		tb.Abort()
		return err
	}
	if s.cfg.Master == nil {
		return nil
	}
	var used int64
	for _, u := range s.cfg.Store.Usage() {
		if u.Alias == meta.Tier {
			used = u.Used
		}
	}
	if err := s.cfg.Master.CommitBlock(ctx, meta.ID, meta.Length, meta.Tier, used); err != nil {
		return fmt.Errorf("worker: block %d is stored but the master commit failed (it will be reported in the next heartbeat): %w: %w",
			meta.ID, rpcstatus.ErrUnavailable, err)
	}
	return nil
}

type prefixReader struct {
	b []byte
	r io.Reader
}

func (p *prefixReader) Read(out []byte) (int, error) {
	if len(p.b) > 0 {
		n := copy(out, p.b)
		p.b = p.b[n:]
		return n, nil
	}
	return p.r.Read(out)
}

// sendFrom sends [start, end) from r, which is positioned at pos <= end.
func (s *Service) sendFrom(stream alluxiopb.BlockWorker_ReadBlockServer, r io.Reader, pos, start, end int64, chunk int) error {
	if pos < start {
		if _, err := io.CopyN(io.Discard, r, start-pos); err != nil {
			return shortErr(err)
		}
		pos = start
	}
	buf := make([]byte, chunk)
	for pos < end {
		n := min(int64(len(buf)), end-pos)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return shortErr(err)
		}
		lo := max(int64(0), start-pos)
		if err := stream.Send(&alluxiopb.ReadBlockResponse{Chunk: buf[lo:n]}); err != nil {
			return err
		}
		s.cfg.Metrics.BytesRead(int(n - lo))
		pos += n
	}
	return nil
}

// sendStream sends n bytes from r in chunks.
func (s *Service) sendStream(stream alluxiopb.BlockWorker_ReadBlockServer, r io.Reader, n int64, chunk int) error {
	return s.sendFrom(stream, r, 0, 0, n, chunk)
}

// WriteBlock receives a header then chunks; the client closing its send side
// commits the block locally and at the master. A cancel message or a broken
// stream aborts it, leaving nothing behind.
func (s *Service) WriteBlock(stream alluxiopb.BlockWorker_WriteBlockServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return invalid("empty WriteBlock stream: the first message must be a header")
	}
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return invalid("first WriteBlock message must be a header")
	}
	tb, err := s.createBlock(h)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tb.Abort()
		}
	}()
	for {
		in := datacodec.In{Field: 2, Msg: &alluxiopb.WriteBlockRequest{}}
		err := stream.RecvMsg(&in)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if in.Segs != nil {
			// A chunk, as the frame buffers it arrived in.
			n := in.Len()
			if err := s.checkGrowth(tb, int64(n)); err != nil {
				in.Free()
				return err
			}
			_, err := tb.WriteBuffers(in.Segs)
			in.Free()
			if err != nil {
				return err
			}
			s.cfg.Metrics.BytesWritten(n)
			continue
		}
		switch v := in.Msg.(*alluxiopb.WriteBlockRequest).GetValue().(type) {
		case *alluxiopb.WriteBlockRequest_Chunk:
			if err := s.checkGrowth(tb, int64(len(v.Chunk))); err != nil {
				return err
			}
			if _, err := tb.Write(v.Chunk); err != nil {
				return err
			}
			s.cfg.Metrics.BytesWritten(len(v.Chunk))
		case *alluxiopb.WriteBlockRequest_Cancel:
			return fmt.Errorf("worker: write of block %d canceled by the client: %w", h.GetBlockId(), rpcstatus.ErrCanceled)
		default:
			return invalid("unexpected message in WriteBlock stream after the header")
		}
	}
	done = true
	length := tb.Written()
	if err := s.commit(stream.Context(), tb); err != nil {
		return err
	}
	return stream.SendAndClose(&alluxiopb.WriteBlockResponse{BlockId: h.GetBlockId(), Length: length})
}

// createBlock validates a write header and creates the temp block. Both the
// gRPC WriteBlock and the data server write through it (then checkGrowth
// per chunk, and commit or Abort).
func (s *Service) createBlock(h *alluxiopb.WriteBlockHeader) (*blockstore.TempBlock, error) {
	if h.GetSpaceToReserve() < 0 || h.GetSpaceToReserve() > s.cfg.MaxBlockSize {
		return nil, invalid("space to reserve %d out of range [0, %d]", h.GetSpaceToReserve(), s.cfg.MaxBlockSize)
	}
	opts := blockstore.CreateOptions{Tier: h.GetTierAlias(), Reserve: h.GetSpaceToReserve(), Pinned: h.GetPinned()}
	session := s.newSession()
	tb, err := s.cfg.Store.CreateBlock(session, h.GetBlockId(), opts)
	if errors.Is(err, rpcstatus.ErrResourceExhausted) && opts.Reserve > 0 {
		// The reservation is the client's guess (usually the block size); a
		// smaller block may still fit, so reserve as the data arrives instead.
		opts.Reserve = 0
		tb, err = s.cfg.Store.CreateBlock(session, h.GetBlockId(), opts)
	}
	return tb, err
}

// checkGrowth refuses n more bytes that would take tb past the maximum block size.
func (s *Service) checkGrowth(tb *blockstore.TempBlock, n int64) error {
	if n < 0 || tb.Written()+n > s.cfg.MaxBlockSize {
		return invalid("block %d exceeds the maximum block size %d", tb.ID(), s.cfg.MaxBlockSize)
	}
	return nil
}

// WriteUfsFile writes a file to the UFS through ufs.Writer: visible on Close,
// discarded on cancel or error.
func (s *Service) WriteUfsFile(stream alluxiopb.BlockWorker_WriteUfsFileServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err == io.EOF {
		return invalid("empty WriteUfsFile stream: the first message must be a header")
	}
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil || h.GetUfsPath() == "" {
		return invalid("first WriteUfsFile message must be a header with a UFS path")
	}
	if err := s.checkUFSPath(h.GetUfsPath()); err != nil {
		return err
	}
	if h.GetMode() < 0 || h.GetMode() > 0o7777 {
		return invalid("mode %#o out of range [0, 07777]", h.GetMode())
	}
	fs, err := s.cfg.UFS.Open(ctx, h.GetUfsPath(), s.mountProps(ctx, h.GetUfsPath()))
	if err != nil {
		return fmt.Errorf("worker: open UFS %s: %w", h.GetUfsPath(), ufsErr(err))
	}
	defer fs.Close()
	w, err := fs.Create(ctx, h.GetUfsPath(), ufs.CreateOptions{Mode: uint32(h.GetMode()), Overwrite: h.GetOverwrite(), CreateParent: true})
	if err != nil {
		return fmt.Errorf("worker: create UFS file %s: %w", h.GetUfsPath(), ufsErr(err))
	}
	var n int64
	for {
		in := datacodec.In{Field: 2, Msg: &alluxiopb.WriteUfsFileRequest{}}
		err := stream.RecvMsg(&in)
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Cancel()
			return err
		}
		if in.Segs != nil {
			// One contiguous write per chunk: a UFS write per frame
			// buffer would cost more than the copy.
			k := in.Len()
			buf := in.Bufs.MaterializeToBuffer(s.bufs)
			in.Free()
			msg := buf.ReadOnlyData()
			_, err := w.Write(msg[len(msg)-k:])
			buf.Free()
			if err != nil {
				w.Cancel()
				return fmt.Errorf("worker: write UFS file %s: %w", h.GetUfsPath(), ufsErr(err))
			}
			n += int64(k)
			s.cfg.Metrics.UFSBytesWritten(k)
			continue
		}
		switch v := in.Msg.(*alluxiopb.WriteUfsFileRequest).GetValue().(type) {
		case *alluxiopb.WriteUfsFileRequest_Chunk:
			if _, err := w.Write(v.Chunk); err != nil {
				w.Cancel()
				return fmt.Errorf("worker: write UFS file %s: %w", h.GetUfsPath(), ufsErr(err))
			}
			n += int64(len(v.Chunk))
			s.cfg.Metrics.UFSBytesWritten(len(v.Chunk))
		case *alluxiopb.WriteUfsFileRequest_Cancel:
			w.Cancel()
			return fmt.Errorf("worker: write of %s canceled by the client: %w", h.GetUfsPath(), rpcstatus.ErrCanceled)
		default:
			w.Cancel()
			return invalid("unexpected message in WriteUfsFile stream after the header")
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("worker: commit UFS file %s: %w", h.GetUfsPath(), ufsErr(err))
	}
	return stream.SendAndClose(&alluxiopb.WriteUfsFileResponse{Length: n})
}

// OpenLocalBlock locks a block for short-circuit reads and returns its path.
func (s *Service) OpenLocalBlock(ctx context.Context, req *alluxiopb.OpenLocalBlockRequest) (*alluxiopb.OpenLocalBlockResponse, error) {
	if req.GetPromote() {
		if err := s.cfg.Store.Promote(req.GetBlockId()); err != nil && !errors.Is(err, rpcstatus.ErrNotFound) {
			s.log.Debug("worker: promote skipped", "block", req.GetBlockId(), "err", err)
		}
	}
	meta, lock, err := s.cfg.Store.Lock(req.GetBlockId(), s.cfg.LockLease)
	if err != nil {
		return nil, err
	}
	return &alluxiopb.OpenLocalBlockResponse{Path: meta.Path, Length: meta.Length, LockId: lock}, nil
}

// CloseLocalBlock releases a short-circuit lock.
func (s *Service) CloseLocalBlock(ctx context.Context, req *alluxiopb.CloseLocalBlockRequest) (*alluxiopb.CloseLocalBlockResponse, error) {
	if err := s.cfg.Store.UnlockBlock(req.GetBlockId(), req.GetLockId()); err != nil {
		return nil, err
	}
	return &alluxiopb.CloseLocalBlockResponse{}, nil
}

// CacheBlock loads a block from the UFS into the store without sending it.
func (s *Service) CacheBlock(ctx context.Context, req *alluxiopb.CacheBlockRequest) (*alluxiopb.CacheBlockResponse, error) {
	o := req.GetUfs()
	if err := s.validateUFS(o); err != nil {
		return nil, err
	}
	id := req.GetBlockId()
	if s.cfg.Store.Has(id) {
		return &alluxiopb.CacheBlockResponse{}, nil
	}
	tb, err := s.cfg.Store.CreateBlock(s.newSession(), id, blockstore.CreateOptions{Reserve: o.GetBlockSize()})
	if errors.Is(err, rpcstatus.ErrAlreadyExists) {
		return &alluxiopb.CacheBlockResponse{}, nil // cached or being cached meanwhile
	}
	if err != nil {
		return nil, err
	}
	rc, err := s.openUFS(ctx, o, 0)
	if err != nil {
		tb.Abort()
		return nil, err
	}
	defer rc.Close()
	if err := s.finishCache(ctx, tb, rc, 0, o.GetBlockSize(), make([]byte, DefaultChunkSize)); err != nil {
		return nil, fmt.Errorf("worker: cache block %d from %s: %w", id, o.GetUfsPath(), err)
	}
	return &alluxiopb.CacheBlockResponse{}, nil
}

// GetWorkerStatus reports the worker's tiers, usage and master.
func (s *Service) GetWorkerStatus(ctx context.Context, _ *alluxiopb.GetWorkerStatusRequest) (*alluxiopb.GetWorkerStatusResponse, error) {
	resp := &alluxiopb.GetWorkerStatusResponse{
		CapacityBytesOnTiers: map[string]int64{},
		UsedBytesOnTiers:     map[string]int64{},
	}
	for _, u := range s.cfg.Store.Usage() {
		resp.TierAliases = append(resp.TierAliases, u.Alias)
		resp.CapacityBytesOnTiers[u.Alias] = u.Capacity
		resp.UsedBytesOnTiers[u.Alias] = u.Used
		resp.BlockCount += int64(u.Blocks)
	}
	if s.cfg.Master != nil {
		resp.WorkerId = s.cfg.Master.WorkerID()
		resp.MasterAddress = s.cfg.Master.MasterAddress()
	}
	return resp, nil
}

// mountProps returns the properties of the mount holding ufsPath.
func (s *Service) mountProps(ctx context.Context, ufsPath string) map[string]string {
	if s.cfg.MountProperties == nil {
		return nil
	}
	return s.cfg.MountProperties(ctx, ufsPath)
}
