package fakecluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// WorkerStats counts what a worker was asked to do.
type WorkerStats struct {
	ReadBlocks     int // ReadBlock streams served from cache
	UfsReads       int // ReadBlock or CacheBlock served from the UFS
	UfsReadsCached int // of those, how many cached the block
	Promotes       int // reads with promote set
	LocalOpens     int // OpenLocalBlock calls
	LocalCloses    int // CloseLocalBlock calls
	WriteBlocks    int // committed WriteBlock streams
	CanceledWrites int // WriteBlock or WriteUfsFile streams canceled
	UfsWrites      int // completed WriteUfsFile streams
	SpaceReserved  int64
	LastChunkSize  int // size of the largest chunk received
}

// Worker is one fake worker.
type Worker struct {
	pb.UnimplementedBlockWorkerServer
	c     *Cluster
	index int
	id    int64
	dir   string
	host  string
	port  int
	srv   *grpc.Server

	mu     sync.Mutex
	blocks map[int64]int64 // block id -> length, files in dir
	stats  WorkerStats
	locks  map[int64]int64
	nextLk int64
	down   bool
}

func (c *Cluster) startWorker(i int) (*Worker, error) {
	dir := filepath.Join(c.dir, fmt.Sprintf("worker%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fakecluster: %w", err)
	}
	host := c.opts.WorkerHost
	if i < len(c.opts.WorkerHosts) {
		host = c.opts.WorkerHosts[i]
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("fakecluster: %w", err)
	}
	w := &Worker{c: c, index: i, id: int64(i + 1), dir: dir, host: host, port: lis.Addr().(*net.TCPAddr).Port,
		blocks: map[int64]int64{}, locks: map[int64]int64{}}
	w.srv = grpc.NewServer(append([]grpc.ServerOption{grpc.UnaryInterceptor(c.unaryInterceptor("worker")), grpc.StreamInterceptor(c.streamInterceptor("worker"))}, c.opts.ServerOptions...)...)
	pb.RegisterBlockWorkerServer(w.srv, w)
	go w.srv.Serve(lis)
	return w, nil
}

// Addr returns the worker's host:port.
func (w *Worker) Addr() string { return net.JoinHostPort(w.host, fmt.Sprint(w.port)) }

// Stats returns the worker's counters.
func (w *Worker) Stats() WorkerStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// BlockCount returns how many blocks the worker caches.
func (w *Worker) BlockCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.blocks)
}

// Stop stops the worker's server; the master keeps listing its blocks (as a
// real master does until the worker times out) but reports it lost.
func (w *Worker) Stop() {
	w.mu.Lock()
	w.down = true
	w.mu.Unlock()
	w.srv.Stop()
}

func (w *Worker) stopped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

func (w *Worker) address() *pb.WorkerNetAddress {
	return &pb.WorkerNetAddress{Host: w.host, RpcPort: int32(w.port), WebPort: 30000, TieredIdentity: w.dir}
}

func (w *Worker) info() *pb.WorkerInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	var used int64
	for _, l := range w.blocks {
		used += l
	}
	return &pb.WorkerInfo{
		Id: w.id, Address: w.address(), State: "LIVE", CapacityBytes: w.c.opts.WorkerCapacity, UsedBytes: used,
		Tiers:      []*pb.TierCapacity{{Alias: "MEM", CapacityBytes: w.c.opts.WorkerCapacity, UsedBytes: used}},
		BlockCount: int64(len(w.blocks)),
	}
}

func (w *Worker) used() int64 {
	var used int64
	for _, l := range w.blocks {
		used += l
	}
	return used
}

// drop removes a cached block. Callers hold c.mu.
func (w *Worker) drop(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.blocks[id]; ok {
		delete(w.blocks, id)
		os.Remove(blockFile(w.dir, id))
	}
}

func (w *Worker) blockData(id int64) ([]byte, error) {
	w.mu.Lock()
	_, ok := w.blocks[id]
	w.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "block %d is not on worker %d", id, w.id)
	}
	return os.ReadFile(blockFile(w.dir, id))
}

// store caches a block and records its location on the master.
func (w *Worker) store(id int64, data []byte) error {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	bm := c.blocks[id]
	if bm == nil {
		return status.Errorf(codes.NotFound, "block %d is unknown to the master", id)
	}
	if err := os.WriteFile(blockFile(w.dir, id), data, 0o644); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	w.mu.Lock()
	w.blocks[id] = int64(len(data))
	w.mu.Unlock()
	bm.length = int64(len(data))
	bm.workers[w.index] = true
	return nil
}

func (w *Worker) ReadBlock(req *pb.ReadBlockRequest, stream pb.BlockWorker_ReadBlockServer) error {
	id := req.GetBlockId()
	data, err := w.blockData(id)
	fromUfs := false
	if err != nil {
		u := req.GetUfs()
		if u == nil {
			return err
		}
		if data, err = w.readUfs(u); err != nil {
			return err
		}
		fromUfs = true
		w.mu.Lock()
		w.stats.UfsReads++
		if req.GetCache() {
			w.stats.UfsReadsCached++
		}
		w.mu.Unlock()
		if req.GetCache() {
			if err := w.store(id, data); err != nil {
				return err
			}
		}
	}
	w.mu.Lock()
	if !fromUfs {
		w.stats.ReadBlocks++
	}
	if req.GetPromote() {
		w.stats.Promotes++
	}
	w.mu.Unlock()
	off, n := req.GetOffset(), req.GetLength()
	if off < 0 || off > int64(len(data)) {
		return status.Errorf(codes.OutOfRange, "offset %d is outside block %d of %d bytes", off, id, len(data))
	}
	if n <= 0 || off+n > int64(len(data)) {
		n = int64(len(data)) - off
	}
	chunk := req.GetChunkSize()
	if chunk <= 0 {
		chunk = 1 << 20
	}
	data = data[off : off+n]
	for len(data) > 0 {
		k := min(chunk, int64(len(data)))
		if err := stream.Send(&pb.ReadBlockResponse{Chunk: data[:k]}); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

func (w *Worker) readUfs(u *pb.UfsReadOptions) ([]byte, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	file, ok := c.ufs[u.GetUfsPath()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "UFS file %s does not exist", u.GetUfsPath())
	}
	start, end := u.GetOffsetInFile(), u.GetOffsetInFile()+u.GetBlockSize()
	if start < 0 || end > int64(len(file)) || start > end {
		return nil, status.Errorf(codes.OutOfRange, "UFS file %s has %d bytes, block wants [%d,%d)", u.GetUfsPath(), len(file), start, end)
	}
	return append([]byte(nil), file[start:end]...), nil
}

func (w *Worker) WriteBlock(stream pb.BlockWorker_WriteBlockServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "first message must be a header")
	}
	w.mu.Lock()
	free := w.c.opts.WorkerCapacity - w.used()
	w.stats.SpaceReserved = h.GetSpaceToReserve()
	w.mu.Unlock()
	// Reserve what is free; fail only when the data itself does not fit.
	var data []byte
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if msg.GetCancel() {
			w.mu.Lock()
			w.stats.CanceledWrites++
			w.mu.Unlock()
			return status.Error(codes.Canceled, "write canceled")
		}
		chunk := msg.GetChunk()
		w.mu.Lock()
		w.stats.LastChunkSize = max(w.stats.LastChunkSize, len(chunk))
		w.mu.Unlock()
		data = append(data, chunk...)
		if int64(len(data)) > free {
			return status.Errorf(codes.ResourceExhausted, "worker %d has %d bytes free, block %d needs more", w.id, free, h.GetBlockId())
		}
	}
	if err := w.store(h.GetBlockId(), data); err != nil {
		return err
	}
	w.mu.Lock()
	w.stats.WriteBlocks++
	w.mu.Unlock()
	return stream.SendAndClose(&pb.WriteBlockResponse{BlockId: h.GetBlockId(), Length: int64(len(data))})
}

func (w *Worker) WriteUfsFile(stream pb.BlockWorker_WriteUfsFileServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "first message must be a header")
	}
	var data []byte
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if msg.GetCancel() {
			w.mu.Lock()
			w.stats.CanceledWrites++
			w.mu.Unlock()
			return status.Error(codes.Canceled, "write canceled")
		}
		data = append(data, msg.GetChunk()...)
	}
	c := w.c
	c.mu.Lock()
	if _, exists := c.ufs[h.GetUfsPath()]; exists && !h.GetOverwrite() {
		c.mu.Unlock()
		return status.Errorf(codes.AlreadyExists, "UFS file %s already exists", h.GetUfsPath())
	}
	c.ufs[h.GetUfsPath()] = data
	c.mu.Unlock()
	w.mu.Lock()
	w.stats.UfsWrites++
	w.mu.Unlock()
	return stream.SendAndClose(&pb.WriteUfsFileResponse{Length: int64(len(data))})
}

func (w *Worker) OpenLocalBlock(_ context.Context, req *pb.OpenLocalBlockRequest) (*pb.OpenLocalBlockResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.LocalOpens++
	l, ok := w.blocks[req.GetBlockId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "block %d is not on worker %d", req.GetBlockId(), w.id)
	}
	if req.GetPromote() {
		w.stats.Promotes++
	}
	w.nextLk++
	w.locks[w.nextLk] = req.GetBlockId()
	return &pb.OpenLocalBlockResponse{Path: blockFile(w.dir, req.GetBlockId()), Length: l, LockId: w.nextLk}, nil
}

func (w *Worker) CloseLocalBlock(_ context.Context, req *pb.CloseLocalBlockRequest) (*pb.CloseLocalBlockResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.LocalCloses++
	if w.locks[req.GetLockId()] != req.GetBlockId() {
		return nil, status.Errorf(codes.NotFound, "no lock %d on block %d", req.GetLockId(), req.GetBlockId())
	}
	delete(w.locks, req.GetLockId())
	return &pb.CloseLocalBlockResponse{}, nil
}

// OpenLocks returns the number of short-circuit locks not yet released.
func (w *Worker) OpenLocks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.locks)
}

func (w *Worker) CacheBlock(_ context.Context, req *pb.CacheBlockRequest) (*pb.CacheBlockResponse, error) {
	if _, err := w.blockData(req.GetBlockId()); err == nil {
		return &pb.CacheBlockResponse{}, nil
	}
	if req.GetUfs() == nil {
		return nil, status.Errorf(codes.InvalidArgument, "block %d is not cached and no UFS options were given", req.GetBlockId())
	}
	data, err := w.readUfs(req.GetUfs())
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.stats.UfsReads++
	w.stats.UfsReadsCached++
	w.mu.Unlock()
	if err := w.store(req.GetBlockId(), data); err != nil {
		return nil, err
	}
	return &pb.CacheBlockResponse{}, nil
}

func (w *Worker) GetWorkerStatus(context.Context, *pb.GetWorkerStatusRequest) (*pb.GetWorkerStatusResponse, error) {
	wi := w.info()
	return &pb.GetWorkerStatusResponse{
		WorkerId: w.id, TierAliases: []string{"MEM"},
		CapacityBytesOnTiers: map[string]int64{"MEM": wi.CapacityBytes}, UsedBytesOnTiers: map[string]int64{"MEM": wi.UsedBytes},
		BlockCount: wi.BlockCount, MasterAddress: w.c.addr,
	}, nil
}
