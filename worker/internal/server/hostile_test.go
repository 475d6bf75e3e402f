package server

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// serve starts a Service over loopback gRPC with one 8 MB tier and the local
// UFS, and returns a client.
func serve(t *testing.T) alluxiopb.BlockWorkerClient {
	t.Helper()
	store, err := blockstore.Open(blockstore.Config{Tiers: []blockstore.TierConfig{{
		Alias: "MEM", Dirs: []blockstore.DirConfig{{Path: t.TempDir(), Quota: 8 << 20}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: store, UFS: ufs.NewRegistry()})
	gs := NewGRPCServer(svc, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(l)
	t.Cleanup(func() { gs.Stop(); svc.Close() })
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return alluxiopb.NewBlockWorkerClient(cc)
}

// TestHostileUFSAndStreamInput is the regression test for requests that used
// to end in Internal (unclassified UFS errors, io.EOF on an empty stream) or
// were accepted (a ".." UFS path writing outside the intended directory, mode
// bits out of range).
func TestHostileUFSAndStreamInput(t *testing.T) {
	c := serve(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	ufsHeader := func(h *alluxiopb.UfsFileHeader) *alluxiopb.WriteUfsFileRequest {
		return &alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Header{Header: h}}
	}
	writeUfs := func(ctx context.Context, msgs ...*alluxiopb.WriteUfsFileRequest) error {
		s, err := c.WriteUfsFile(ctx)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := s.Send(m); err == io.EOF {
				break
			}
		}
		_, err = s.CloseAndRecv()
		return err
	}
	read := func(ctx context.Context, path string, size int64) error {
		s, err := c.ReadBlock(ctx, &alluxiopb.ReadBlockRequest{BlockId: 77, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path, BlockSize: size}})
		if err != nil {
			return err
		}
		for {
			if _, err := s.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	cache := func(ctx context.Context, path string) error {
		_, err := c.CacheBlock(ctx, &alluxiopb.CacheBlockRequest{BlockId: 78, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path, BlockSize: 1024}})
		return err
	}
	escape := dir + "/sub/../../escaped"
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
		want codes.Code
	}{
		{"WriteBlockEmptyStream", func(ctx context.Context) error {
			s, err := c.WriteBlock(ctx)
			if err != nil {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		}, codes.InvalidArgument},
		{"WriteUfsFileEmptyStream", func(ctx context.Context) error { return writeUfs(ctx) }, codes.InvalidArgument},
		{"WriteUfsFileRelative", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: "relative/f"}))
		}, codes.InvalidArgument},
		{"WriteUfsFileDotDot", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: escape}))
		}, codes.InvalidArgument},
		{"WriteUfsFileNUL", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: dir + "/a\x00b"}))
		}, codes.InvalidArgument},
		{"WriteUfsFileUnknownScheme", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: "gopher://h/x"}))
		}, codes.InvalidArgument},
		{"WriteUfsFileBadURI", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: "file://%zz/x"}))
		}, codes.InvalidArgument},
		{"WriteUfsFileModeTooBig", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: dir + "/m1", Mode: 0o10000}))
		}, codes.InvalidArgument},
		{"WriteUfsFileNegativeMode", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: dir + "/m2", Mode: -1}))
		}, codes.InvalidArgument},
		{"WriteUfsFileOverDirectory", func(ctx context.Context) error {
			return writeUfs(ctx, ufsHeader(&alluxiopb.UfsFileHeader{UfsPath: dir, Overwrite: true}))
		}, codes.AlreadyExists},
		{"ReadBlockUfsRelative", func(ctx context.Context) error { return read(ctx, "f", 1024) }, codes.InvalidArgument},
		{"ReadBlockUfsUnknownScheme", func(ctx context.Context) error { return read(ctx, "gopher://h/x", 1024) }, codes.InvalidArgument},
		{"ReadBlockUfsBadURI", func(ctx context.Context) error { return read(ctx, "file://%zz/x", 1024) }, codes.InvalidArgument},
		{"ReadBlockUfsNUL", func(ctx context.Context) error { return read(ctx, file+"\x00", 1024) }, codes.InvalidArgument},
		{"ReadBlockUfsDirectory", func(ctx context.Context) error { return read(ctx, dir, 1024) }, codes.FailedPrecondition},
		{"ReadBlockUfsOK", func(ctx context.Context) error { return read(ctx, file, 1024) }, codes.OK},
		{"CacheBlockRelative", func(ctx context.Context) error { return cache(ctx, "f") }, codes.InvalidArgument},
		{"CacheBlockUnknownScheme", func(ctx context.Context) error { return cache(ctx, "gopher://h/x") }, codes.InvalidArgument},
		{"CacheBlockDirectory", func(ctx context.Context) error { return cache(ctx, dir) }, codes.FailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tc.call(ctx); status.Code(err) != tc.want {
				t.Fatalf("got %v (%v), want %v", status.Code(err), err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); err == nil {
		t.Errorf("a UFS write with .. created a file outside its directory")
	}
}
