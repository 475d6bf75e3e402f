package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// TestInvalidRequestsOverGRPC checks that validation failures of every
// service reach clients as InvalidArgument (or the code named), one line,
// and that a large report of unknown blocks is answered quickly.
func TestInvalidRequestsOverGRPC(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	wid, err := e.bw.GetWorkerId(c, &alluxiopb.GetWorkerIdRequest{WorkerAddress: &alluxiopb.WorkerNetAddress{Host: "127.0.0.9", RpcPort: 1}})
	if err != nil {
		t.Fatal(err)
	}
	id := wid.GetWorkerId()
	tests := []struct {
		name string
		want codes.Code
		call func(ctx context.Context) error
	}{
		{"CreateFile/HugeBlockSize", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.fs.CreateFile(ctx, &alluxiopb.CreateFileRequest{Path: "/f", BlockSizeBytes: 1 << 62})
			return err
		}},
		{"CreateDirectory/NegativeMode", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.fs.CreateDirectory(ctx, &alluxiopb.CreateDirectoryRequest{Path: "/d", Mode: -1})
			return err
		}},
		{"Mount/RelativeUfs", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.fs.Mount(ctx, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: "relative/dir"})
			return err
		}},
		{"Mount/ContainsRootUfs", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.fs.Mount(ctx, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: filepath.Dir(e.ufs)})
			return err
		}},
		{"GetWorkerId/PortTooBig", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.bw.GetWorkerId(ctx, &alluxiopb.GetWorkerIdRequest{WorkerAddress: &alluxiopb.WorkerNetAddress{Host: "h", RpcPort: 70000}})
			return err
		}},
		{"RegisterWorker/DuplicateTiers", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.bw.RegisterWorker(ctx, &alluxiopb.RegisterWorkerRequest{WorkerId: id, StorageTiers: []string{"MEM", "MEM"}})
			return err
		}},
		{"BlockHeartbeat/NegativeUsed", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.bw.BlockHeartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: id, UsedBytesOnTiers: map[string]int64{"MEM": -1}})
			return err
		}},
		{"CommitBlock/NegativeLength", codes.InvalidArgument, func(ctx context.Context) error {
			_, err := e.bw.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: id, TierAlias: "MEM", BlockId: 1 << 24, Length: -1})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(c)
			if status.Code(err) != tc.want || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Two million unknown block ids: answered well within a client's
	// patience, and the master still serves.
	report := make([]int64, 2<<20)
	for i := range report {
		report[i] = 1<<40 + int64(i)
	}
	start := time.Now()
	if _, err := e.bw.RegisterWorker(c, &alluxiopb.RegisterWorkerRequest{WorkerId: id, StorageTiers: []string{"MEM"},
		TotalBytesOnTiers: map[string]int64{"MEM": 1 << 30}, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": {BlockIds: report}}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("register with 2M unknown blocks took %v", d)
	}
	if _, err := e.fs.CreateDirectory(c, &alluxiopb.CreateDirectoryRequest{Path: "/after"}); err != nil {
		t.Fatal(err)
	}
}
