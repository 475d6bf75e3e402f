package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/master/internal/fsmaster"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// listBatch is how many FileInfos one ListStatus message carries.
const listBatch = 1000

type fsService struct {
	alluxiopb.UnimplementedFileSystemMasterClientServiceServer
	fs *fsmaster.Master
}

func (s *fsService) CreateFile(ctx context.Context, r *alluxiopb.CreateFileRequest) (*alluxiopb.CreateFileResponse, error) {
	fi, err := s.fs.CreateFile(ctx, r)
	if err != nil {
		return nil, err
	}
	return &alluxiopb.CreateFileResponse{FileInfo: fi}, nil
}

func (s *fsService) CreateDirectory(ctx context.Context, r *alluxiopb.CreateDirectoryRequest) (*alluxiopb.CreateDirectoryResponse, error) {
	fi, err := s.fs.CreateDirectory(ctx, r)
	if err != nil {
		return nil, err
	}
	return &alluxiopb.CreateDirectoryResponse{FileInfo: fi}, nil
}

func (s *fsService) GetStatus(ctx context.Context, r *alluxiopb.GetStatusRequest) (*alluxiopb.GetStatusResponse, error) {
	fi, err := s.fs.GetStatus(ctx, r.GetPath())
	if err != nil {
		return nil, err
	}
	return &alluxiopb.GetStatusResponse{FileInfo: fi}, nil
}

func (s *fsService) ListStatus(r *alluxiopb.ListStatusRequest, stream grpc.ServerStreamingServer[alluxiopb.ListStatusResponse]) error {
	return s.fs.ListStatus(stream.Context(), r.GetPath(), r.GetRecursive(), listBatch, func(b []*alluxiopb.FileInfo) error {
		return stream.Send(&alluxiopb.ListStatusResponse{FileInfos: b})
	})
}

func (s *fsService) CompleteFile(ctx context.Context, r *alluxiopb.CompleteFileRequest) (*alluxiopb.CompleteFileResponse, error) {
	return &alluxiopb.CompleteFileResponse{}, s.fs.CompleteFile(ctx, r)
}

func (s *fsService) Remove(ctx context.Context, r *alluxiopb.DeleteRequest) (*alluxiopb.DeleteResponse, error) {
	return &alluxiopb.DeleteResponse{}, s.fs.Remove(ctx, r)
}

func (s *fsService) Rename(ctx context.Context, r *alluxiopb.RenameRequest) (*alluxiopb.RenameResponse, error) {
	return &alluxiopb.RenameResponse{}, s.fs.Rename(ctx, r)
}

func (s *fsService) Free(ctx context.Context, r *alluxiopb.FreeRequest) (*alluxiopb.FreeResponse, error) {
	return &alluxiopb.FreeResponse{}, s.fs.Free(ctx, r)
}

func (s *fsService) Mount(ctx context.Context, r *alluxiopb.MountRequest) (*alluxiopb.MountResponse, error) {
	return &alluxiopb.MountResponse{}, s.fs.Mount(ctx, r)
}

func (s *fsService) Unmount(ctx context.Context, r *alluxiopb.UnmountRequest) (*alluxiopb.UnmountResponse, error) {
	return &alluxiopb.UnmountResponse{}, s.fs.Unmount(ctx, r)
}

func (s *fsService) GetMountTable(ctx context.Context, r *alluxiopb.GetMountTableRequest) (*alluxiopb.GetMountTableResponse, error) {
	return &alluxiopb.GetMountTableResponse{MountPoints: s.fs.MountTable()}, nil
}

func (s *fsService) SetAttribute(ctx context.Context, r *alluxiopb.SetAttributeRequest) (*alluxiopb.SetAttributeResponse, error) {
	return &alluxiopb.SetAttributeResponse{}, s.fs.SetAttribute(ctx, r)
}

func (s *fsService) GetNewBlockId(ctx context.Context, r *alluxiopb.GetNewBlockIdRequest) (*alluxiopb.GetNewBlockIdResponse, error) {
	id, err := s.fs.GetNewBlockID(ctx, r.GetPath())
	if err != nil {
		return nil, err
	}
	return &alluxiopb.GetNewBlockIdResponse{BlockId: id}, nil
}

func (s *fsService) ScheduleAsyncPersistence(ctx context.Context, r *alluxiopb.ScheduleAsyncPersistenceRequest) (*alluxiopb.ScheduleAsyncPersistenceResponse, error) {
	return &alluxiopb.ScheduleAsyncPersistenceResponse{}, s.fs.ScheduleAsyncPersistence(ctx, r.GetPath())
}

type blockWorkerService struct {
	alluxiopb.UnimplementedBlockMasterWorkerServiceServer
	bm *blockmaster.Master
}

func (s *blockWorkerService) GetWorkerId(ctx context.Context, r *alluxiopb.GetWorkerIdRequest) (*alluxiopb.GetWorkerIdResponse, error) {
	id, err := s.bm.GetWorkerID(r.GetWorkerAddress())
	if err != nil {
		return nil, err
	}
	return &alluxiopb.GetWorkerIdResponse{WorkerId: id}, nil
}

func (s *blockWorkerService) RegisterWorker(ctx context.Context, r *alluxiopb.RegisterWorkerRequest) (*alluxiopb.RegisterWorkerResponse, error) {
	return &alluxiopb.RegisterWorkerResponse{}, s.bm.RegisterWorker(ctx, r)
}

func (s *blockWorkerService) BlockHeartbeat(ctx context.Context, r *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.BlockHeartbeatResponse, error) {
	cmd, err := s.bm.Heartbeat(ctx, r)
	if err != nil {
		return nil, err
	}
	return &alluxiopb.BlockHeartbeatResponse{Command: cmd}, nil
}

func (s *blockWorkerService) CommitBlock(ctx context.Context, r *alluxiopb.CommitBlockRequest) (*alluxiopb.CommitBlockResponse, error) {
	return &alluxiopb.CommitBlockResponse{}, s.bm.CommitBlock(ctx, r)
}

type blockClientService struct {
	alluxiopb.UnimplementedBlockMasterClientServiceServer
	bm *blockmaster.Master
}

func (s *blockClientService) GetWorkerInfoList(ctx context.Context, r *alluxiopb.GetWorkerInfoListRequest) (*alluxiopb.GetWorkerInfoListResponse, error) {
	live, lost := s.bm.WorkerInfoList()
	return &alluxiopb.GetWorkerInfoListResponse{WorkerInfos: live, LostWorkers: lost}, nil
}

func (s *blockClientService) GetBlockMasterInfo(ctx context.Context, r *alluxiopb.GetBlockMasterInfoRequest) (*alluxiopb.GetBlockMasterInfoResponse, error) {
	return s.bm.Info(), nil
}

func (s *blockClientService) GetBlockInfo(ctx context.Context, r *alluxiopb.GetBlockInfoRequest) (*alluxiopb.GetBlockInfoResponse, error) {
	bi := s.bm.BlockInfo(r.GetBlockId())
	if bi.GetLength() < 0 && len(bi.GetLocations()) == 0 {
		return nil, fmt.Errorf("server: block %d %w", r.GetBlockId(), rpcstatus.ErrNotFound)
	}
	return &alluxiopb.GetBlockInfoResponse{BlockInfo: bi}, nil
}

type metaService struct {
	alluxiopb.UnimplementedMetaMasterClientServiceServer
	s *Server
}

func (m *metaService) GetMasterInfo(ctx context.Context, r *alluxiopb.GetMasterInfoRequest) (*alluxiopb.GetMasterInfoResponse, error) {
	return m.s.masterInfo(ctx), nil
}

func (m *metaService) GetStatusOfSelf(ctx context.Context, r *alluxiopb.GetStatusOfSelfRequest) (*alluxiopb.MasterStatus, error) {
	return m.s.selfStatus(r.GetWithDigest())
}
