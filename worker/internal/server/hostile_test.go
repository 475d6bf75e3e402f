package server

import (
	"bytes"
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

// TestHostileDataServer sends the data server (alluxio.worker.data.port)
// malformed, oversized and out-of-range requests and broken writes: each
// ends in a clear status or a closed connection, never a panic or a hang,
// and no aborted write leaves a visible block.
func TestHostileDataServer(t *testing.T) {
	const idle = 300 * time.Millisecond
	r := serveData(t, idle)
	block := bytes.Repeat([]byte{7}, 4096)
	{
		c := r.dial(t)
		mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 1}), chunkFrame(block), frameLen(0))
		wantCode(t, c, codes.OK)
	}
	// closed waits for the server to close c (after any answer).
	closed := func(t *testing.T, c net.Conn) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * idle))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("connection not closed by the server: %v", err)
		}
	}
	for _, tc := range []struct {
		name  string
		send  [][]byte
		want  codes.Code
		close bool // the server ends the connection after answering
	}{
		{"UnknownBlock", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 99})}, codes.NotFound, false},
		{"NegativeOffset", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1, Offset: -1})}, codes.InvalidArgument, false},
		{"OffsetPastEnd", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1, Offset: 4097})}, codes.InvalidArgument, false},
		{"LengthPastEnd", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1, Offset: 4000, Length: 97})}, codes.InvalidArgument, false},
		{"HugeRange", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1, Offset: 1<<63 - 1, Length: 1<<63 - 1})}, codes.InvalidArgument, false},
		{"ReadFromUFS", [][]byte{request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 2, Ufs: &alluxiopb.UfsReadOptions{UfsPath: "/etc/passwd", BlockSize: 10}})}, codes.InvalidArgument, true},
		{"OversizedHeader", [][]byte{{DataOpRead, 0x40, 0, 0, 0}}, codes.InvalidArgument, true},
		{"MalformedHeader", [][]byte{{DataOpRead, 0, 0, 0, 3, 0xff, 0xff, 0xff}}, codes.InvalidArgument, true},
		{"UnknownOp", [][]byte{{9, 0, 0, 0, 0}}, codes.InvalidArgument, true},
		{"WriteExistingBlock", [][]byte{request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 1})}, codes.AlreadyExists, true},
		{"WriteHugeReservation", [][]byte{request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 3, SpaceToReserve: 1 << 62})}, codes.InvalidArgument, true},
		{"WriteOversizedChunk", [][]byte{request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 4}), frameLen(MaxChunkSize + 1)}, codes.InvalidArgument, true},
		{"WriteCanceled", [][]byte{request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 6}), chunkFrame(block), frameLen(DataCancel)}, codes.Canceled, false},
		// Last: making room evicts block 1.
		{"WritePastTierCapacity", [][]byte{request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 5}), frameLen(9 << 20), make([]byte, 1<<20)}, codes.ResourceExhausted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.dial(t)
			mustWrite(t, c, tc.send...)
			wantCode(t, c, tc.want)
			if tc.close {
				closed(t, c)
				return
			}
			// The connection still serves.
			mustWrite(t, c, request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1, Offset: 4095}))
			if h := wantCode(t, c, codes.OK); h.GetLength() != 1 {
				t.Fatalf("length %d, want 1", h.GetLength())
			}
		})
	}
	for _, id := range []int64{3, 4, 5, 6} {
		if r.store.Has(id) {
			t.Errorf("block %d of a refused or aborted write is visible", id)
		}
	}

	// A client that disconnects mid-chunk: the write is aborted, never
	// committed, and the id is free again.
	t.Run("DisconnectMidWrite", func(t *testing.T) {
		c := r.dial(t)
		mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 10}), frameLen(1<<20), make([]byte, 1000))
		c.Close()
		poll(t, "aborted write freed its id", func() bool {
			c := r.dial(t)
			mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 10}), frameLen(DataCancel))
			h, err := response(c)
			return err == nil && codes.Code(h.GetCode()) == codes.Canceled
		})
		if r.store.Has(10) {
			t.Error("block 10 of a broken write is visible")
		}
	})
	// Silent clients are cut off after the idle timeout: mid-header,
	// mid-write (aborted) and between requests.
	for name, send := range map[string][][]byte{
		"IdleMidHeader": {{DataOpRead, 0, 0}},
		"IdleMidWrite":  {request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 11}), frameLen(100), make([]byte, 10)},
		"IdleNoRequest": nil,
	} {
		t.Run(name, func(t *testing.T) {
			c := r.dial(t)
			mustWrite(t, c, send...)
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(10 * idle))
			_, _ = io.Copy(io.Discard, c) // an error answer, then EOF
			if d := time.Since(start); d >= 10*idle {
				t.Fatalf("connection still open after %v", d)
			}
		})
	}
	if r.store.Has(11) {
		t.Error("block 11 of a timed-out write is visible")
	}
}

// poll waits up to 10 s for cond.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
