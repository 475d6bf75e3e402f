package server

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// split cuts b into a BufferSlice of pieces of n bytes, as the transport
// hands over a message in frame buffers.
func split(b []byte, n int) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > 0 {
		k := min(n, len(b))
		s = append(s, mem.SliceBuffer(append([]byte(nil), b[:k]...)))
		b = b[k:]
	}
	return s
}

func TestDataCodecMarshalIsProtobuf(t *testing.T) {
	c := newDataCodec()
	for _, n := range []int{0, 1, 127, 128, 16 << 10, 1<<20 + 3} {
		data := bytes.Repeat([]byte{0xa5}, n)
		buf := mem.SliceBuffer(data)
		out, err := c.Marshal(&outChunk{field: 1, buf: buf})
		if err != nil {
			t.Fatal(err)
		}
		var resp alluxiopb.ReadBlockResponse
		if err := proto.Unmarshal(out.Materialize(), &resp); err != nil {
			t.Fatalf("%d bytes: stock unmarshal: %v", n, err)
		}
		if !bytes.Equal(resp.GetChunk(), data) {
			t.Fatalf("%d bytes: chunk differs", n)
		}
		out.Free()
	}
}

func TestDataCodecUnmarshal(t *testing.T) {
	c := newDataCodec()
	chunk := make([]byte, 100_000)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	tests := []struct {
		name  string
		msg   *alluxiopb.WriteBlockRequest
		piece int
		fast  bool
	}{
		{"chunk in frames", &alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: chunk}}, 16 << 10, true},
		{"chunk in 1-byte pieces", &alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: chunk[:300]}}, 1, true},
		{"empty chunk", &alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: []byte{}}}, 16 << 10, true},
		{"header", &alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 7}}}, 3, false},
		{"cancel", &alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Cancel{Cancel: true}}, 16 << 10, false},
		{"no value", &alluxiopb.WriteBlockRequest{}, 16 << 10, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			in := inChunk{field: 2, msg: &alluxiopb.WriteBlockRequest{}}
			if err := c.Unmarshal(split(b, tc.piece), &in); err != nil {
				t.Fatal(err)
			}
			defer in.free()
			if got := in.segs != nil || (in.bufs != nil); got != tc.fast {
				t.Fatalf("fast path = %v, want %v", got, tc.fast)
			}
			if !tc.fast {
				if !proto.Equal(in.msg, tc.msg) {
					t.Fatalf("fallback got %v, want %v", in.msg, tc.msg)
				}
				return
			}
			if got := bytes.Join(in.segs, nil); !bytes.Equal(got, tc.msg.GetChunk()) {
				t.Fatalf("chunk of %d bytes differs from the %d sent", len(got), len(tc.msg.GetChunk()))
			}
		})
	}
}

func TestChunkPool(t *testing.T) {
	var p chunkPool
	for _, n := range []int{0, 1, 1000, 1 << 20, 1<<20 + 1} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
}

// TestReadBlockMapped reads ranges of a stored block that sendRange serves
// from a mapping of the block file (unaligned starts, a short tail chunk),
// with the stock codec on the client.
func TestReadBlockMapped(t *testing.T) {
	c := serve(t)
	ctx := context.Background()
	data := make([]byte, 3<<20+777)
	for i := range data {
		data[i] = byte(i*13 + i>>12)
	}
	w, err := c.WriteBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 5}}})
	w.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: data}})
	if _, err := w.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ off, length, chunk int64 }{
		{0, 0, 0}, {4097, 0, 1 << 20}, {12345, 2<<20 + 5, 1000}, {1 << 20, 1 << 20, 1 << 20},
	} {
		s, err := c.ReadBlock(ctx, &alluxiopb.ReadBlockRequest{BlockId: 5, Offset: r.off, Length: r.length, ChunkSize: r.chunk})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for {
			resp, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%+v: %v", r, err)
			}
			got = append(got, resp.GetChunk()...)
		}
		end := int64(len(data))
		if r.length > 0 {
			end = r.off + r.length
		}
		if !bytes.Equal(got, data[r.off:end]) {
			t.Fatalf("%+v: got %d bytes, want %d, or different", r, len(got), end-r.off)
		}
	}
}

// TestMappingReleasedByFreeOrGC checks that a mapped range is unmapped once
// every chunk is freed, and also when the transport drops a chunk unfreed
// (collected instead).
func TestMappingReleasedByFreeOrGC(t *testing.T) {
	unmapped := make(chan struct{}, 1)
	m := &mapping{unmap: func() error { unmapped <- struct{}{}; return nil }}
	m.refs.Store(1)
	data := make([]byte, 3<<20)
	freed := m.chunk(data[:1<<20])
	freed.Ref()
	freed.Free()
	freed.Free()
	func() { m.chunk(data[1<<20 : 2<<20]) }() // dropped without Free
	m.release(new(atomic.Bool))               // the sender's own reference
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-unmapped:
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not unmapped: %d references left", m.refs.Load())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
