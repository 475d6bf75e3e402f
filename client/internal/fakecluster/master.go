package fakecluster

import (
	"context"
	"net"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/pathutil"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

type masterService struct {
	pb.UnimplementedFileSystemMasterClientServiceServer
	c *Cluster
}

// dedup runs a mutation once per operation id; a retry gets the first answer.
// The caller holds c.mu.
func dedup[T any](c *Cluster, op *pb.OperationId, f func() (T, error)) (T, error) {
	var key [2]int64
	if op != nil {
		key = [2]int64{op.GetMostSignificantBits(), op.GetLeastSignificantBits()}
	}
	if key != [2]int64{} {
		if r, ok := c.ops[key]; ok {
			resp, _ := r.resp.(T)
			return resp, r.err
		}
	}
	resp, err := f()
	if key != [2]int64{} {
		c.ops[key] = opResult{resp: resp, err: err}
	}
	return resp, err
}

func (m *masterService) CreateFile(_ context.Context, req *pb.CreateFileRequest) (*pb.CreateFileResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.CreateFileResponse, error) {
		p, err := clean(req.GetPath())
		if err != nil {
			return nil, err
		}
		if p == "/" {
			return nil, status.Error(codes.AlreadyExists, "/ already exists")
		}
		if n := c.inodes[p]; n != nil {
			if !req.GetOverwrite() || n.dir {
				return nil, status.Errorf(codes.AlreadyExists, "%s already exists", p)
			}
			c.removeBlocks(n, true)
			delete(c.inodes, p)
		}
		parent := pathutil.Parent(p)
		if pn := c.inodes[parent]; pn == nil {
			if !req.GetRecursive() {
				return nil, status.Errorf(codes.NotFound, "parent %s does not exist", parent)
			}
			if err := c.mkdirs(parent, 0, req.GetOwner(), req.GetGroup()); err != nil {
				return nil, err
			}
		} else if !pn.dir {
			return nil, status.Errorf(codes.FailedPrecondition, "parent %s is a file", parent)
		}
		if req.GetBlockSizeBytes() <= 0 {
			return nil, status.Error(codes.InvalidArgument, "block size must be positive")
		}
		n := c.newInode(p, false, req.GetMode(), req.GetOwner(), req.GetGroup())
		n.blockSize = req.GetBlockSizeBytes()
		n.writeType = req.GetWriteType()
		n.ttl = req.GetTtl()
		if n.ttl == 0 {
			n.ttl = -1
		}
		return &pb.CreateFileResponse{FileInfo: c.info(n)}, nil
	})
}

func (m *masterService) CreateDirectory(_ context.Context, req *pb.CreateDirectoryRequest) (*pb.CreateDirectoryResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.CreateDirectoryResponse, error) {
		p, err := clean(req.GetPath())
		if err != nil {
			return nil, err
		}
		if n := c.inodes[p]; n != nil {
			if n.dir && req.GetAllowExists() {
				return &pb.CreateDirectoryResponse{FileInfo: c.info(n)}, nil
			}
			return nil, status.Errorf(codes.AlreadyExists, "%s already exists", p)
		}
		parent := pathutil.Parent(p)
		if pn := c.inodes[parent]; pn == nil {
			if !req.GetRecursive() {
				return nil, status.Errorf(codes.NotFound, "parent %s does not exist", parent)
			}
		} else if !pn.dir {
			return nil, status.Errorf(codes.FailedPrecondition, "parent %s is a file", parent)
		}
		if err := c.mkdirs(p, req.GetMode(), req.GetOwner(), req.GetGroup()); err != nil {
			return nil, err
		}
		n := c.inodes[p]
		if wt := req.GetWriteType(); wt == pb.WriteType_CACHE_THROUGH || wt == pb.WriteType_THROUGH {
			c.ufsDirs[c.ufsPathLocked(p)] = true
			n.persisted = true
		}
		return &pb.CreateDirectoryResponse{FileInfo: c.info(n)}, nil
	})
}

func (m *masterService) GetStatus(_ context.Context, req *pb.GetStatusRequest) (*pb.GetStatusResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	n, err := c.lookup(p)
	if err != nil {
		return nil, err
	}
	return &pb.GetStatusResponse{FileInfo: c.info(n)}, nil
}

// listBatch is small so tests exercise multi-message streams.
const listBatch = 3

func (m *masterService) ListStatus(req *pb.ListStatusRequest, stream pb.FileSystemMasterClientService_ListStatusServer) error {
	c := m.c
	c.mu.Lock()
	p, err := clean(req.GetPath())
	if err != nil {
		c.mu.Unlock()
		return err
	}
	n, err := c.lookup(p)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	var infos []*pb.FileInfo
	switch {
	case !n.dir:
		infos = append(infos, c.info(n))
	case req.GetRecursive():
		for _, d := range c.descendants(p) {
			infos = append(infos, c.info(d))
		}
	default:
		for _, d := range c.children(p) {
			infos = append(infos, c.info(d))
		}
	}
	c.mu.Unlock()
	for len(infos) > 0 {
		k := min(listBatch, len(infos))
		if err := stream.Send(&pb.ListStatusResponse{FileInfos: infos[:k]}); err != nil {
			return err
		}
		infos = infos[k:]
	}
	return nil
}

func (m *masterService) CompleteFile(_ context.Context, req *pb.CompleteFileRequest) (*pb.CompleteFileResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.CompleteFileResponse, error) {
		p, err := clean(req.GetPath())
		if err != nil {
			return nil, err
		}
		n, err := c.lookup(p)
		if err != nil {
			return nil, err
		}
		if n.dir || n.completed {
			return nil, status.Errorf(codes.FailedPrecondition, "%s is not an incomplete file", p)
		}
		wt := n.writeType
		through := wt == pb.WriteType_CACHE_THROUGH || wt == pb.WriteType_THROUGH
		if wt != pb.WriteType_THROUGH {
			var sum int64
			var kept []int64
			for _, id := range n.blockIDs {
				if b := c.blocks[id]; b != nil && len(b.workers) > 0 {
					sum += b.length
					kept = append(kept, id)
				} else {
					delete(c.blocks, id) // allocated but never committed
				}
			}
			n.blockIDs = kept
			if sum != req.GetLength() {
				return nil, status.Errorf(codes.FailedPrecondition, "%s: committed blocks hold %d bytes, not %d", p, sum, req.GetLength())
			}
		} else {
			// THROUGH files get block ids covering the UFS file, uncached.
			for off := int64(0); off < req.GetLength(); off += n.blockSize {
				id := c.nextBlock
				c.nextBlock++
				c.blocks[id] = &blockMeta{length: min(n.blockSize, req.GetLength()-off), workers: map[int]bool{}}
				n.blockIDs = append(n.blockIDs, id)
			}
		}
		if through {
			data, ok := c.ufs[c.ufsPathLocked(p)]
			if !ok || int64(len(data)) != req.GetLength() || req.GetUfsLength() != req.GetLength() {
				return nil, status.Errorf(codes.FailedPrecondition, "%s: UFS file has %d bytes (client says %d), want %d", p, len(data), req.GetUfsLength(), req.GetLength())
			}
			n.persisted = true
		}
		n.length = req.GetLength()
		n.completed = true
		n.modified = c.opts.Clock()
		if wt == pb.WriteType_ASYNC_THROUGH {
			c.schedulePersist(n)
		}
		return &pb.CompleteFileResponse{}, nil
	})
}

// schedulePersist persists a file in the background, as a worker would on
// the master's command. The caller holds c.mu.
func (c *Cluster) schedulePersist(n *inode) {
	if n.persisted || n.persisting {
		return
	}
	n.persisting = true
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		cur := c.inodes[n.path]
		if cur != n || c.closed {
			return
		}
		n.persisting = false
		data, err := c.fileData(n)
		if err != nil {
			return
		}
		c.ufs[c.ufsPathLocked(n.path)] = data
		n.persisted = true
	}()
}

func (m *masterService) ScheduleAsyncPersistence(_ context.Context, req *pb.ScheduleAsyncPersistenceRequest) (*pb.ScheduleAsyncPersistenceResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	n, err := c.lookup(p)
	if err != nil {
		return nil, err
	}
	if n.dir || !n.completed {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not a complete file", p)
	}
	c.schedulePersist(n)
	return &pb.ScheduleAsyncPersistenceResponse{}, nil
}

func (m *masterService) Remove(_ context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.DeleteResponse, error) {
		p, err := clean(req.GetPath())
		if err != nil {
			return nil, err
		}
		if p == "/" {
			return nil, status.Error(codes.InvalidArgument, "cannot delete the root")
		}
		n, err := c.lookup(p)
		if err != nil {
			return nil, err
		}
		sub := c.descendants(p)
		if n.dir && len(sub) > 0 && !req.GetRecursive() {
			return nil, status.Errorf(codes.FailedPrecondition, "DIRECTORY_NOT_EMPTY: %s is not empty", p)
		}
		for _, d := range append(sub, n) {
			if d.mountPoint && d != n {
				return nil, status.Errorf(codes.FailedPrecondition, "%s contains mount point %s", p, d.path)
			}
		}
		for _, d := range append(sub, n) {
			c.removeBlocks(d, true)
			if !req.GetAlluxioOnly() && !n.mountPoint {
				delete(c.ufs, c.ufsPathLocked(d.path))
				delete(c.ufsDirs, c.ufsPathLocked(d.path))
			}
			delete(c.inodes, d.path)
		}
		if n.mountPoint {
			delete(c.mounts, p)
		}
		if parent := c.inodes[pathutil.Parent(p)]; parent != nil {
			parent.modified = c.opts.Clock()
		}
		return &pb.DeleteResponse{}, nil
	})
}

func (m *masterService) Rename(_ context.Context, req *pb.RenameRequest) (*pb.RenameResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.RenameResponse, error) {
		src, err := clean(req.GetSrcPath())
		if err != nil {
			return nil, err
		}
		dst, err := clean(req.GetDstPath())
		if err != nil {
			return nil, err
		}
		n, err := c.lookup(src)
		if err != nil {
			return nil, err
		}
		if src == "/" || pathutil.HasPrefix(dst, src) {
			return nil, status.Errorf(codes.InvalidArgument, "cannot rename %s to %s", src, dst)
		}
		if c.inodes[dst] != nil {
			return nil, status.Errorf(codes.AlreadyExists, "%s already exists", dst)
		}
		if pn := c.inodes[pathutil.Parent(dst)]; pn == nil || !pn.dir {
			return nil, status.Errorf(codes.NotFound, "parent %s does not exist", pathutil.Parent(dst))
		}
		moved := append([]*inode{n}, c.descendants(src)...)
		for _, d := range moved {
			oldUfs := c.ufsPathLocked(d.path)
			delete(c.inodes, d.path)
			d.path = dst + strings.TrimPrefix(d.path, src)
			newUfs := c.ufsPathLocked(d.path)
			if data, ok := c.ufs[oldUfs]; ok {
				delete(c.ufs, oldUfs)
				c.ufs[newUfs] = data
			}
			if c.ufsDirs[oldUfs] {
				delete(c.ufsDirs, oldUfs)
				c.ufsDirs[newUfs] = true
			}
		}
		for _, d := range moved {
			c.inodes[d.path] = d
		}
		n.modified = c.opts.Clock()
		return &pb.RenameResponse{}, nil
	})
}

func (m *masterService) Free(_ context.Context, req *pb.FreeRequest) (*pb.FreeResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	n, err := c.lookup(p)
	if err != nil {
		return nil, err
	}
	targets := []*inode{n}
	if n.dir {
		if !req.GetRecursive() && len(c.children(p)) > 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "%s is a non-empty directory; free it recursively", p)
		}
		targets = c.descendants(p)
	}
	for _, t := range targets {
		if t.dir {
			continue
		}
		if !t.persisted {
			return nil, status.Errorf(codes.FailedPrecondition, "cannot free %s: it is not persisted", t.path)
		}
		if t.pinned && !req.GetForced() {
			return nil, status.Errorf(codes.FailedPrecondition, "cannot free %s: it is pinned", t.path)
		}
	}
	for _, t := range targets {
		c.removeBlocks(t, false)
	}
	return &pb.FreeResponse{}, nil
}

func (m *masterService) Mount(_ context.Context, req *pb.MountRequest) (*pb.MountResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.MountResponse, error) {
		p, err := clean(req.GetAlluxioPath())
		if err != nil {
			return nil, err
		}
		if req.GetUfsPath() == "" {
			return nil, status.Error(codes.InvalidArgument, "empty UFS path")
		}
		if c.inodes[p] != nil {
			return nil, status.Errorf(codes.AlreadyExists, "%s already exists", p)
		}
		if pn := c.inodes[pathutil.Parent(p)]; pn == nil || !pn.dir {
			return nil, status.Errorf(codes.NotFound, "parent %s does not exist", pathutil.Parent(p))
		}
		c.nextMount++
		c.mounts[p] = &pb.MountPointInfo{AlluxioPath: p, UfsUri: req.GetUfsPath(), ReadOnly: req.GetReadOnly(), MountId: c.nextMount, Properties: req.GetProperties()}
		n := c.newInode(p, true, 0, "", "")
		n.mountPoint, n.mountID, n.persisted = true, c.nextMount, true
		return &pb.MountResponse{}, nil
	})
}

func (m *masterService) Unmount(_ context.Context, req *pb.UnmountRequest) (*pb.UnmountResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.UnmountResponse, error) {
		p, err := clean(req.GetAlluxioPath())
		if err != nil {
			return nil, err
		}
		if p == "/" || c.mounts[p] == nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s is not a mount point", p)
		}
		for _, d := range append(c.descendants(p), c.inodes[p]) {
			c.removeBlocks(d, true)
			delete(c.inodes, d.path)
		}
		delete(c.mounts, p)
		return &pb.UnmountResponse{}, nil
	})
}

func (m *masterService) GetMountTable(context.Context, *pb.GetMountTableRequest) (*pb.GetMountTableResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := &pb.GetMountTableResponse{}
	for _, mp := range c.mounts {
		resp.MountPoints = append(resp.MountPoints, mp)
	}
	return resp, nil
}

func (m *masterService) SetAttribute(_ context.Context, req *pb.SetAttributeRequest) (*pb.SetAttributeResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return dedup(c, req.GetOperationId(), func() (*pb.SetAttributeResponse, error) {
		p, err := clean(req.GetPath())
		if err != nil {
			return nil, err
		}
		n, err := c.lookup(p)
		if err != nil {
			return nil, err
		}
		targets := []*inode{n}
		if req.GetRecursive() && n.dir {
			targets = append(targets, c.descendants(p)...)
		}
		for _, t := range targets {
			if req.Mode != nil {
				t.mode = req.GetMode()
			}
			if req.Owner != nil {
				t.owner = req.GetOwner()
			}
			if req.Group != nil {
				t.group = req.GetGroup()
			}
			if req.Pinned != nil {
				t.pinned = req.GetPinned()
			}
			if req.Ttl != nil {
				t.ttl = req.GetTtl()
			}
			if req.TtlAction != nil {
				t.ttlAction = req.GetTtlAction()
			}
		}
		return &pb.SetAttributeResponse{}, nil
	})
}

func (m *masterService) GetNewBlockId(_ context.Context, req *pb.GetNewBlockIdRequest) (*pb.GetNewBlockIdResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	n, err := c.lookup(p)
	if err != nil {
		return nil, err
	}
	if n.dir || n.completed {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not an incomplete file", p)
	}
	id := c.nextBlock
	c.nextBlock++
	c.blocks[id] = &blockMeta{workers: map[int]bool{}}
	n.blockIDs = append(n.blockIDs, id)
	return &pb.GetNewBlockIdResponse{BlockId: id}, nil
}

type blockMasterService struct {
	pb.UnimplementedBlockMasterClientServiceServer
	c *Cluster
}

func (b *blockMasterService) GetWorkerInfoList(context.Context, *pb.GetWorkerInfoListRequest) (*pb.GetWorkerInfoListResponse, error) {
	resp := &pb.GetWorkerInfoListResponse{}
	if b.c.workersUnknown() {
		return resp, nil
	}
	for _, w := range b.c.workers {
		wi := w.info()
		if w.stopped() {
			wi.State = "LOST"
			resp.LostWorkers = append(resp.LostWorkers, wi)
		} else {
			resp.WorkerInfos = append(resp.WorkerInfos, wi)
		}
	}
	return resp, nil
}

func (b *blockMasterService) GetBlockMasterInfo(context.Context, *pb.GetBlockMasterInfoRequest) (*pb.GetBlockMasterInfoResponse, error) {
	resp := &pb.GetBlockMasterInfoResponse{CapacityBytesOnTiers: map[string]int64{}, UsedBytesOnTiers: map[string]int64{}}
	for _, w := range b.c.workers {
		if w.stopped() {
			resp.LostWorkerNum++
			continue
		}
		wi := w.info()
		resp.LiveWorkerNum++
		resp.CapacityBytes += wi.CapacityBytes
		resp.UsedBytes += wi.UsedBytes
		resp.CapacityBytesOnTiers["MEM"] += wi.CapacityBytes
		resp.UsedBytesOnTiers["MEM"] += wi.UsedBytes
	}
	resp.FreeBytes = resp.CapacityBytes - resp.UsedBytes
	return resp, nil
}

func (b *blockMasterService) GetBlockInfo(_ context.Context, req *pb.GetBlockInfoRequest) (*pb.GetBlockInfoResponse, error) {
	c := b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	bm := c.blocks[req.GetBlockId()]
	if bm == nil {
		return nil, status.Errorf(codes.NotFound, "block %d does not exist", req.GetBlockId())
	}
	bi := &pb.BlockInfo{BlockId: req.GetBlockId(), Length: bm.length}
	for i := range c.workers {
		if bm.workers[i] {
			bi.Locations = append(bi.Locations, &pb.BlockLocation{WorkerId: c.workers[i].id, WorkerAddress: c.workers[i].address(), TierAlias: "MEM"})
		}
	}
	return &pb.GetBlockInfoResponse{BlockInfo: bi}, nil
}

type metaService struct {
	pb.UnimplementedMetaMasterClientServiceServer
	c     *Cluster
	index int
}

// masterStatus describes master i; the caller holds c.mu.
func (c *Cluster) masterStatus(i int) *pb.MasterStatus {
	host, port, _ := net.SplitHostPort(c.masters[i].addr)
	p, _ := strconv.Atoi(port)
	role := "STANDBY"
	switch {
	case len(c.masters) == 1 && c.leader == 0:
		role = "SINGLE"
	case c.leader == i:
		role = "LEADER"
	}
	return &pb.MasterStatus{
		Address: &pb.MasterAddress{Host: host, RpcPort: int32(p)}, Role: role, Epoch: 1, Version: "fake",
		JournalSequence: c.nextID, ParticipantId: c.masters[i].addr,
	}
}

func (m *metaService) GetMasterInfo(context.Context, *pb.GetMasterInfoRequest) (*pb.GetMasterInfoResponse, error) {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := &pb.GetMasterInfoResponse{
		ClusterId: "fake-cluster", Version: "fake", RpcPort: int32(m.c.Port()), WebPort: 19999,
		ZookeeperEnabled: len(c.masters) > 1,
	}
	for i := range c.masters {
		st := c.masterStatus(i)
		if i == c.leader {
			resp.LeaderAddress = st.Address
		}
		resp.Masters = append(resp.Masters, st)
	}
	return resp, nil
}

func (m *metaService) GetStatusOfSelf(context.Context, *pb.GetStatusOfSelfRequest) (*pb.MasterStatus, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return m.c.masterStatus(m.index), nil
}
