package ufs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// scriptConn is a net.Conn that accepts every write and reads from a
// buffer, so the tracker's parser can be fed exact byte streams.
type scriptConn struct {
	net.Conn // nil: only the methods below are used
	in       bytes.Buffer
	closed   bool
}

func (c *scriptConn) Write(b []byte) (int, error) { return len(b), nil }
func (c *scriptConn) Read(b []byte) (int, error)  { return c.in.Read(b) }
func (c *scriptConn) Close() error                { c.closed = true; return nil }

func marshalHDFS(t *testing.T, name string, fields map[string]any) []byte {
	t.Helper()
	m, err := hdfsMessage(name, fields)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func prefixed(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// packet is one data packet as the library writes it.
func packet(t *testing.T, seqno int64, data []byte) []byte {
	h := marshalHDFS(t, "PacketHeaderProto", map[string]any{
		"offsetInBlock": int64(0), "seqno": seqno, "lastPacketInBlock": false, "dataLen": int32(len(data)),
	})
	sums := make([]byte, 4*((len(data)+511)/512))
	out := binary.BigEndian.AppendUint32(nil, uint32(4+len(sums)+len(data)))
	out = binary.BigEndian.AppendUint16(out, uint16(len(h)))
	out = append(out, h...)
	out = append(out, sums...)
	return append(out, data...)
}

func ack(t *testing.T, seqno int64, statuses ...protoreflect.EnumNumber) []byte {
	m, err := hdfsMessage("PipelineAckProto", map[string]any{"seqno": seqno})
	if err != nil {
		t.Fatal(err)
	}
	rm := m.ProtoReflect()
	l := rm.Mutable(rm.Descriptor().Fields().ByName("reply")).List()
	for _, s := range statuses {
		l.Append(protoreflect.ValueOfEnum(s))
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return prefixed(b)
}

// writeRequest is the OpWriteBlock request's bytes.
func writeRequest(t *testing.T) []byte {
	body := marshalHDFS(t, "OpWriteBlockProto", map[string]any{"pipelineSize": uint32(0), "minBytesRcvd": uint64(0),
		"maxBytesRcvd": uint64(0), "latestGenerationStamp": uint64(7)})
	return append([]byte{0x00, dtVersion, opWriteBlock}, prefixed(body)...)
}

// feed sends b through c in chunks of n bytes.
func feedWrites(t *testing.T, c net.Conn, b []byte, n int) {
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := c.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
}

// readAll reads what sc holds through c, n bytes at a time (no EOF).
func readAll(t *testing.T, c net.Conn, sc *scriptConn, n int) {
	buf := make([]byte, n)
	for sc.in.Len() > 0 {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

func dialScript(t *testing.T, tr *ackTracker, sc *scriptConn) net.Conn {
	c, err := tr.wrapDial(func(context.Context, string, string) (net.Conn, error) { return sc, nil })(context.Background(), "tcp", "dn:1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAckTrackerParser feeds the tracker the two directions of a block
// write, split at every byte and in larger chunks: data packets of several
// sizes (one of 64 KiB), heartbeats both ways, then the acks.
func TestAckTrackerParser(t *testing.T) {
	for _, chunk := range []int{1, 2, 3, 7, 100, 1 << 20} {
		tr := newAckTracker()
		sc := &scriptConn{}
		c := dialScript(t, tr, sc)
		var out []byte
		out = append(out, writeRequest(t)...)
		out = append(out, packet(t, 1, bytes.Repeat([]byte("a"), 196))...)
		out = append(out, packet(t, -1, nil)...) // heartbeat
		out = append(out, packet(t, 2, bytes.Repeat([]byte("b"), 65536))...)
		out = append(out, packet(t, 3, []byte("c"))...)
		feedWrites(t, c, out, chunk)
		tr.mu.Lock()
		sent, acked, err := c.(*trackedConn).sent, c.(*trackedConn).acked, c.(*trackedConn).err
		tr.mu.Unlock()
		if sent != 3 || acked != -1 || err != nil {
			t.Fatalf("chunk %d: after the writes sent=%d acked=%d err=%v; want 3, -1, nil", chunk, sent, acked, err)
		}
		if err := tr.waitAcked(time.Now().Add(10 * time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("chunk %d: waitAcked before acks = %v, want a deadline error", chunk, err)
		}
		sc.in.Write(prefixed(marshalHDFS(t, "BlockOpResponseProto", map[string]any{"status": protoreflect.EnumNumber(0)})))
		sc.in.Write(ack(t, 1, 0))
		sc.in.Write(ack(t, -1, 0)) // heartbeat ack
		sc.in.Write(ack(t, 2, 0, 0))
		readAll(t, c, sc, chunk)
		tr.mu.Lock()
		acked = c.(*trackedConn).acked
		tr.mu.Unlock()
		if acked != 2 {
			t.Fatalf("chunk %d: acked=%d, want 2", chunk, acked)
		}
		done := make(chan error, 1)
		go func() { done <- tr.waitAcked(time.Now().Add(10 * time.Second)) }()
		sc.in.Write(ack(t, 3, 0))
		readAll(t, c, sc, chunk)
		if err := <-done; err != nil {
			t.Fatalf("chunk %d: waitAcked after the last ack: %v", chunk, err)
		}
	}
}

func TestAckTrackerFailures(t *testing.T) {
	t.Run("negative ack", func(t *testing.T) {
		tr := newAckTracker()
		sc := &scriptConn{}
		c := dialScript(t, tr, sc)
		feedWrites(t, c, append(writeRequest(t), packet(t, 1, []byte("x"))...), 1)
		sc.in.Write(prefixed(marshalHDFS(t, "BlockOpResponseProto", map[string]any{"status": protoreflect.EnumNumber(0)})))
		sc.in.Write(ack(t, 1, 0, 1)) // the second DataNode: ERROR
		readAll(t, c, sc, 1)
		if err := tr.waitAcked(time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "DataNode 1") {
			t.Fatalf("waitAcked = %v, want the second DataNode's error", err)
		}
	})
	t.Run("refused set-up", func(t *testing.T) {
		tr := newAckTracker()
		sc := &scriptConn{}
		c := dialScript(t, tr, sc)
		feedWrites(t, c, append(writeRequest(t), packet(t, 1, []byte("x"))...), 5)
		sc.in.Write(prefixed(marshalHDFS(t, "BlockOpResponseProto", map[string]any{"status": protoreflect.EnumNumber(1), "message": "gone"})))
		readAll(t, c, sc, 3)
		if err := tr.waitAcked(time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "gone") {
			t.Fatalf("waitAcked = %v, want the refusal", err)
		}
	})
	t.Run("closed unacknowledged", func(t *testing.T) {
		tr := newAckTracker()
		c := dialScript(t, tr, &scriptConn{})
		feedWrites(t, c, append(writeRequest(t), packet(t, 1, []byte("x"))...), 1)
		c.Close()
		if err := tr.waitAcked(time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "unacknowledged") {
			t.Fatalf("waitAcked = %v, want the closed pipeline", err)
		}
	})
	t.Run("connection reset", func(t *testing.T) {
		tr := newAckTracker()
		sc := &scriptConn{}
		c := dialScript(t, tr, sc)
		feedWrites(t, c, append(writeRequest(t), packet(t, 1, []byte("x"))...), 1)
		if _, err := c.Read(make([]byte, 1)); err != io.EOF { // EOF with the packet unacknowledged
			t.Fatalf("read = %v", err)
		}
		if err := tr.waitAcked(time.Now().Add(time.Second)); !errors.Is(err, io.EOF) {
			t.Fatalf("waitAcked = %v, want EOF", err)
		}
	})
	t.Run("newest connection and reads", func(t *testing.T) {
		tr := newAckTracker()
		old := dialScript(t, tr, &scriptConn{})
		feedWrites(t, old, append(writeRequest(t), packet(t, 1, []byte("x"))...), 1)
		// A read connection is not tracked.
		rd := dialScript(t, tr, &scriptConn{})
		feedWrites(t, rd, []byte{0x00, dtVersion, 0x51, 3, 1, 2, 3}, 1)
		// A SASL connection (magic number first) cannot be tracked.
		sasl := dialScript(t, tr, &scriptConn{})
		feedWrites(t, sasl, []byte{0xde, 0xad, 0xbe, 0xef}, 1)
		if err := tr.waitAcked(time.Now().Add(time.Second)); !errors.Is(err, errUntracked) {
			t.Fatalf("waitAcked = %v, want errUntracked", err)
		}
		sc := &scriptConn{}
		nw := dialScript(t, tr, sc)
		feedWrites(t, nw, append(writeRequest(t), packet(t, 1, []byte("y"))...), 2)
		sc.in.Write(prefixed(marshalHDFS(t, "BlockOpResponseProto", map[string]any{"status": protoreflect.EnumNumber(0)})))
		sc.in.Write(ack(t, 1, 0))
		readAll(t, nw, sc, 2)
		if err := tr.waitAcked(time.Now().Add(time.Second)); err != nil {
			t.Fatalf("waitAcked on the newest connection = %v", err)
		}
	})
}
