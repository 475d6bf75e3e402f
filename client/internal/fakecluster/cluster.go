package fakecluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/pathutil"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Options configure a Cluster.
type Options struct {
	// Workers is the number of workers; 0 means 1.
	Workers int
	// WorkerCapacity is each worker's capacity in bytes; 0 means 1GB.
	WorkerCapacity int64
	// WorkerHost is the host workers listen on and advertise; "" means
	// 127.0.0.1.
	WorkerHost string
	// WorkerHosts, when set, gives each worker its own loopback host
	// (e.g. 127.0.0.2), so tests can tell workers apart by host.
	WorkerHosts []string
	// RootUFS is the UFS URI mounted at "/"; "" means "mem://ufs".
	RootUFS string
	// User and Group own new inodes unless the request names them; "" means
	// "alluxio".
	User, Group string
	// Clock returns the time; nil means time.Now.
	Clock func() time.Time
	// Masters is the number of master servers sharing the namespace; 0
	// means 1. Master 0 leads at first; the others answer the file system
	// and block master services with NOT_LEADER, as standbys do (SetLeader).
	Masters int
	// ServerOptions are added to every master and worker gRPC server
	// (e.g. an otelgrpc stats handler).
	ServerOptions []grpc.ServerOption
}

// Cluster is a running fake master with its workers.
type Cluster struct {
	opts Options
	dir  string

	mu             sync.Mutex
	inodes         map[string]*inode // by clean path
	nextID         int64
	nextBlock      int64
	blocks         map[int64]*blockMeta
	ufs            map[string][]byte // simulated UFS: full ufs path -> contents
	ufsDirs        map[string]bool
	mounts         map[string]*pb.MountPointInfo
	nextMount      int64
	ops            map[[2]int64]opResult
	fail           map[string][]error
	drop           map[string]int
	calls          map[string]int
	hang           map[string]int
	opIDs          map[string][][2]int64 // by method: the operation id of every call
	leader         int                   // index of the leading master, -1 for none
	unknownWorkers bool                  // the master has not heard from its workers yet

	masters []*fakeMaster
	addr    string // master 0
	workers []*Worker
	closed  bool
}

// fakeMaster is one master server.
type fakeMaster struct {
	index int
	srv   *grpc.Server
	addr  string
}

type opResult struct {
	resp any
	err  error
}

type inode struct {
	id         int64
	path       string
	dir        bool
	length     int64
	blockSize  int64
	completed  bool
	persisted  bool
	persisting bool
	pinned     bool
	mode       int32
	owner      string
	group      string
	ttl        int64
	ttlAction  string
	blockIDs   []int64
	created    time.Time
	modified   time.Time
	writeType  pb.WriteType
	mountPoint bool
	mountID    int64
}

type blockMeta struct {
	length  int64
	workers map[int]bool // worker index -> has it
}

// Start starts a master and workers on loopback ports. Close stops them.
func Start(opts Options) (*Cluster, error) {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.WorkerCapacity <= 0 {
		opts.WorkerCapacity = 1 << 30
	}
	if opts.WorkerHost == "" {
		opts.WorkerHost = "127.0.0.1"
	}
	if opts.RootUFS == "" {
		opts.RootUFS = "mem://ufs"
	}
	if opts.User == "" {
		opts.User = "alluxio"
	}
	if opts.Group == "" {
		opts.Group = "alluxio"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	dir, err := os.MkdirTemp("", "fakecluster-")
	if err != nil {
		return nil, fmt.Errorf("fakecluster: %w", err)
	}
	c := &Cluster{
		opts: opts, dir: dir,
		inodes: map[string]*inode{}, blocks: map[int64]*blockMeta{}, ufs: map[string][]byte{},
		ufsDirs: map[string]bool{}, mounts: map[string]*pb.MountPointInfo{}, ops: map[[2]int64]opResult{},
		fail: map[string][]error{}, drop: map[string]int{}, calls: map[string]int{},
		hang: map[string]int{}, opIDs: map[string][][2]int64{},
		nextID: 1, nextBlock: 1 << 24, nextMount: 1,
	}
	now := opts.Clock()
	c.inodes["/"] = &inode{id: 0, path: "/", dir: true, completed: true, persisted: true, mode: 0o755,
		owner: opts.User, group: opts.Group, ttl: -1, created: now, modified: now, mountPoint: true, mountID: 1}
	c.mounts["/"] = &pb.MountPointInfo{AlluxioPath: "/", UfsUri: opts.RootUFS, MountId: 1}
	c.ufsDirs[opts.RootUFS] = true

	if opts.Masters <= 0 {
		opts.Masters = 1
		c.opts.Masters = 1
	}
	for i := 0; i < opts.Masters; i++ {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("fakecluster: %w", err)
		}
		fm := &fakeMaster{index: i, addr: lis.Addr().String()}
		sopts := append([]grpc.ServerOption{
			grpc.UnaryInterceptor(c.masterUnaryInterceptor(i)), grpc.StreamInterceptor(c.masterStreamInterceptor(i)),
		}, opts.ServerOptions...)
		fm.srv = grpc.NewServer(sopts...)
		pb.RegisterFileSystemMasterClientServiceServer(fm.srv, &masterService{c: c})
		pb.RegisterBlockMasterClientServiceServer(fm.srv, &blockMasterService{c: c})
		pb.RegisterMetaMasterClientServiceServer(fm.srv, &metaService{c: c, index: i})
		go fm.srv.Serve(lis)
		c.masters = append(c.masters, fm)
	}
	c.addr = c.masters[0].addr

	for i := 0; i < opts.Workers; i++ {
		w, err := c.startWorker(i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.workers = append(c.workers, w)
	}
	return c, nil
}

// Addr returns the host:port of master 0 (the only one, by default).
func (c *Cluster) Addr() string { return c.addr }

// MasterAddrs returns the host:port of every master.
func (c *Cluster) MasterAddrs() []string {
	var out []string
	for _, m := range c.masters {
		out = append(out, m.addr)
	}
	return out
}

// SetLeader makes master i the leader; the others answer NOT_LEADER. -1
// leaves no leader.
func (c *Cluster) SetLeader(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader = i
}

// LeaderAddr returns the leading master's host:port ("" with none).
func (c *Cluster) LeaderAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader < 0 {
		return ""
	}
	return c.masters[c.leader].addr
}

// ForgetWorkers makes the masters report no workers and no block
// locations while the workers go on serving, as a newly elected leader does
// until the workers register with it; false ends that.
func (c *Cluster) ForgetWorkers(forget bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unknownWorkers = forget
}

func (c *Cluster) workersUnknown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unknownWorkers
}

// StopMaster stops master i as a crash would: its connections break.
func (c *Cluster) StopMaster(i int) { c.masters[i].srv.Stop() }

// HangNext makes the next n calls of a master method (on any master) block
// until the caller gives up, as a paused or partitioned master would.
func (c *Cluster) HangNext(method string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hang[method] += n
}

// OperationIDs returns the operation id of every call of a master method
// received so far (attempts included, answered or not), as
// "<most>:<least>" strings.
func (c *Cluster) OperationIDs(method string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range c.opIDs[method] {
		out = append(out, strconv.FormatInt(id[0], 16)+":"+strconv.FormatInt(id[1], 16))
	}
	return out
}

// CallsOn returns how many times method was called on master i.
func (c *Cluster) CallsOn(i int, method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls["master"+strconv.Itoa(i)+"/"+method]
}

// Host and Port of the master, for configuration keys.
func (c *Cluster) Host() string { h, _, _ := net.SplitHostPort(c.addr); return h }

// Port returns the master's port.
func (c *Cluster) Port() int {
	_, p, _ := net.SplitHostPort(c.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Workers returns the workers.
func (c *Cluster) Workers() []*Worker { return c.workers }

// Close stops the servers and removes the block files.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	for _, m := range c.masters {
		m.srv.Stop()
	}
	for _, w := range c.workers {
		w.Stop()
	}
	os.RemoveAll(c.dir)
}

// FailNext makes the next n calls of method (e.g. "GetStatus", "ReadBlock")
// on any server fail with err before running.
func (c *Cluster) FailNext(method string, n int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < n; i++ {
		c.fail[method] = append(c.fail[method], err)
	}
}

// DropResponse makes the next n calls of a unary master method run but
// answer Unavailable, as if the response were lost.
func (c *Cluster) DropResponse(method string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop[method] += n
}

// Calls returns how many times method was called on the master.
func (c *Cluster) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls["master/"+method]
}

func methodName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

func (c *Cluster) injected(server, full string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := methodName(full)
	c.calls[server+"/"+m]++
	if q := c.fail[m]; len(q) > 0 {
		c.fail[m] = q[1:]
		return q[0]
	}
	return nil
}

// masterGate runs before every master call: it counts the call, records its
// operation id, answers NOT_LEADER on a standby (except the meta service,
// which every master serves), hangs or fails injected calls.
func (c *Cluster) masterGate(ctx context.Context, i int, full string, req any) error {
	m := methodName(full)
	c.mu.Lock()
	c.calls["master"+strconv.Itoa(i)+"/"+m]++
	if r, ok := req.(interface{ GetOperationId() *pb.OperationId }); ok && r.GetOperationId() != nil {
		id := r.GetOperationId()
		c.opIDs[m] = append(c.opIDs[m], [2]int64{id.GetMostSignificantBits(), id.GetLeastSignificantBits()})
	}
	standby := c.leader != i && !strings.Contains(full, "MetaMasterClientService")
	hang := false
	if !standby && c.hang[m] > 0 {
		c.hang[m]--
		hang = true
	}
	c.mu.Unlock()
	if standby {
		return status.Error(codes.Unavailable, "NOT_LEADER: master "+c.masters[i].addr+" is a standby")
	}
	if hang {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return c.injected("master", full)
}

func (c *Cluster) masterUnaryInterceptor(i int) grpc.UnaryServerInterceptor {
	inner := c.unaryInterceptor("")
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := c.masterGate(ctx, i, info.FullMethod, req); err != nil {
			return nil, err
		}
		return inner(ctx, req, info, h)
	}
}

func (c *Cluster) masterStreamInterceptor(i int) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := c.masterGate(ss.Context(), i, info.FullMethod, nil); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// unaryInterceptor injects failures and dropped responses; server "" means
// the caller already ran the injection (masterGate).
func (c *Cluster) unaryInterceptor(server string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if server != "" {
			if err := c.injected(server, info.FullMethod); err != nil {
				return nil, err
			}
		}
		resp, err := h(ctx, req)
		c.mu.Lock()
		m := methodName(info.FullMethod)
		dropped := c.drop[m] > 0
		if dropped {
			c.drop[m]--
		}
		c.mu.Unlock()
		if dropped {
			return nil, status.Error(codes.Unavailable, "fakecluster: response dropped")
		}
		return resp, err
	}
}

func (c *Cluster) streamInterceptor(server string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := c.injected(server, info.FullMethod); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// UFSFile returns the contents of a file in the simulated UFS.
func (c *Cluster) UFSFile(ufsPath string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.ufs[ufsPath]
	return append([]byte(nil), b...), ok
}

// UFSPath returns the UFS path of an Alluxio path.
func (c *Cluster) UFSPath(p string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ufsPathLocked(p)
}

// CachedBlocks returns the ids of the blocks of path cached on any worker.
func (c *Cluster) CachedBlocks(p string) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.inodes[p]
	if n == nil {
		return nil
	}
	var out []int64
	for _, id := range n.blockIDs {
		if b := c.blocks[id]; b != nil && len(b.workers) > 0 {
			out = append(out, id)
		}
	}
	return out
}

// Persisted reports whether path is persisted.
func (c *Cluster) Persisted(p string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.inodes[p]
	return n != nil && n.persisted
}

func (c *Cluster) ufsPathLocked(p string) string {
	best := "/"
	for mp := range c.mounts {
		if pathutil.HasPrefix(p, mp) && len(mp) > len(best) {
			best = mp
		}
	}
	base := strings.TrimSuffix(c.mounts[best].UfsUri, "/")
	rel := strings.TrimPrefix(p, best)
	if rel != "" && !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	return base + rel
}

func (c *Cluster) children(p string) []*inode {
	var out []*inode
	for q, n := range c.inodes {
		if q != "/" && pathutil.Parent(q) == p {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func (c *Cluster) descendants(p string) []*inode {
	var out []*inode
	for q, n := range c.inodes {
		if q != p && pathutil.HasPrefix(q, p) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func (c *Cluster) info(n *inode) *pb.FileInfo {
	fi := &pb.FileInfo{
		FileId: n.id, Name: pathutil.Base(n.path), Path: n.path, UfsPath: c.ufsPathLocked(n.path),
		Length: n.length, BlockSizeBytes: n.blockSize, CreationTimeMs: n.created.UnixMilli(),
		Completed: n.completed, Folder: n.dir, Pinned: n.pinned, Cacheable: true, Persisted: n.persisted,
		BlockIds: append([]int64(nil), n.blockIDs...), LastModificationTimeMs: n.modified.UnixMilli(),
		LastAccessTimeMs: n.modified.UnixMilli(), Ttl: n.ttl, TtlAction: n.ttlAction, Owner: n.owner,
		Group: n.group, Mode: n.mode, MountPoint: n.mountPoint, MountId: n.mountID,
	}
	if n.path == "/" {
		fi.Name = ""
	}
	switch {
	case n.persisted:
		fi.PersistenceState = "PERSISTED"
	case n.persisting:
		fi.PersistenceState = "TO_BE_PERSISTED"
	default:
		fi.PersistenceState = "NOT_PERSISTED"
	}
	if n.dir {
		fi.ChildCount = int64(len(c.children(n.path)))
		fi.InAlluxioPercentage = 100
		return fi
	}
	var cached, off int64
	for _, id := range n.blockIDs {
		b := c.blocks[id]
		if b == nil {
			continue
		}
		bi := &pb.BlockInfo{BlockId: id, Length: b.length}
		for i := range c.workers {
			if b.workers[i] && !c.unknownWorkers {
				bi.Locations = append(bi.Locations, &pb.BlockLocation{WorkerId: c.workers[i].id, WorkerAddress: c.workers[i].address(), TierAlias: "MEM"})
			}
		}
		if len(bi.Locations) > 0 {
			cached += b.length
		}
		fi.FileBlockInfos = append(fi.FileBlockInfos, &pb.FileBlockInfo{BlockInfo: bi, Offset: off})
		off += b.length
	}
	if n.length == 0 {
		fi.InAlluxioPercentage = 100
	} else {
		fi.InAlluxioPercentage = int32(cached * 100 / n.length)
	}
	return fi
}

// lookup returns the inode at a clean path or a NotFound error.
func (c *Cluster) lookup(p string) (*inode, error) {
	n := c.inodes[p]
	if n == nil {
		return nil, status.Errorf(codes.NotFound, "%s does not exist", p)
	}
	return n, nil
}

func clean(p string) (string, error) {
	q, err := pathutil.Clean(p)
	if err != nil {
		return "", status.Error(codes.InvalidArgument, err.Error())
	}
	return q, nil
}

// mkdirs creates the missing directories of p (p included).
func (c *Cluster) mkdirs(p string, mode int32, owner, group string) error {
	if n := c.inodes[p]; n != nil {
		if !n.dir {
			return status.Errorf(codes.FailedPrecondition, "%s is a file, not a directory", p)
		}
		return nil
	}
	if err := c.mkdirs(pathutil.Parent(p), mode, owner, group); err != nil {
		return err
	}
	c.newInode(p, true, mode, owner, group)
	return nil
}

func (c *Cluster) newInode(p string, dir bool, mode int32, owner, group string) *inode {
	if mode == 0 {
		mode = 0o644
		if dir {
			mode = 0o755
		}
	}
	if owner == "" {
		owner = c.opts.User
	}
	if group == "" {
		group = c.opts.Group
	}
	now := c.opts.Clock()
	n := &inode{id: c.nextID, path: p, dir: dir, mode: mode, owner: owner, group: group, ttl: -1, created: now, modified: now, completed: dir}
	c.nextID++
	c.inodes[p] = n
	if parent := c.inodes[pathutil.Parent(p)]; parent != nil {
		parent.modified = now
	}
	return n
}

// removeBlocks drops the cached copies of a file's blocks.
func (c *Cluster) removeBlocks(n *inode, forget bool) {
	for _, id := range n.blockIDs {
		if b := c.blocks[id]; b != nil {
			for i := range b.workers {
				c.workers[i].drop(id)
			}
			b.workers = map[int]bool{}
			if forget {
				delete(c.blocks, id)
			}
		}
	}
}

// fileData assembles a file's bytes from cached blocks or the UFS.
func (c *Cluster) fileData(n *inode) ([]byte, error) {
	var out []byte
	for _, id := range n.blockIDs {
		b := c.blocks[id]
		if b == nil {
			continue
		}
		var data []byte
		var err error = status.Errorf(codes.Unavailable, "block %d is not cached", id)
		for i := range b.workers {
			if data, err = c.workers[i].blockData(id); err == nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, data...)
	}
	return out, nil
}

func blockFile(dir string, id int64) string { return filepath.Join(dir, strconv.FormatInt(id, 10)) }
