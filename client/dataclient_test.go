package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// startFakeDataServer speaks the worker data server's protocol; handle
// answers each request.
func startFakeDataServer(t *testing.T, handle func(c net.Conn, op byte, hdr []byte)) WorkerAddress {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var pre [5]byte
					if _, err := io.ReadFull(c, pre[:]); err != nil {
						return
					}
					hdr := make([]byte, binary.BigEndian.Uint32(pre[1:]))
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					handle(c, pre[0], hdr)
				}
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	return WorkerAddress{Host: "127.0.0.1", RPCPort: 1, DataPort: port}
}

func answer(c net.Conn, code codes.Code, msg string, length int64) {
	b, _ := proto.Marshal(&pb.DataResponseHeader{Code: int32(code), Message: msg, Length: length})
	c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	c.Write(b)
}

func dataFS(t *testing.T, kv map[string]string) *FileSystem {
	t.Helper()
	cfg, err := conf.FromMap(kv)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFromConfig(context.Background(), cfg, WithMasterAddress("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestUseDataTransport(t *testing.T) {
	w := WorkerAddress{Host: "h", RPCPort: 1, DataPort: 2}
	if !dataFS(t, nil).useData(w) {
		t.Error("AUTO does not use an advertised data port")
	}
	if dataFS(t, map[string]string{"alluxio.user.data.transport": "grpc"}).useData(w) {
		t.Error("GRPC uses the data port")
	}
	for _, p := range []int{0, -1, 70000} {
		if dataFS(t, nil).useData(WorkerAddress{Host: "h", RPCPort: 1, DataPort: p}) {
			t.Errorf("data port %d used", p)
		}
	}
}

func TestDataRead(t *testing.T) {
	data := randomBytes(stripeMin+stripe/2+5, 3)
	var requests atomic.Int64
	w := startFakeDataServer(t, func(c net.Conn, op byte, hdr []byte) {
		req := &pb.ReadBlockRequest{}
		if op != dataOpRead || proto.Unmarshal(hdr, req) != nil {
			answer(c, codes.InvalidArgument, "bad request", 0)
			return
		}
		requests.Add(1)
		switch req.GetBlockId() {
		case 1:
			end := req.GetOffset() + req.GetLength()
			answer(c, codes.OK, "", req.GetLength())
			c.Write(data[req.GetOffset():end])
		case 2:
			answer(c, codes.NotFound, "block 2: does not exist", 0)
		case 3: // promises more than it sends
			answer(c, codes.OK, "", 1000)
			c.Write(data[:10])
			c.Close()
		}
	})
	f := dataFS(t, nil)
	ctx := context.Background()

	src, err := f.openDataRead(ctx, w, &pb.ReadBlockRequest{BlockId: 1, Offset: 5, Length: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(src)
	src.Close()
	if err != nil || !bytes.Equal(got, data[5:5+200<<10]) {
		t.Fatalf("read %d bytes, err %v; equal %v", len(got), err, bytes.Equal(got, data[5:5+200<<10]))
	}

	_, err = f.openDataRead(ctx, w, &pb.ReadBlockRequest{BlockId: 2})
	if !errors.Is(err, rpcstatus.ErrNotFound) || fallBack(err) {
		t.Errorf("missing block: %v (fall back %v), want NotFound without fallback", err, fallBack(err))
	}

	src, err = f.openDataRead(ctx, w, &pb.ReadBlockRequest{BlockId: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(src)
	src.Close()
	if !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Errorf("truncated read: %v, want ErrUnavailable (another source is tried)", err)
	}

	// A long range is read in slices over two connections.
	requests.Store(0)
	src, err = f.openDataRead(ctx, w, &pb.ReadBlockRequest{BlockId: 1, Offset: 3, Length: int64(len(data)) - 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(src)
	src.Close()
	if err != nil || !bytes.Equal(got, data[3:]) {
		t.Fatalf("striped read: %d bytes, err %v; equal %v", len(got), err, bytes.Equal(got, data[3:]))
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("striped read of %d bytes made %d requests, want 3", len(data)-3, n)
	}

	// Nothing listens: the caller falls back to gRPC.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = f.openDataRead(ctx, WorkerAddress{Host: "127.0.0.1", RPCPort: 1, DataPort: port}, &pb.ReadBlockRequest{BlockId: 1})
	if !fallBack(err) {
		t.Errorf("refused data port: %v, want a fallback error", err)
	}
	if f.useData(WorkerAddress{Host: "127.0.0.1", RPCPort: 1, DataPort: port}) {
		t.Error("a data port that just refused a connection is used again at once")
	}
}

// Reads end promptly when the reader's context ends.
func TestDataReadCanceled(t *testing.T) {
	w := startFakeDataServer(t, func(c net.Conn, op byte, hdr []byte) {
		answer(c, codes.OK, "", 1<<20)
		c.Write(make([]byte, 10))
		io.Copy(io.Discard, c) // stalls until the client hangs up
	})
	ctx, cancel := context.WithCancel(context.Background())
	src, err := dataFS(t, nil).openDataRead(ctx, w, &pb.ReadBlockRequest{BlockId: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.ReadAll(src)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("read after cancel: %v after %v", err, time.Since(start))
	}
}

func TestDataWrite(t *testing.T) {
	got := make(chan []byte, 1)
	w := startFakeDataServer(t, func(c net.Conn, op byte, hdr []byte) {
		h := &pb.WriteBlockHeader{}
		if op != dataOpWrite || proto.Unmarshal(hdr, h) != nil {
			answer(c, codes.InvalidArgument, "bad request", 0)
			return
		}
		if h.GetBlockId() == 9 {
			answer(c, codes.ResourceExhausted, "no room for block 9", 0)
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
			return
		}
		var buf bytes.Buffer
		for {
			var pre [4]byte
			if _, err := io.ReadFull(c, pre[:]); err != nil {
				return
			}
			n := binary.BigEndian.Uint32(pre[:])
			if n == 0 {
				answer(c, codes.OK, "", int64(buf.Len()))
				got <- buf.Bytes()
				return
			}
			if n == dataCancel {
				answer(c, codes.Canceled, "canceled", 0)
				return
			}
			io.CopyN(&buf, c, int64(n))
		}
	})
	f := dataFS(t, nil)
	ctx := context.Background()
	data := randomBytes(3<<20+17, 4)
	bw, err := f.openDataWrite(ctx, w, &pb.WriteBlockHeader{BlockId: 1})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 1 << 20 {
		if err := bw.write(data[off:min(off+1<<20, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := endAndAnswer(bw)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("commit: %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("server got %d bytes, not the data", len(b))
	}

	// A refusal reaches the writer as the worker's error.
	bw, err = f.openDataWrite(ctx, w, &pb.WriteBlockHeader{BlockId: 9})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 64 && werr == nil; i++ {
		werr = bw.write(make([]byte, 1<<20))
	}
	if werr == nil {
		_, werr = endAndAnswer(bw)
	} else {
		bw.abort()
	}
	if !errors.Is(werr, rpcstatus.ErrResourceExhausted) {
		t.Fatalf("refused write: %v, want ResourceExhausted", werr)
	}
}

// endAndAnswer ends a block and waits for the worker's verdict.
func endAndAnswer(bw *dataBlockWriter) (int64, error) {
	if err := bw.end(); err != nil {
		return 0, err
	}
	return bw.answer(0)
}

// TestDataWriteEndDoesNotWaitForTheCommit: end returns once the end marker
// is sent, while the worker still commits; answer then brings the worker's
// verdict, a failed commit included.
func TestDataWriteEndDoesNotWaitForTheCommit(t *testing.T) {
	release := make(chan struct{})
	w := startFakeDataServer(t, func(c net.Conn, op byte, hdr []byte) {
		for {
			var pre [4]byte
			if _, err := io.ReadFull(c, pre[:]); err != nil {
				return
			}
			n := binary.BigEndian.Uint32(pre[:])
			if n == 0 {
				break
			}
			if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
				return
			}
		}
		<-release // the commit takes its time, then fails
		answer(c, codes.Unavailable, "master unreachable", 0)
	})
	f := dataFS(t, nil)
	bw, err := f.openDataWrite(context.Background(), w, &pb.WriteBlockHeader{BlockId: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := bw.write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- bw.end() }()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("end: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("end waited for the worker's commit")
	}
	close(release)
	if _, err := bw.answer(0); !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("answer after a failed commit = %v, want Unavailable", err)
	}
}
