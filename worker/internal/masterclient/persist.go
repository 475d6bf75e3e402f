package masterclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// persister runs PERSIST jobs and holds their outcomes until a heartbeat
// carrying them is accepted.
type persister struct {
	c   *Client
	sem chan struct{}
	wg  sync.WaitGroup

	mu        sync.Mutex
	running   map[int64]bool
	persisted map[int64]bool
	failed    map[int64]string
}

func newPersister(c *Client) *persister {
	return &persister{
		c:         c,
		sem:       make(chan struct{}, c.cfg.PersistConcurrency),
		running:   map[int64]bool{},
		persisted: map[int64]bool{},
		failed:    map[int64]string{},
	}
}

// start persists f in the background unless it is already running.
func (p *persister) start(ctx context.Context, f *alluxiopb.PersistFile) {
	id := f.GetFileId()
	p.mu.Lock()
	if p.running[id] {
		p.mu.Unlock()
		return
	}
	p.running[id] = true
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			p.finish(id, ctx.Err())
			return
		}
		err := p.c.persistFile(ctx, f)
		<-p.sem
		p.finish(id, err)
	}()
}

func (p *persister) finish(id int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, id)
	if err != nil {
		p.c.log.Warn("masterclient: persist failed", "file", id, "err", err)
		p.failed[id] = err.Error()
		delete(p.persisted, id)
		return
	}
	p.c.log.Info("masterclient: file persisted", "file", id)
	p.persisted[id] = true
	delete(p.failed, id)
}

func (p *persister) results() ([]int64, map[int64]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ok []int64
	for id := range p.persisted {
		ok = append(ok, id)
	}
	failed := make(map[int64]string, len(p.failed))
	for id, why := range p.failed {
		failed[id] = why
	}
	return ok, failed
}

// ack forgets outcomes the master accepted.
func (p *persister) ack(ok []int64, failed map[int64]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ok {
		delete(p.persisted, id)
	}
	for id, why := range failed {
		if p.failed[id] == why {
			delete(p.failed, id)
		}
	}
}

func (p *persister) wait() { p.wg.Wait() }

// persistFile writes the file's blocks, in order, to its UFS path through a
// ufs.Writer, so the file appears complete or not at all.
func (c *Client) persistFile(ctx context.Context, f *alluxiopb.PersistFile) (err error) {
	if f.GetUfsPath() == "" {
		return fmt.Errorf("masterclient: persist file %d: no UFS path: %w", f.GetFileId(), rpcstatus.ErrInvalidArgument)
	}
	if c.cfg.UFS == nil {
		return fmt.Errorf("masterclient: persist file %d: no UFS registry: %w", f.GetFileId(), rpcstatus.ErrFailedPrecondition)
	}
	var total int64
	for _, b := range f.GetBlocks() {
		total += b.GetLength()
	}
	if total != f.GetLength() {
		return fmt.Errorf("masterclient: persist file %d: blocks hold %d bytes but the file has %d: %w",
			f.GetFileId(), total, f.GetLength(), rpcstatus.ErrFailedPrecondition)
	}
	fs, err := c.cfg.UFS.Open(ctx, f.GetUfsPath(), c.MountProperties(ctx, f.GetUfsPath()))
	if err != nil {
		return fmt.Errorf("masterclient: persist file %d: open UFS %s: %w", f.GetFileId(), f.GetUfsPath(), err)
	}
	defer fs.Close()
	w, err := fs.Create(ctx, f.GetUfsPath(), ufs.CreateOptions{Mode: uint32(f.GetMode()), Overwrite: true, CreateParent: true})
	if err != nil {
		return fmt.Errorf("masterclient: persist file %d: create %s: %w", f.GetFileId(), f.GetUfsPath(), err)
	}
	defer func() {
		if err != nil {
			w.Cancel()
		}
	}()
	for _, b := range f.GetBlocks() {
		if err := c.copyBlock(ctx, w, b); err != nil {
			return fmt.Errorf("masterclient: persist file %d to %s: %w", f.GetFileId(), f.GetUfsPath(), err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("masterclient: persist file %d: commit %s: %w", f.GetFileId(), f.GetUfsPath(), err)
	}
	return nil
}

// countingWriter counts bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// copyBlock writes one block to w: from the local store if present, else from
// a peer worker holding it.
func (c *Client) copyBlock(ctx context.Context, w io.Writer, b *alluxiopb.BlockInfo) error {
	id, length := b.GetBlockId(), b.GetLength()
	if r, err := c.store.Reader(id); err == nil {
		defer r.Close()
		if r.Length() != length {
			return fmt.Errorf("block %d is %d bytes here but %d at the master: %w", id, r.Length(), length, rpcstatus.ErrFailedPrecondition)
		}
		if _, err := io.Copy(w, io.NewSectionReader(r, 0, length)); err != nil {
			return fmt.Errorf("copy block %d: %w", id, err)
		}
		return nil
	}
	me := c.WorkerID()
	var errs []error
	for _, loc := range b.GetLocations() {
		addr := loc.GetWorkerAddress()
		if loc.GetWorkerId() == me || addr.GetHost() == "" || addr.GetRpcPort() == 0 {
			continue
		}
		cw := &countingWriter{w: w}
		err := c.readPeer(ctx, net.JoinHostPort(addr.GetHost(), strconv.Itoa(int(addr.GetRpcPort()))), id, length, cw)
		if err == nil {
			return nil
		}
		if cw.n > 0 {
			return fmt.Errorf("block %d from worker %d: %w", id, loc.GetWorkerId(), err)
		}
		errs = append(errs, fmt.Errorf("worker %d: %w", loc.GetWorkerId(), err))
	}
	if len(errs) == 0 {
		return fmt.Errorf("block %d is on no reachable worker: %w", id, rpcstatus.ErrNotFound)
	}
	return fmt.Errorf("block %d could not be read from any worker: %w", id, errors.Join(errs...))
}

func (c *Client) readPeer(ctx context.Context, addr string, id, length int64, w io.Writer) error {
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, c.cfg.DialOptions...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := alluxiopb.NewBlockWorkerClient(conn).ReadBlock(ctx, &alluxiopb.ReadBlockRequest{BlockId: id, Length: -1, ChunkSize: 1 << 20})
	if err != nil {
		return rpcstatus.FromGRPC(err)
	}
	var n int64
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rpcstatus.FromGRPC(err)
		}
		if _, err := w.Write(resp.GetChunk()); err != nil {
			return err
		}
		n += int64(len(resp.GetChunk()))
	}
	if n != length {
		return fmt.Errorf("peer sent %d bytes of block %d, want %d: %w", n, id, length, rpcstatus.ErrFailedPrecondition)
	}
	return nil
}
