package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// dataRig is a Service with one 8 MB tier behind a DataServer on loopback.
type dataRig struct {
	store *blockstore.Store
	ds    *DataServer
	addr  string
}

func serveData(t *testing.T, idle time.Duration) *dataRig {
	t.Helper()
	store, err := blockstore.Open(blockstore.Config{Tiers: []blockstore.TierConfig{{
		Alias: "MEM", Dirs: []blockstore.DirConfig{{Path: t.TempDir(), Quota: 8 << 20}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: store, UFS: ufs.NewRegistry()})
	ds := NewDataServer(svc, DataConfig{IdleTimeout: idle})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ds.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ds.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		svc.Close()
	})
	return &dataRig{store: store, ds: ds, addr: l.Addr().String()}
}

func (r *dataRig) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func request(op byte, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	out := []byte{op, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

func chunkFrame(b []byte) []byte {
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	return append(out, b...)
}

func frameLen(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// response reads a response header.
func response(c net.Conn) (*alluxiopb.DataResponseHeader, error) {
	var pre [4]byte
	if _, err := io.ReadFull(c, pre[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(pre[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	h := &alluxiopb.DataResponseHeader{}
	return h, proto.Unmarshal(b, h)
}

func mustWrite(t *testing.T, c net.Conn, parts ...[]byte) {
	t.Helper()
	for _, p := range parts {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
}

func wantCode(t *testing.T, c net.Conn, want codes.Code) *alluxiopb.DataResponseHeader {
	t.Helper()
	h, err := response(c)
	if err != nil {
		t.Fatalf("reading the response: %v (want code %v)", err, want)
	}
	if codes.Code(h.GetCode()) != want {
		t.Fatalf("code %v (%s), want %v", codes.Code(h.GetCode()), h.GetMessage(), want)
	}
	return h
}

// The data server stores a written block, commits it, and serves whole and
// partial reads of it on one connection.
func TestDataServerWriteThenRead(t *testing.T) {
	r := serveData(t, 0)
	c := r.dial(t)
	data := make([]byte, 3<<20+12345) // not a multiple of the chunk; ranges of 1 MiB and more are mapped
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 5, SpaceToReserve: 4 << 20}))
	for off := 0; off < len(data); off += 64 << 10 {
		mustWrite(t, c, chunkFrame(data[off:min(off+64<<10, len(data))]))
	}
	mustWrite(t, c, frameLen(0))
	if h := wantCode(t, c, codes.OK); h.GetLength() != int64(len(data)) {
		t.Fatalf("committed %d bytes, want %d", h.GetLength(), len(data))
	}
	if m, ok := r.store.Get(5); !ok || m.Length != int64(len(data)) {
		t.Fatalf("block 5 in store: %+v %v", m, ok)
	}
	for _, rg := range []struct{ off, n int64 }{{0, -1}, {0, 0}, {1, 10}, {int64(len(data)) - 7, 7}, {int64(len(data)), 0}, {100000, 65536}, {1<<20 + 3, 2 << 20}, {4095, 1 << 20}} {
		mustWrite(t, c, request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 5, Offset: rg.off, Length: rg.n}))
		h := wantCode(t, c, codes.OK)
		want := data[rg.off:]
		if rg.n > 0 {
			want = data[rg.off : rg.off+rg.n]
		}
		got := make([]byte, h.GetLength())
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("range %+v: got %d bytes, want %d (equal %v)", rg, len(got), len(want), bytes.Equal(got, want))
		}
	}
}

// TestDataServerWriteTrickledAndCut: chunks larger than the pipe a splice
// goes through (1 MiB), sent in uneven pieces with pauses, are stored byte
// for byte; a client that disconnects inside a chunk leaves no block behind.
func TestDataServerWriteTrickledAndCut(t *testing.T) {
	r := serveData(t, 0)
	data := make([]byte, 5<<20+77)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	c := r.dial(t)
	mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 7, SpaceToReserve: 6 << 20}))
	chunks := []int{3<<20 + 5, 1, 2<<20 + 71} // the first outgrows a splice pipe
	off := 0
	for _, n := range chunks {
		mustWrite(t, c, frameLen(uint32(n)))
		for sent, piece := 0, 1; sent < n; piece = piece*3 + 1 {
			k := min(piece, n-sent)
			mustWrite(t, c, data[off+sent:off+sent+k])
			sent += k
			if piece < 1<<16 {
				time.Sleep(time.Millisecond)
			}
		}
		off += n
	}
	mustWrite(t, c, frameLen(0))
	if h := wantCode(t, c, codes.OK); h.GetLength() != int64(len(data)) {
		t.Fatalf("committed %d bytes, want %d", h.GetLength(), len(data))
	}
	rd, err := r.store.Reader(7)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	_, err = rd.ReadAt(got, 0)
	rd.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored block differs (err %v)", err)
	}

	// Cut inside a chunk: the write is aborted, block 8 never appears.
	c = r.dial(t)
	mustWrite(t, c, request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: 8}), frameLen(2<<20), data[:1<<20+3])
	c.Close()
	poll(t, "the cut write aborted", func() bool {
		return !r.store.Has(8) && r.store.Usage()[0].Used == int64(len(data))
	})
}
