package server

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

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
