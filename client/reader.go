package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// maxSourceAttempts bounds how often one block read is re-opened after a
// worker failed mid-stream.
const maxSourceAttempts = 3

// FileReader reads a complete file. It implements io.ReadSeekCloser and
// io.ReaderAt; ReadAt may be called concurrently with itself and with Read.
type FileReader struct {
	fs *FileSystem
	// ctx is the context given to OpenFile: it bounds the reader's life, as
	// with gocloud.dev's blob readers, because io.Reader has no context.
	ctx      context.Context
	cancel   context.CancelFunc // ends ctx on Close, unblocking reads
	path     string
	readType ReadType

	locMu  sync.Mutex
	status *URIStatus
	bad    map[string]bool // workers that failed, by host:port
	local  map[int64]*localBlock

	mu     sync.Mutex
	pos    int64
	cur    io.ReadCloser // sequential source, positioned at curOff
	curOff int64
	curEnd int64
	closed bool
}

// OpenFile opens a complete file for reading. ctx bounds the reader's life,
// including later Read, ReadAt and Seek calls.
func (f *FileSystem) OpenFile(ctx context.Context, path string, opts ...OpenOption) (*FileReader, error) {
	var o openOptions
	for _, opt := range opts {
		opt.applyOpen(&o)
	}
	if o.readType == ReadTypeDefault {
		o.readType = f.readType
	}
	st, err := f.GetStatus(ctx, path)
	if err != nil {
		return nil, err
	}
	if st.IsDir {
		return nil, fmt.Errorf("client: open %s: is a directory: %w", st.Path, ErrInvalidArgument)
	}
	if !st.Completed {
		return nil, fmt.Errorf("client: open %s: file is incomplete (still being written): %w", st.Path, ErrFailedPrecondition)
	}
	fillBlocks(st)
	rctx, cancel := context.WithCancel(ctx)
	return &FileReader{fs: f, ctx: rctx, cancel: cancel, path: st.Path, readType: o.readType, status: st, bad: map[string]bool{}}, nil
}

// fillBlocks derives the block list from block ids when the master sent no
// block infos.
func fillBlocks(st *URIStatus) {
	if len(st.Blocks) > 0 || len(st.BlockIDs) == 0 || st.BlockSize <= 0 {
		return
	}
	for i, id := range st.BlockIDs {
		off := int64(i) * st.BlockSize
		st.Blocks = append(st.Blocks, FileBlock{ID: id, Offset: off, Length: min(st.BlockSize, st.Length-off)})
	}
}

// Status returns the status of the file being read.
func (r *FileReader) Status() *URIStatus {
	r.locMu.Lock()
	defer r.locMu.Unlock()
	return r.status
}

// Len returns the length of the file.
func (r *FileReader) Len() int64 { return r.Status().Length }

// Read reads from the current offset.
func (r *FileReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	length := r.Len()
	attempts := 0
	for {
		if r.pos >= length {
			return 0, io.EOF
		}
		if r.cur == nil || r.curOff != r.pos {
			r.closeCur()
			blk, ok := r.blockAt(r.pos)
			if !ok {
				return 0, fmt.Errorf("client: read %s: no block holds offset %d: %w", r.path, r.pos, ErrInternal)
			}
			src, err := r.openSource(blk, r.pos-blk.Offset, blk.Length-(r.pos-blk.Offset))
			if err != nil {
				return 0, err
			}
			r.cur, r.curOff, r.curEnd = src, r.pos, blk.Offset+blk.Length
		}
		buf := p
		if rem := r.curEnd - r.pos; int64(len(buf)) > rem {
			buf = buf[:rem]
		}
		n, err := r.cur.Read(buf)
		r.pos += int64(n)
		r.curOff += int64(n)
		if r.curOff >= r.curEnd {
			r.closeCur()
		}
		switch {
		case err == nil || err == io.EOF:
			if n > 0 {
				return n, nil
			}
			if err == io.EOF && r.cur != nil {
				// The source ended before the block did.
				r.closeCur()
				return 0, fmt.Errorf("client: read %s: block at offset %d ended early: %w", r.path, r.pos, io.ErrUnexpectedEOF)
			}
		default:
			r.closeCur()
			if n > 0 {
				return n, nil
			}
			attempts++
			if attempts >= maxSourceAttempts || r.ctx.Err() != nil {
				return 0, fmt.Errorf("client: read %s at offset %d: %w", r.path, r.pos, err)
			}
			r.fs.logger.Debug("block read failed, trying another source", "path", r.path, "offset", r.pos, "err", err)
		}
	}
}

func (r *FileReader) closeCur() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}

// Seek sets the offset of the next Read.
func (r *FileReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.Len() + offset
	default:
		return 0, fmt.Errorf("client: seek %s: bad whence %d: %w", r.path, whence, ErrInvalidArgument)
	}
	if abs < 0 {
		return 0, fmt.Errorf("client: seek %s: negative offset %d: %w", r.path, abs, ErrInvalidArgument)
	}
	r.pos = abs
	return abs, nil
}

// ReadAt reads len(p) bytes at off; it does not move the Read offset.
func (r *FileReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("client: read %s: negative offset %d: %w", r.path, off, ErrInvalidArgument)
	}
	length := r.Len()
	total := 0
	for total < len(p) {
		pos := off + int64(total)
		if pos >= length {
			return total, io.EOF
		}
		blk, ok := r.blockAt(pos)
		if !ok {
			return total, fmt.Errorf("client: read %s: no block holds offset %d: %w", r.path, pos, ErrInternal)
		}
		inBlock := pos - blk.Offset
		want := min(int64(len(p)-total), blk.Length-inBlock)
		n, err := r.readRange(blk, inBlock, p[total:total+int(want)])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readRange fills buf from the block at offset inBlock, switching sources if
// one fails.
func (r *FileReader) readRange(blk FileBlock, inBlock int64, buf []byte) (int, error) {
	done := 0
	var lastErr error
	for attempt := 0; attempt < maxSourceAttempts && done < len(buf); attempt++ {
		if r.ctx.Err() != nil {
			return done, fmt.Errorf("client: read %s: %w", r.path, r.ctx.Err())
		}
		src, err := r.openSource(blk, inBlock+int64(done), int64(len(buf)-done))
		if err != nil {
			return done, err
		}
		var n int
		if ra, ok := src.(io.ReaderAt); ok {
			n, err = ra.ReadAt(buf[done:], inBlock+int64(done))
		} else {
			n, err = io.ReadFull(src, buf[done:])
		}
		src.Close()
		done += n
		if done == len(buf) {
			return done, nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return done, fmt.Errorf("client: read %s: block %d ended early: %w", r.path, blk.ID, io.ErrUnexpectedEOF)
		}
		lastErr = err
	}
	return done, fmt.Errorf("client: read %s block %d: %w", r.path, blk.ID, lastErr)
}

func (r *FileReader) blockAt(pos int64) (FileBlock, bool) {
	r.locMu.Lock()
	defer r.locMu.Unlock()
	for _, b := range r.status.Blocks {
		if pos >= b.Offset && pos < b.Offset+b.Length {
			return b, true
		}
	}
	return FileBlock{}, false
}

// openSource opens a reader of length bytes of blk from offset inBlock:
// a local block file, else a worker holding the block, else (for persisted
// files) a worker reading the UFS. If every location fails it re-fetches
// the file's status once and tries again.
//
// A block of an unpersisted file with no location at all is waited for (see
// awaitWorkers): after a master failover the new leader learns the
// locations as the workers, which keep their blocks, register with it.
func (r *FileReader) openSource(blk FileBlock, inBlock, length int64) (io.ReadCloser, error) {
	r.locMu.Lock()
	noSource := len(blk.Locations) == 0 && !r.status.Persisted
	r.locMu.Unlock()
	if noSource {
		err := r.fs.awaitWorkers(r.ctx, func(context.Context) error {
			if err := r.refresh(); err != nil {
				return err
			}
			if b, ok := r.blockAt(blk.Offset); ok && b.ID == blk.ID {
				blk = b
			}
			r.locMu.Lock()
			defer r.locMu.Unlock()
			if len(blk.Locations) == 0 && !r.status.Persisted {
				return &noWorkersError{fmt.Sprintf("block %d is not cached on any worker and the file is not persisted", blk.ID)}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("client: read %s: %w", r.path, err)
		}
	}
	var lastErr error
	for round := 0; round < 2; round++ {
		if round == 1 {
			if err := r.refresh(); err != nil {
				return nil, err
			}
			if b, ok := r.blockAt(blk.Offset); ok && b.ID == blk.ID {
				blk = b
			}
		}
		r.locMu.Lock()
		locs := r.fs.orderLocations(blk.Locations, r.bad)
		persisted, ufsPath, mountID := r.status.Persisted, r.status.UfsPath, r.status.MountID
		r.locMu.Unlock()
		for _, l := range locs {
			if r.fs.shortCircuit && r.fs.isLocal(l.Address.Host) {
				src, err := r.openLocal(l.Address, blk, inBlock, length)
				if err == nil {
					return src, nil
				}
				r.fs.logger.Debug("short-circuit read failed, streaming", "block", blk.ID, "worker", l.Address.String(), "err", err)
			}
			src, err := r.openRemote(l.Address, &pb.ReadBlockRequest{
				BlockId: blk.ID, Offset: inBlock, Length: length, ChunkSize: r.fs.chunkSize,
				Promote: r.readType == CachePromote,
			})
			if err == nil {
				return src, nil
			}
			if r.ctx.Err() != nil {
				return nil, fmt.Errorf("client: read %s: %w", r.path, r.ctx.Err())
			}
			lastErr = err
			r.markBad(l.Address)
		}
		if persisted && ufsPath != "" {
			// Through a worker that has not failed this reader (nor refused
			// connections lately), trying another if it fails.
			for try := 0; try < maxUfsWorkers; try++ {
				r.locMu.Lock()
				bad := maps.Clone(r.bad)
				r.locMu.Unlock()
				w, err := r.fs.pickWorkerExcept(r.ctx, 0, bad)
				if err != nil {
					return nil, fmt.Errorf("client: read %s block %d from the UFS: %w", r.path, blk.ID, err)
				}
				if try > 0 && bad[w.String()] {
					break // every live worker failed
				}
				src, err := r.openStream(w, &pb.ReadBlockRequest{
					BlockId: blk.ID, Offset: inBlock, Length: length, ChunkSize: r.fs.chunkSize,
					Promote: r.readType == CachePromote, Cache: r.readType != NoCache,
					Ufs: &pb.UfsReadOptions{UfsPath: ufsPath, OffsetInFile: blk.Offset, BlockSize: blk.Length, MountId: mountID},
				})
				if err == nil {
					return src, nil
				}
				if r.ctx.Err() != nil {
					return nil, fmt.Errorf("client: read %s: %w", r.path, r.ctx.Err())
				}
				lastErr = err
				r.markBad(w)
			}
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("block %d is not cached on any worker and the file is not persisted: %w", blk.ID, rpcstatus.ErrUnavailable)
	}
	return nil, fmt.Errorf("client: read %s: %w", r.path, lastErr)
}

// maxUfsWorkers bounds the workers one round of openSource asks to read a
// block from the UFS.
const maxUfsWorkers = 3

func (r *FileReader) markBad(a WorkerAddress) {
	r.locMu.Lock()
	r.bad[a.String()] = true
	r.locMu.Unlock()
}

// refresh re-fetches the file's status (block locations may have changed)
// and forgets which workers failed.
func (r *FileReader) refresh() error {
	st, err := r.fs.GetStatus(r.ctx, r.path)
	if err != nil {
		return err
	}
	fillBlocks(st)
	r.locMu.Lock()
	defer r.locMu.Unlock()
	if st.Length != r.status.Length {
		return fmt.Errorf("client: read %s: file changed while reading: %w", r.path, ErrFailedPrecondition)
	}
	r.status = st
	r.bad = map[string]bool{}
	return nil
}

// Close releases the reader; a Read or ReadAt blocked in another goroutine
// returns promptly.
func (r *FileReader) Close() error {
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.closeCur()
	r.locMu.Lock()
	local := r.local
	r.local = nil
	r.locMu.Unlock()
	for _, lb := range local {
		lb.close()
	}
	return nil
}

// openRemote reads a range of a block stored on worker w: through its data
// server when it has one, else (or when the data server cannot be reached)
// through a ReadBlock stream.
func (r *FileReader) openRemote(w WorkerAddress, req *pb.ReadBlockRequest) (io.ReadCloser, error) {
	if r.fs.useData(w) && req.GetUfs() == nil {
		src, err := r.fs.openDataRead(r.ctx, w, req)
		if err == nil || !fallBack(err) {
			return src, err
		}
		r.fs.logger.Debug("data server unreachable, reading over gRPC", "block", req.GetBlockId(), "worker", w.String(), "err", err)
	}
	return r.openStream(w, req)
}

// openStream starts a ReadBlock stream and waits for its first chunk, so a
// worker that cannot serve the block fails here.
func (r *FileReader) openStream(w WorkerAddress, req *pb.ReadBlockRequest) (io.ReadCloser, error) {
	wc, err := r.fs.workerClient(w)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(r.ctx)
	stream, err := wc.ReadBlock(ctx, req, grpc.ForceCodecV2(r.fs.codec))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("read block %d from worker %s: %w", req.BlockId, w, rpcstatus.FromGRPC(err))
	}
	s := &streamSource{stream: stream, cancel: cancel, worker: w, blockID: req.BlockId}
	switch err := s.recv(); {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		cancel()
		return nil, fmt.Errorf("read block %d from worker %s: %w", req.BlockId, w, rpcstatus.FromGRPC(err))
	}
	return s, nil
}

type streamSource struct {
	stream  pb.BlockWorker_ReadBlockClient
	cancel  context.CancelFunc
	worker  WorkerAddress
	blockID int64
	// in holds the current chunk: segs are views of the received frame
	// buffers, released when consumed.
	in  datacodec.In
	eof bool
}

// recv receives the next chunk into s.in.
func (s *streamSource) recv() error {
	s.in.Free()
	s.in = datacodec.In{Field: 1, Msg: &pb.ReadBlockResponse{}}
	if err := s.stream.RecvMsg(&s.in); err != nil {
		return err
	}
	if s.in.Segs == nil {
		if c := s.in.Msg.(*pb.ReadBlockResponse).GetChunk(); len(c) > 0 {
			s.in.Segs = [][]byte{c}
		}
	}
	return nil
}

func (s *streamSource) Read(p []byte) (int, error) {
	for len(s.in.Segs) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		err := s.recv()
		if err == io.EOF {
			s.eof = true
			return 0, io.EOF
		}
		if err != nil {
			return 0, fmt.Errorf("read block %d from worker %s: %w", s.blockID, s.worker, rpcstatus.FromGRPC(err))
		}
	}
	n := 0
	for n < len(p) && len(s.in.Segs) > 0 {
		k := copy(p[n:], s.in.Segs[0])
		n += k
		if k == len(s.in.Segs[0]) {
			s.in.Segs = s.in.Segs[1:]
		} else {
			s.in.Segs[0] = s.in.Segs[0][k:]
		}
	}
	if len(s.in.Segs) == 0 {
		s.in.Free()
	}
	return n, nil
}

func (s *streamSource) Close() error {
	s.cancel()
	s.in.Free()
	return nil
}

// openLocal reads a block file of a worker on this host directly. The file
// stays open (and the worker's lock held) until the reader is closed, so
// repeated ReadAt calls cost no RPC.
func (r *FileReader) openLocal(w WorkerAddress, blk FileBlock, inBlock, length int64) (io.ReadCloser, error) {
	r.locMu.Lock()
	lb := r.local[blk.ID]
	r.locMu.Unlock()
	if lb == nil {
		var err error
		if lb, err = r.openLocalBlock(w, blk); err != nil {
			return nil, err
		}
		r.locMu.Lock()
		if prev := r.local[blk.ID]; prev != nil {
			r.locMu.Unlock()
			lb.close()
			lb = prev
		} else {
			if r.local == nil {
				r.local = map[int64]*localBlock{}
			}
			r.local[blk.ID] = lb
			r.locMu.Unlock()
		}
	}
	end := min(inBlock+length, lb.length)
	return &localView{section: io.NewSectionReader(lb.file, inBlock, max(0, end-inBlock)), base: inBlock}, nil
}

func (r *FileReader) openLocalBlock(w WorkerAddress, blk FileBlock) (*localBlock, error) {
	wc, err := r.fs.workerClient(w)
	if err != nil {
		return nil, err
	}
	resp, err := wc.OpenLocalBlock(r.ctx, &pb.OpenLocalBlockRequest{BlockId: blk.ID, Promote: r.readType == CachePromote})
	if err != nil {
		return nil, fmt.Errorf("open local block %d on worker %s: %w", blk.ID, w, rpcstatus.FromGRPC(err))
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), rpcTimeout)
		defer cancel()
		if _, err := wc.CloseLocalBlock(ctx, &pb.CloseLocalBlockRequest{BlockId: blk.ID, LockId: resp.GetLockId()}); err != nil {
			r.fs.logger.Debug("close local block failed", "block", blk.ID, "worker", w.String(), "err", err)
		}
	}
	file, err := os.Open(resp.GetPath())
	if err != nil {
		release()
		return nil, err
	}
	return &localBlock{file: file, length: resp.GetLength(), release: release}, nil
}

// localBlock is an open block file of a local worker.
type localBlock struct {
	file    *os.File
	length  int64
	release func()
	once    sync.Once
}

func (l *localBlock) close() {
	l.once.Do(func() {
		l.file.Close()
		l.release()
	})
}

// localView reads a range of a localBlock; closing it leaves the block open.
type localView struct {
	section *io.SectionReader
	base    int64 // block offset of the section's start
}

func (l *localView) Read(p []byte) (int, error) { return l.section.Read(p) }

// ReadAt reads at an offset within the block.
func (l *localView) ReadAt(p []byte, off int64) (int, error) {
	n, err := l.section.ReadAt(p, off-l.base)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read local block file: %w", err)
	}
	return n, err
}

func (l *localView) Close() error { return nil }
