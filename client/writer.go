package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// FileWriter writes a new file. Bytes are sent to a worker in chunks; each
// full block is committed as it ends, and Close completes the file on the
// master. Cancel abandons the file instead.
//
// A failed Write or Close (e.g. the worker died mid-block) abandons the
// file at once: its streams are cancelled and the incomplete file deleted, so
// the error is a definite failure and the caller may write the file again.
// If the deletion could not be confirmed, the error also wraps
// ErrIndeterminate: an incomplete file may remain under the name, so write
// the retry under a new name (or delete the old one first). A FileWriter is safe for
// concurrent use, though writes from several goroutines interleave.
type FileWriter struct {
	fs *FileSystem
	// ctx is the context given to CreateFile: it bounds the whole write, as
	// with gocloud.dev's blob writers, because io.Writer has no context.
	ctx       context.Context
	cancel    context.CancelFunc // ends ctx: Cancel unblocks a stuck Write
	path      string
	status    *URIStatus
	writeType WriteType
	blockSize int64
	chunkSize int
	worker    WorkerAddress
	wc        pb.BlockWorkerClient

	mu          sync.Mutex
	block       pb.BlockWorker_WriteBlockClient
	blockCancel context.CancelFunc
	dblock      *dataBlockWriter // the block being written through the data server (block is then nil)
	// ending is the last block ended through the data server whose commit
	// the worker has not confirmed yet (endingLength bytes sent): it is
	// awaited when the next block ends and before the file completes, so
	// that the worker's commit (a journaled call to the master) overlaps
	// the next block's bytes instead of stalling the stream.
	ending       *dataBlockWriter
	endingID     int64
	endingLength int64
	blockID      int64
	blockWritten int64
	ufs          pb.BlockWorker_WriteUfsFileClient
	ufsCancel    context.CancelFunc
	buf          []byte  // the chunk being filled: (*bufp)[:len]
	bufp         *[]byte // from fs.bufs
	length       int64
	err          error // sticky
	closed       bool
	abandoned    bool // abort ran
	abortErr     error
}

// CreateFile creates a file and returns a writer for its contents. The file
// becomes readable when the writer's Close returns nil. ctx bounds the
// whole write, including later Write and Close calls.
func (f *FileSystem) CreateFile(ctx context.Context, path string, opts ...CreateOption) (_ *FileWriter, err error) {
	sctx, span := f.startSpan(ctx, "CreateFile", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	o := createOptions{blockSize: f.blockSize}
	for _, opt := range opts {
		opt.applyCreate(&o)
	}
	if o.writeType == WriteTypeDefault {
		o.writeType = f.writeType
	}
	if o.blockSize <= 0 {
		return nil, fmt.Errorf("client: block size %d is not positive: %w", o.blockSize, ErrInvalidArgument)
	}
	if !o.writeType.caches() && !o.writeType.throughs() {
		return nil, fmt.Errorf("client: bad write type %v: %w", o.writeType, ErrInvalidArgument)
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	need := o.blockSize
	if !o.writeType.caches() {
		need = 0
	}
	worker, err := f.pickWorker(sctx, need)
	if err != nil {
		return nil, opErr("create", p, err)
	}
	wc, err := f.workerClient(worker)
	if err != nil {
		return nil, opErr("create", p, err)
	}
	ttl := int64(-1)
	if o.ttl > 0 {
		ttl = o.ttl.Milliseconds()
	}
	req := &pb.CreateFileRequest{
		Path: p, BlockSizeBytes: o.blockSize, Recursive: o.recursive, Mode: int32(o.mode),
		WriteType: o.writeType.proto(), Ttl: ttl, Owner: orDefault(o.owner, f.user), Group: orDefault(o.group, f.group),
		Overwrite: o.overwrite, OperationId: newOperationID(),
	}
	var resp *pb.CreateFileResponse
	err = f.callMaster(sctx, "CreateFile", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = f.fsClient(cc).CreateFile(ctx, req)
		return err
	})
	if err != nil {
		return nil, opErr("create", p, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &FileWriter{
		fs: f, ctx: wctx, cancel: cancel, path: p, status: statusFromProto(resp.GetFileInfo()),
		writeType: o.writeType, blockSize: o.blockSize, chunkSize: int(f.chunkSize),
		worker: worker, wc: wc,
	}
	w.newBuf()
	if o.writeType.throughs() {
		if err := w.onLiveWorker(sctx, need, func() error { return w.openUfs(o) }, nil); err != nil {
			w.err = opErr("create", p, err)
			w.abandon()
			w.cancel()
			return nil, w.err
		}
	}
	f.logger.Debug("creating file", "path", p, "writeType", o.writeType, "worker", worker.String(), "blockSize", o.blockSize)
	return w, nil
}

// Status returns the status of the file as CreateFile returned it.
func (w *FileWriter) Status() *URIStatus { return w.status }

// Worker returns the address of the worker the file is written through.
func (w *FileWriter) Worker() WorkerAddress { return w.worker }

// onLiveWorker runs open on w's worker and, while it fails because that
// worker cannot be connected to (it died since the master last heard from
// it), again on another live worker not tried yet. For a writer that has
// sent no byte of the file, which may then go through any worker. undo
// (may be nil) releases what a failed open left before the switch.
func (w *FileWriter) onLiveWorker(ctx context.Context, need int64, open func() error, undo func()) error {
	tried := map[string]bool{}
	for {
		err := open()
		if err == nil || !refusedConnection(err) {
			return err
		}
		tried[w.worker.String()] = true
		if undo != nil {
			undo()
		}
		if !w.switchWorker(ctx, need, tried) {
			return err
		}
	}
}

// switchWorker moves a writer that has sent no byte to a worker not in
// tried; false if there is none.
func (w *FileWriter) switchWorker(ctx context.Context, need int64, tried map[string]bool) bool {
	next, err := w.fs.pickWorkerExcept(ctx, need, tried)
	if err != nil || tried[next.String()] {
		return false
	}
	wc, err := w.fs.workerClient(next)
	if err != nil {
		return false
	}
	w.fs.logger.Debug("worker unreachable; writing through another", "path", w.path, "from", w.worker.String(), "to", next.String())
	w.worker, w.wc = next, wc
	return true
}

func (w *FileWriter) openUfs(o createOptions) error {
	if w.status.UfsPath == "" {
		return fmt.Errorf("master returned no UFS path for a %v write: %w", w.writeType, ErrFailedPrecondition)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	stream, err := w.wc.WriteUfsFile(ctx, grpc.ForceCodecV2(w.fs.codec))
	if err == nil {
		mode := int32(o.mode)
		if mode == 0 {
			mode = int32(w.status.Mode)
		}
		err = stream.Send(&pb.WriteUfsFileRequest{Value: &pb.WriteUfsFileRequest_Header{Header: &pb.UfsFileHeader{
			UfsPath: w.status.UfsPath, Mode: mode, Owner: w.status.Owner, Group: w.status.Group, Overwrite: o.overwrite,
		}}})
		if err == io.EOF {
			_, err = stream.CloseAndRecv()
		}
	}
	if err != nil {
		cancel()
		return fmt.Errorf("open UFS file on worker %s: %w", w.worker, rpcstatus.FromGRPC(err))
	}
	w.ufs, w.ufsCancel = stream, cancel
	return nil
}

// Write writes p to the file.
func (w *FileWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	cache := w.writeType.caches()
	for len(p) > 0 {
		if cache && !w.inBlock() {
			if err := w.openBlock(); err != nil {
				return written, w.fail(err)
			}
		}
		if w.dblock != nil && w.ufs == nil && len(w.buf) == 0 && len(p) >= w.chunkSize {
			// Send straight from p: the data server takes any chunk size.
			n := int(min(int64(len(p)), w.blockSize-w.blockWritten, maxDirectChunk))
			if err := w.dblock.write(p[:n]); err != nil {
				return written, w.fail(fmt.Errorf("write block %d on worker %s: %w", w.blockID, w.worker, err))
			}
			p = p[n:]
			written += n
			w.length += int64(n)
			w.blockWritten += int64(n)
			if w.blockWritten == w.blockSize {
				if err := w.closeBlock(); err != nil {
					return written, w.fail(err)
				}
			}
			continue
		}
		room := w.chunkSize - len(w.buf)
		if cache {
			room = int(min(int64(room), w.blockSize-w.blockWritten-int64(len(w.buf))))
		}
		n := min(room, len(p))
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
		written += n
		w.length += int64(n)
		if len(w.buf) == w.chunkSize || (cache && w.blockWritten+int64(len(w.buf)) == w.blockSize) {
			if err := w.flush(); err != nil {
				return written, w.fail(err)
			}
		}
	}
	return written, nil
}

// fail records a write error and abandons the file at once: the writer is
// unusable from now on, and the caller learns from this error whether the
// incomplete file is gone (a definite failure) or may remain
// (ErrIndeterminate).
func (w *FileWriter) fail(err error) error {
	w.err = fmt.Errorf("client: write %s: %w", w.path, err)
	w.abandon()
	return w.err
}

// abandon aborts the streams and deletes the incomplete file, once. If the
// file could not be deleted, w.err is made to wrap ErrIndeterminate: the
// operation failed but left something behind.
func (w *FileWriter) abandon() {
	if w.abandoned {
		return
	}
	w.abandoned = true
	w.abortErr = w.abort()
	if w.abortErr != nil {
		w.fs.logger.Debug("clean-up of failed write incomplete", "path", w.path, "err", w.abortErr)
		if w.err != nil && !errors.Is(w.err, ErrIndeterminate) {
			w.err = fmt.Errorf("%w; the incomplete file may remain (%v): %w", w.err, w.abortErr, ErrIndeterminate)
		}
	}
}

// flush sends the buffered bytes to the block and UFS streams, and commits
// the block when it is full.
func (w *FileWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	// The transport sends the buffer itself (see common/datacodec) and returns it
	// to the pool once written, so the next chunk goes into a new one.
	*w.bufp = w.buf
	chunk := mem.NewBuffer(w.bufp, w.fs.bufs)
	defer chunk.Free()
	w.newBuf()
	switch {
	case w.dblock != nil:
		if err := w.dblock.write(chunk.ReadOnlyData()); err != nil {
			return fmt.Errorf("write block %d on worker %s: %w", w.blockID, w.worker, err)
		}
		w.blockWritten += int64(chunk.Len())
	case w.block != nil:
		if err := w.block.SendMsg(&datacodec.Out{Field: 2, Buf: chunk}); err != nil {
			return w.streamErr("write block", err)
		}
		w.blockWritten += int64(chunk.Len())
	}
	if w.ufs != nil {
		if err := w.ufs.SendMsg(&datacodec.Out{Field: 2, Buf: chunk}); err != nil {
			if err == io.EOF {
				_, err = w.ufs.CloseAndRecv()
			}
			return fmt.Errorf("write UFS file on worker %s: %w", w.worker, rpcstatus.FromGRPC(err))
		}
	}
	if w.inBlock() && w.blockWritten == w.blockSize {
		return w.closeBlock()
	}
	return nil
}

// maxDirectChunk bounds the chunks Write sends to a data server straight
// from the caller's buffer (the worker takes up to 64 MiB).
const maxDirectChunk = 8 << 20

// inBlock reports whether a block is open (on either transport).
func (w *FileWriter) inBlock() bool { return w.block != nil || w.dblock != nil }

// newBuf takes an empty chunk buffer from the pool.
func (w *FileWriter) newBuf() {
	w.bufp = w.fs.bufs.Get(w.chunkSize)
	w.buf = (*w.bufp)[:0]
}

func (w *FileWriter) streamErr(what string, err error) error {
	if err == io.EOF {
		// The server ended the stream; its status says why.
		_, err = w.block.CloseAndRecv()
		if err == nil {
			err = fmt.Errorf("worker closed the stream: %w", rpcstatus.ErrInternal)
		}
	}
	return fmt.Errorf("%s %d on worker %s: %w", what, w.blockID, w.worker, rpcstatus.FromGRPC(err))
}

func (w *FileWriter) openBlock() error {
	var resp *pb.GetNewBlockIdResponse
	err := w.fs.callMaster(w.ctx, "GetNewBlockId", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = w.fs.fsClient(cc).GetNewBlockId(ctx, &pb.GetNewBlockIdRequest{Path: w.path})
		return err
	})
	if err != nil {
		return fmt.Errorf("get new block id: %w", err)
	}
	header := &pb.WriteBlockHeader{BlockId: resp.GetBlockId(), SpaceToReserve: w.blockSize}
	open := func() error { return w.openBlockOn(header) }
	if w.length > 0 || w.ufs != nil {
		return open()
	}
	// Nothing of the file is written yet: a worker that cannot be connected
	// to is replaced by another live one (the block id is the file's, not
	// the worker's).
	return w.onLiveWorker(w.ctx, w.blockSize, open, func() {
		if w.block != nil { // a stream that failed after it opened
			w.blockCancel()
			w.block, w.blockCancel = nil, nil
		}
	})
}

// openBlockOn opens the stream of the block header names on w's worker:
// its data server if it has one, else a gRPC stream.
func (w *FileWriter) openBlockOn(header *pb.WriteBlockHeader) error {
	if w.fs.useData(w.worker) {
		db, err := w.fs.openDataWrite(w.ctx, w.worker, header)
		if err == nil {
			w.dblock, w.blockID, w.blockWritten = db, header.GetBlockId(), 0
			return nil
		}
		if !fallBack(err) {
			return fmt.Errorf("write block %d on worker %s: %w", header.GetBlockId(), w.worker, err)
		}
		w.fs.logger.Debug("data server unreachable, writing over gRPC", "block", header.GetBlockId(), "worker", w.worker.String(), "err", err)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	stream, err := w.wc.WriteBlock(ctx, grpc.ForceCodecV2(w.fs.codec))
	if err != nil {
		cancel()
		return fmt.Errorf("write block %d on worker %s: %w", header.GetBlockId(), w.worker, rpcstatus.FromGRPC(err))
	}
	w.block, w.blockCancel, w.blockID, w.blockWritten = stream, cancel, header.GetBlockId(), 0
	err = stream.Send(&pb.WriteBlockRequest{Value: &pb.WriteBlockRequest_Header{Header: header}})
	if err != nil {
		return w.streamErr("write block", err)
	}
	return nil
}

// closeBlock ends the block stream; the worker commits the block. A block
// written through the data server is only ended: its commit is confirmed
// by awaitEnding, when the next block ends or the file completes. The
// previous block's commit is confirmed first, so blocks commit in order.
func (w *FileWriter) closeBlock() error {
	if err := w.awaitEnding(); err != nil {
		return err
	}
	if db := w.dblock; db != nil {
		w.dblock = nil
		if err := db.end(); err != nil {
			return fmt.Errorf("commit block %d on worker %s: %w", w.blockID, w.worker, err)
		}
		w.ending, w.endingID, w.endingLength = db, w.blockID, w.blockWritten
		return nil
	}
	stream, cancel := w.block, w.blockCancel
	w.block, w.blockCancel = nil, nil
	defer cancel()
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("commit block %d on worker %s: %w", w.blockID, w.worker, rpcstatus.FromGRPC(err))
	}
	if resp.GetLength() != 0 && resp.GetLength() != w.blockWritten {
		return fmt.Errorf("worker %s committed %d bytes of block %d, sent %d: %w", w.worker, resp.GetLength(), w.blockID, w.blockWritten, rpcstatus.ErrInternal)
	}
	return nil
}

// awaitEnding reads the worker's verdict on the block ended last through
// the data server, if any.
func (w *FileWriter) awaitEnding() error {
	db := w.ending
	if db == nil {
		return nil
	}
	w.ending = nil
	n, err := db.answer(0)
	if err != nil {
		return fmt.Errorf("commit block %d on worker %s: %w", w.endingID, db.worker, err)
	}
	if n != w.endingLength {
		return fmt.Errorf("worker %s committed %d bytes of block %d, sent %d: %w", db.worker, n, w.endingID, w.endingLength, rpcstatus.ErrInternal)
	}
	return nil
}

// Close flushes the remaining bytes, commits the last block, closes the UFS
// file and completes the file on the master (which schedules the
// persistence of an AsyncThrough file itself). After a failed write, Close
// cancels the file and returns the error.
func (w *FileWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	if w.err == nil {
		ctx, span := w.fs.startSpan(w.ctx, "FileWriter.Close", attrPath.String(w.path))
		err := w.finish(ctx)
		if err != nil {
			w.err = fmt.Errorf("client: close %s: %w", w.path, err)
		}
		endSpan(span, err)
	}
	w.closed = true
	defer w.cancel()
	if w.err != nil {
		w.abandon()
		return w.err
	}
	return nil
}

func (w *FileWriter) finish(ctx context.Context) error {
	if err := w.flush(); err != nil {
		return err
	}
	if w.inBlock() {
		if err := w.closeBlock(); err != nil {
			return err
		}
	}
	if err := w.awaitEnding(); err != nil {
		return err
	}
	var ufsLength int64
	if w.ufs != nil {
		stream, cancel := w.ufs, w.ufsCancel
		w.ufs, w.ufsCancel = nil, nil
		resp, err := stream.CloseAndRecv()
		cancel()
		if err != nil {
			return fmt.Errorf("close UFS file on worker %s: %w", w.worker, rpcstatus.FromGRPC(err))
		}
		ufsLength = resp.GetLength()
		if ufsLength != w.length {
			return fmt.Errorf("worker %s wrote %d bytes to the UFS, sent %d: %w", w.worker, ufsLength, w.length, rpcstatus.ErrInternal)
		}
	}
	req := &pb.CompleteFileRequest{Path: w.path, Length: w.length, UfsLength: ufsLength, OperationId: newOperationID()}
	err := w.fs.callMaster(ctx, "CompleteFile", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := w.fs.fsClient(cc).CompleteFile(ctx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete file: %w", err)
	}
	return nil
}

// Cancel abandons the file: it aborts the block and UFS streams and deletes
// the incomplete file from the master. It returns nil after Close succeeded.
// A Write blocked in another goroutine returns promptly.
func (w *FileWriter) Cancel() error {
	if !w.mu.TryLock() {
		// A Write or Close is in progress, perhaps stuck on the network:
		// end its streams, then clean up once it returns.
		w.cancel()
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	defer w.cancel()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err == nil {
		w.err = fmt.Errorf("client: write %s: %w", w.path, ErrCanceled)
	}
	w.abandon()
	return w.abortErr
}

// abort cancels the streams and deletes the file. It runs even when the
// writer's context has ended.
func (w *FileWriter) abort() error {
	if w.ending != nil {
		// Its commit may be under way: give it a moment to land, so that
		// deleting the file below also removes the block.
		_, _ = w.ending.answer(dataAnswerWait)
		w.ending = nil
	}
	if w.dblock != nil {
		w.dblock.abort()
		w.dblock = nil
	}
	if w.block != nil {
		_ = w.block.Send(&pb.WriteBlockRequest{Value: &pb.WriteBlockRequest_Cancel{Cancel: true}})
		_, _ = w.block.CloseAndRecv()
		w.blockCancel()
		w.block = nil
	}
	if w.ufs != nil {
		_ = w.ufs.Send(&pb.WriteUfsFileRequest{Value: &pb.WriteUfsFileRequest_Cancel{Cancel: true}})
		_, _ = w.ufs.CloseAndRecv()
		w.ufsCancel()
		w.ufs = nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), rpcTimeout)
	defer cancel()
	if err := w.fs.Delete(ctx, w.path); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("client: delete abandoned file: %w", err)
	}
	return nil
}
