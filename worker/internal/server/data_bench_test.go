package server

import (
	"context"
	"io"
	"net"
	"os"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// BenchmarkBlockData writes and reads 64 MiB blocks over loopback gRPC in
// 1 MiB chunks, the client using the data codec as the Go client does
// ("codec") or the stock protobuf codec ("stock"). With -cpuprofile it
// shows the data path of both ends in one profile:
//
//	go test ./internal/server -run '^$' -bench BlockData -cpuprofile cpu.prof
func BenchmarkBlockData(b *testing.B) {
	const blockSize, chunk = 64 << 20, 1 << 20
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	dir, err := os.MkdirTemp(dir, "alluxio-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	store, err := blockstore.Open(blockstore.Config{Tiers: []blockstore.TierConfig{{
		Alias: "MEM", Dirs: []blockstore.DirConfig{{Path: dir, Quota: 4 * blockSize}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	svc := New(Config{Store: store})
	gs := NewGRPCServer(svc, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go gs.Serve(l)
	b.Cleanup(func() { gs.Stop(); svc.Close() })
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxChunkSize+(1<<20))))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	c := alluxiopb.NewBlockWorkerClient(cc)
	codec := datacodec.New()
	var pool datacodec.Pool
	ctx := context.Background()
	data := make([]byte, chunk)

	write := func(b *testing.B, id int64, zeroCopy bool) {
		var opts []grpc.CallOption
		if zeroCopy {
			opts = append(opts, grpc.ForceCodecV2(codec))
		}
		s, err := c.WriteBlock(ctx, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: id}}}); err != nil {
			b.Fatal(err)
		}
		for n := 0; n < blockSize; n += chunk {
			if zeroCopy {
				bp := pool.Get(chunk)
				copy(*bp, data) // as FileWriter copies the application's bytes
				buf := mem.NewBuffer(bp, &pool)
				err = s.SendMsg(&datacodec.Out{Field: 2, Buf: buf})
				buf.Free()
			} else {
				buf := make([]byte, chunk)
				copy(buf, data)
				err = s.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: buf}})
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.CloseAndRecv(); err != nil {
			b.Fatal(err)
		}
	}
	read := func(b *testing.B, id int64, zeroCopy bool) {
		var opts []grpc.CallOption
		if zeroCopy {
			opts = append(opts, grpc.ForceCodecV2(codec))
		}
		s, err := c.ReadBlock(ctx, &alluxiopb.ReadBlockRequest{BlockId: id, ChunkSize: chunk}, opts...)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			if zeroCopy {
				in := datacodec.In{Field: 1, Msg: &alluxiopb.ReadBlockResponse{}}
				err = s.RecvMsg(&in)
				n := 0
				for _, seg := range in.Segs {
					n += copy(data[n:], seg) // as FileReader copies into the caller's buffer
				}
				got += n
				in.Free()
			} else {
				var resp *alluxiopb.ReadBlockResponse
				if resp, err = s.Recv(); err == nil {
					got += copy(data, resp.GetChunk())
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if got != blockSize {
			b.Fatalf("read %d bytes, want %d", got, blockSize)
		}
	}
	id := int64(0)
	for _, mode := range []struct {
		name     string
		zeroCopy bool
	}{{"codec", true}, {"stock", false}} {
		b.Run("write/"+mode.name, func(b *testing.B) {
			b.SetBytes(blockSize)
			for b.Loop() {
				id++
				write(b, id, mode.zeroCopy)
				if err := store.Remove(id); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("read/"+mode.name, func(b *testing.B) {
			id++
			write(b, id, true)
			b.SetBytes(blockSize)
			for b.Loop() {
				read(b, id, mode.zeroCopy)
			}
		})
	}
}
