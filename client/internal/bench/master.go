package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Master operations, in the order a run performs them.
const (
	OpCreate     = "create"
	OpGetStatus  = "getStatus"
	OpListStatus = "listStatus"
	OpRename     = "rename"
	OpDelete     = "delete"
)

// MasterOps is every master operation in run order.
var MasterOps = []string{OpCreate, OpGetStatus, OpListStatus, OpRename, OpDelete}

// MasterOptions configure the master benchmark.
type MasterOptions struct {
	// Addr is the master's host:port.
	Addr string
	// Clients is the number of concurrent clients, each with its own gRPC
	// connection; 0 means 32.
	Clients int
	// Duration is the length of each closed loop; 0 means 10s.
	Duration time.Duration
	// Ops are the operations to run (MasterOps names); nil means all.
	Ops []string
	// ListSize is the number of entries in the listStatus directory; 0
	// means 1,000.
	ListSize int
	// Base is the directory the benchmark works in; "" means
	// /alluxio-bench/master-<time>. It is removed at the end.
	Base string
	// MasterPID, when known, adds the master's CPU time to each result.
	MasterPID int
	// Logf reports progress; nil means silent.
	Logf func(format string, args ...any)
}

func (o *MasterOptions) defaults() {
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if len(o.Ops) == 0 {
		o.Ops = MasterOps
	}
	if o.ListSize <= 0 {
		o.ListSize = 1000
	}
	if o.Base == "" {
		o.Base = fmt.Sprintf("/alluxio-bench/master-%d", time.Now().UnixNano())
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// OpResult is one closed loop of one operation.
type OpResult struct {
	Op      string
	Clients int
	Ops     int
	Elapsed time.Duration
	Rate    float64 // operations per second
	Lat     Latencies
	// CPUPerOp is this process's plus the master's CPU time per operation
	// (-1 without MasterPID): it does not depend on how busy the machine is.
	CPUPerOp time.Duration
}

// MasterBench drives one master over real gRPC.
type MasterBench struct {
	o     MasterOptions
	conns []*grpc.ClientConn
	fs    []pb.FileSystemMasterClientServiceClient
	runs  int
	// created[c] counts the files client c made in the last create run.
	createdDir string
	created    []int
	listReady  bool
	renReady   int
}

// NewMasterBench connects to the master. Close releases the connections
// and removes the benchmark's directory.
func NewMasterBench(ctx context.Context, o MasterOptions) (*MasterBench, error) {
	o.defaults()
	b := &MasterBench{o: o}
	if err := b.ensureConns(o.Clients); err != nil {
		return nil, err
	}
	if err := b.mkdir(ctx, o.Base); err != nil {
		b.Close(ctx)
		return nil, err
	}
	return b, nil
}

func (b *MasterBench) ensureConns(n int) error {
	for len(b.conns) < n {
		cc, err := grpc.NewClient(b.o.Addr, dialOptions()...)
		if err != nil {
			return fmt.Errorf("bench: dial master %s: %w", b.o.Addr, err)
		}
		b.conns = append(b.conns, cc)
		b.fs = append(b.fs, pb.NewFileSystemMasterClientServiceClient(cc))
	}
	return nil
}

// Close removes the benchmark directory and closes the connections.
func (b *MasterBench) Close(ctx context.Context) error {
	var err error
	if len(b.fs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err = b.fs[0].Remove(ctx, &pb.DeleteRequest{Path: b.o.Base, Recursive: true, AlluxioOnly: true, OperationId: opID()})
		cancel()
		if err != nil {
			err = fmt.Errorf("bench: remove %s: %w", b.o.Base, err)
		}
	}
	for _, cc := range b.conns {
		cc.Close()
	}
	b.conns, b.fs = nil, nil
	return err
}

func opID() *pb.OperationId {
	var x [16]byte
	_, _ = rand.Read(x[:])
	return &pb.OperationId{MostSignificantBits: int64(binary.BigEndian.Uint64(x[:8])), LeastSignificantBits: int64(binary.BigEndian.Uint64(x[8:]))}
}

func (b *MasterBench) mkdir(ctx context.Context, p string) error {
	_, err := b.fs[0].CreateDirectory(ctx, &pb.CreateDirectoryRequest{Path: p, Recursive: true, AllowExists: true,
		WriteType: pb.WriteType_MUST_CACHE, OperationId: opID()})
	if err != nil {
		return fmt.Errorf("bench: mkdir %s: %w", p, err)
	}
	return nil
}

// createEmpty is create-file: CreateFile then CompleteFile of an empty file,
// two RPCs and two journaled mutations.
func createEmpty(ctx context.Context, fs pb.FileSystemMasterClientServiceClient, p string) error {
	if _, err := fs.CreateFile(ctx, &pb.CreateFileRequest{Path: p, BlockSizeBytes: 64 << 20, WriteType: pb.WriteType_MUST_CACHE,
		Ttl: -1, Owner: "bench", Group: "bench", OperationId: opID()}); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	if _, err := fs.CompleteFile(ctx, &pb.CompleteFileRequest{Path: p, OperationId: opID()}); err != nil {
		return fmt.Errorf("complete %s: %w", p, err)
	}
	return nil
}

// Run runs op with n clients for d.
func (b *MasterBench) Run(ctx context.Context, op string, n int, d time.Duration) (OpResult, error) {
	if err := b.ensureConns(n); err != nil {
		return OpResult{}, err
	}
	var f func(ctx context.Context, c, i int) error
	switch op {
	case OpCreate:
		b.runs++
		dir := fmt.Sprintf("%s/create-%d", b.o.Base, b.runs)
		if err := b.clientDirs(ctx, dir, n); err != nil {
			return OpResult{}, err
		}
		counts := make([]int, n)
		f = func(ctx context.Context, c, i int) error {
			if err := createEmpty(ctx, b.fs[c], fmt.Sprintf("%s/c%d/f%d", dir, c, i)); err != nil {
				return err
			}
			counts[c] = i + 1
			return nil
		}
		defer func() { b.createdDir, b.created = dir, counts }()
	case OpGetStatus, OpListStatus:
		if err := b.fillList(ctx); err != nil {
			return OpResult{}, err
		}
		dir := b.o.Base + "/list"
		if op == OpGetStatus {
			f = func(ctx context.Context, c, i int) error {
				p := fmt.Sprintf("%s/f%d", dir, (c*7919+i)%b.o.ListSize)
				_, err := b.fs[c].GetStatus(ctx, &pb.GetStatusRequest{Path: p})
				return err
			}
		} else {
			f = func(ctx context.Context, c, i int) error {
				n, err := listCount(ctx, b.fs[c], dir)
				if err == nil && n != b.o.ListSize {
					err = fmt.Errorf("listStatus %s: %d entries, want %d", dir, n, b.o.ListSize)
				}
				return err
			}
		}
	case OpRename:
		dir := b.o.Base + "/rename"
		if b.renReady < n {
			if err := b.clientDirs(ctx, dir, n); err != nil {
				return OpResult{}, err
			}
			for c := b.renReady; c < n; c++ {
				if err := createEmpty(ctx, b.fs[0], fmt.Sprintf("%s/c%d/a", dir, c)); err != nil {
					return OpResult{}, fmt.Errorf("bench: %w", err)
				}
			}
			b.renReady = n
		}
		state := make([]bool, n) // true: the file is at b
		f = func(ctx context.Context, c, i int) error {
			src, dst := fmt.Sprintf("%s/c%d/a", dir, c), fmt.Sprintf("%s/c%d/b", dir, c)
			if state[c] {
				src, dst = dst, src
			}
			if _, err := b.fs[c].Rename(ctx, &pb.RenameRequest{SrcPath: src, DstPath: dst, OperationId: opID()}); err != nil {
				return fmt.Errorf("rename %s: %w", src, err)
			}
			state[c] = !state[c]
			return nil
		}
	case OpDelete:
		if b.created == nil || len(b.created) < n {
			b.o.Logf("delete: creating files to delete (%d clients, %s)", n, d)
			if _, err := b.Run(ctx, OpCreate, n, d); err != nil {
				return OpResult{}, err
			}
		}
		dir, counts := b.createdDir, b.created
		b.created = nil
		f = func(ctx context.Context, c, i int) error {
			if i >= counts[c] {
				return errDone
			}
			p := fmt.Sprintf("%s/c%d/f%d", dir, c, i)
			if _, err := b.fs[c].Remove(ctx, &pb.DeleteRequest{Path: p, OperationId: opID()}); err != nil {
				return fmt.Errorf("delete %s: %w", p, err)
			}
			return nil
		}
	default:
		return OpResult{}, fmt.Errorf("bench: unknown master operation %q (want one of %v)", op, MasterOps)
	}
	c0, m0 := selfCPU(), procCPU(b.o.MasterPID)
	r := closedLoop(ctx, n, d, f)
	if r.Err != nil {
		return OpResult{}, fmt.Errorf("bench: %s with %d clients: %w", op, n, r.Err)
	}
	res := OpResult{Op: op, Clients: n, Ops: r.Ops, Elapsed: r.Elapsed, Rate: r.Rate, Lat: r.Lat, CPUPerOp: -1}
	if m1 := procCPU(b.o.MasterPID); m0 >= 0 && m1 >= 0 && r.Ops > 0 {
		res.CPUPerOp = (selfCPU() - c0 + m1 - m0) / time.Duration(r.Ops)
	}
	b.o.Logf("%-10s clients=%-3d ops=%-7d %10.0f ops/s  p50=%s p99=%s p999=%s", op, n, r.Ops, r.Rate, fmtDur(r.Lat.P50), fmtDur(r.Lat.P99), fmtDur(r.Lat.P999))
	return res, nil
}

// clientDirs makes dir/c0 .. dir/c<n-1>.
func (b *MasterBench) clientDirs(ctx context.Context, dir string, n int) error {
	for c := 0; c < n; c++ {
		if err := b.mkdir(ctx, fmt.Sprintf("%s/c%d", dir, c)); err != nil {
			return err
		}
	}
	return nil
}

// fillList makes the listStatus directory with ListSize empty files.
func (b *MasterBench) fillList(ctx context.Context) error {
	if b.listReady {
		return nil
	}
	dir := b.o.Base + "/list"
	if err := b.mkdir(ctx, dir); err != nil {
		return err
	}
	if err := parallel(ctx, len(b.fs), b.o.ListSize, func(ctx context.Context, c, i int) error {
		return createEmpty(ctx, b.fs[c], fmt.Sprintf("%s/f%d", dir, i))
	}); err != nil {
		return fmt.Errorf("bench: fill %s: %w", dir, err)
	}
	b.listReady = true
	return nil
}

// parallel runs f for i in [0, n) on clients goroutines.
func parallel(ctx context.Context, clients, n int, f func(ctx context.Context, c, i int) error) error {
	var (
		mu   sync.Mutex
		next int
		err1 error
		wg   sync.WaitGroup
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := err1 != nil
				mu.Unlock()
				if stop || i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, c, i); err != nil {
					mu.Lock()
					if err1 == nil {
						err1 = err
					}
					mu.Unlock()
					return
				}
			}
		}(c)
	}
	wg.Wait()
	if err1 == nil {
		err1 = ctx.Err()
	}
	return err1
}

func listCount(ctx context.Context, fs pb.FileSystemMasterClientServiceClient, dir string) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := fs.ListStatus(ctx, &pb.ListStatusRequest{Path: dir})
	if err != nil {
		return 0, fmt.Errorf("listStatus %s: %w", dir, err)
	}
	n := 0
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("listStatus %s: %w", dir, err)
		}
		n += len(resp.GetFileInfos())
	}
}

// SearchStep is one concurrency level of a search or sweep.
type SearchStep struct {
	Clients int
	Result  OpResult
}

// Search doubles the clients from 1 until throughput has not improved by
// 5% for two steps in a row or maxClients is passed, as StressMasterBench
// searches for the maximum throughput. It returns every step and the best.
func (b *MasterBench) Search(ctx context.Context, op string, maxClients int, d time.Duration) ([]SearchStep, SearchStep, error) {
	var steps []SearchStep
	var best SearchStep
	flat := 0
	for n := 1; n <= maxClients; n *= 2 {
		r, err := b.Run(ctx, op, n, d)
		if err != nil {
			return steps, best, err
		}
		s := SearchStep{Clients: n, Result: r}
		steps = append(steps, s)
		if r.Rate > best.Result.Rate*1.05 {
			flat = 0
		} else {
			flat++
		}
		if r.Rate > best.Result.Rate {
			best = s
		}
		if flat >= 2 {
			break
		}
	}
	return steps, best, nil
}

// Sweep runs op at each client count.
func (b *MasterBench) Sweep(ctx context.Context, op string, clients []int, d time.Duration) ([]SearchStep, error) {
	var steps []SearchStep
	for _, n := range clients {
		r, err := b.Run(ctx, op, n, d)
		if err != nil {
			return steps, err
		}
		steps = append(steps, SearchStep{Clients: n, Result: r})
	}
	return steps, nil
}
