package datacodec

import (
	"bytes"
	"testing"

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
	c := New()
	for _, n := range []int{0, 1, 127, 128, 16 << 10, 1<<20 + 3} {
		data := bytes.Repeat([]byte{0xa5}, n)
		buf := mem.SliceBuffer(data)
		out, err := c.Marshal(&Out{Field: 1, Buf: buf})
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
	c := New()
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
			in := In{Field: 2, Msg: &alluxiopb.WriteBlockRequest{}}
			if err := c.Unmarshal(split(b, tc.piece), &in); err != nil {
				t.Fatal(err)
			}
			defer in.Free()
			if got := in.Segs != nil || (in.Bufs != nil); got != tc.fast {
				t.Fatalf("fast path = %v, want %v", got, tc.fast)
			}
			if !tc.fast {
				if !proto.Equal(in.Msg, tc.msg) {
					t.Fatalf("fallback got %v, want %v", in.Msg, tc.msg)
				}
				return
			}
			if got := bytes.Join(in.Segs, nil); !bytes.Equal(got, tc.msg.GetChunk()) {
				t.Fatalf("chunk of %d bytes differs from the %d sent", len(got), len(tc.msg.GetChunk()))
			}
		})
	}
}

func TestChunkPool(t *testing.T) {
	var p Pool
	for _, n := range []int{0, 1, 1000, 1 << 20, 1<<20 + 1} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
}
