package ufs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// github.com/colinmarc/hdfs/v2 sends a file's bytes to the DataNodes'
// pipeline as packets and reads the DataNodes' acknowledgements in the
// background, but does not say when a packet was acknowledged: its Flush
// sends the buffered bytes and returns. An hflush (every byte written so
// far received by every DataNode of the pipeline) needs exactly that, so an
// HDFSLogWriter's client dials DataNodes through an ackTracker: it wraps
// each connection in a trackedConn that reads both directions of the data
// transfer protocol as they pass, without changing a byte:
//
//	client -> DataNode: version (2 bytes, 0x001c), op (1 byte, 0x50 =
//	  WRITE_BLOCK), varint length + OpWriteBlockProto; then packets:
//	  payload length PLEN (uint32, big endian, counting itself), header
//	  length (uint16), PacketHeaderProto (seqno, lastPacketInBlock, ...),
//	  PLEN-4 bytes of checksums and data. Heartbeats have seqno -1.
//	DataNode -> client: varint length + BlockOpResponseProto (the pipeline
//	  set-up), then varint length + PipelineAckProto per acknowledged
//	  packet (seqno, one status per DataNode of the pipeline; -1 for
//	  heartbeats).
//
// A connection that starts with another op (a block read) is passed
// through untouched. The tracker follows the newest WRITE_BLOCK connection:
// the library finishes a full block (waiting for all its acks) before it
// dials the pipeline of the next one.

const (
	dtVersion    = 0x001c // DataTransferProtocol.DATA_TRANSFER_VERSION
	opWriteBlock = 0x50
	ackHeartbeat = -1
	maxVarintLen = 10
	// maxDTMessage bounds a varint-prefixed message or a packet header
	// the parser accepts; anything larger is not the protocol it expects.
	maxDTMessage = 1 << 20
)

// errUntracked is a DataNode connection whose bytes the tracker cannot
// read (e.g. SASL-wrapped, encrypted data transfer).
var errUntracked = errors.New("ufs: hdfs DataNode connection does not speak the expected data transfer protocol (encrypted data transfer is not supported for hflush)")

// ackTracker records, for the newest block-write connection dialled
// through it, the highest packet seqno sent and the highest acknowledged
// by every DataNode, and lets a caller wait until they meet.
type ackTracker struct {
	mu   sync.Mutex
	cond *sync.Cond
	cur  *trackedConn // newest WRITE_BLOCK connection; nil before the first
}

func newAckTracker() *ackTracker {
	t := &ackTracker{}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// wrapDial returns dial whose connections are tracked.
func (t *ackTracker) wrapDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &trackedConn{Conn: c, t: t, addr: addr, w: dtParser{state: wsHeader, need: 3}, sent: -1, acked: -1}, nil
	}
}

// waitAcked waits until every packet sent on the newest block-write
// connection is acknowledged by every DataNode of its pipeline, at most
// until deadline. It fails on a negative acknowledgement, a connection
// that failed or was closed with packets unacknowledged, and at deadline.
func (t *ackTracker) waitAcked(deadline time.Time) error {
	timedOut := false
	timer := time.AfterFunc(time.Until(deadline), func() {
		t.mu.Lock()
		timedOut = true
		t.mu.Unlock()
		t.cond.Broadcast()
	})
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		c := t.cur
		switch {
		case c == nil:
			return nil // nothing sent yet
		case c.err != nil:
			return c.err
		case c.acked >= c.sent:
			return nil
		case c.closed:
			return fmt.Errorf("ufs: hdfs pipeline to %s closed with packets %d..%d unacknowledged", c.addr, c.acked+1, c.sent)
		case timedOut:
			return fmt.Errorf("ufs: hdfs pipeline to %s: packets %d..%d not acknowledged in time: %w", c.addr, c.acked+1, c.sent, context.DeadlineExceeded)
		}
		t.cond.Wait()
	}
}

// failed returns the DataNode address of the newest block-write connection
// when it failed or has packets unacknowledged (closed with them, or
// waitAcked gave up on them), else "". The library finishes a block (every
// packet acknowledged) before it asks the NameNode for the next, so a
// failure with packets outstanding is the pipeline's.
func (t *ackTracker) failed() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.cur; c != nil && (c.err != nil || c.acked < c.sent) {
		return c.addr
	}
	return ""
}

// failCurrent closes the newest block-write connection (ends a pipeline
// that is being abandoned, so the library's goroutines on it return).
func (t *ackTracker) failCurrent() {
	t.mu.Lock()
	c := t.cur
	t.mu.Unlock()
	if c != nil {
		c.Conn.Close()
	}
}

// dtParser splits one direction of a data transfer connection into its
// pieces, fed bytes at arbitrary boundaries.
type dtParser struct {
	need  int    // bytes still wanted for the current piece
	buf   []byte // the current piece so far (not for skipped bodies)
	skip  bool   // the current piece is skipped, not buffered
	state int
	aux   int // the state's number (packet length, ...)
}

// Write-side states.
const (
	wsHeader    = iota // version + op, 3 bytes
	wsOpLen            // varint length of the OpWriteBlockProto
	wsOpBody           // the OpWriteBlockProto (skipped)
	wsPktPrefix        // PLEN (4) + header length (2)
	wsPktHeader        // PacketHeaderProto
	wsPktBody          // checksums + data (skipped)
	wsPass             // not a block write: nothing more parsed
)

// Read-side states.
const (
	rsLen  = iota // varint length
	rsBody        // the message
)

// trackedConn is a DataNode connection read by its ackTracker.
type trackedConn struct {
	net.Conn
	t    *ackTracker
	addr string

	// Guarded by t.mu.
	w, r   dtParser
	rsAcks bool  // the BlockOpResponseProto was read: acks follow
	write  bool  // a WRITE_BLOCK connection
	pass   bool  // not tracked (a read)
	sent   int64 // highest data seqno sent, -1 before the first
	acked  int64 // highest seqno acknowledged by every DataNode
	err    error // the first failure
	closed bool
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.t.mu.Lock()
	if !c.pass {
		c.parseWrite(b[:n])
		if err != nil && c.err == nil && c.write {
			c.err = fmt.Errorf("ufs: hdfs pipeline to %s: write: %w", c.addr, err)
		}
	}
	c.t.mu.Unlock()
	c.t.cond.Broadcast()
	return n, err
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.mu.Lock()
	if !c.pass && c.write {
		c.parseRead(b[:n])
		if err != nil && c.err == nil && !c.closed {
			c.err = fmt.Errorf("ufs: hdfs pipeline to %s: read acknowledgements: %w", c.addr, err)
		}
	}
	c.t.mu.Unlock()
	c.t.cond.Broadcast()
	return n, err
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	c.closed = true
	c.t.mu.Unlock()
	c.t.cond.Broadcast()
	return c.Conn.Close()
}

// setErr records the first failure; the caller holds t.mu.
func (c *trackedConn) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// feed appends up to p.need bytes of b to the current piece; it returns
// the bytes consumed and whether the piece is complete.
func (p *dtParser) feed(b []byte) (int, bool) {
	k := min(p.need, len(b))
	if !p.skip {
		p.buf = append(p.buf, b[:k]...)
	}
	p.need -= k
	return k, p.need == 0
}

// expect starts a piece of n bytes.
func (p *dtParser) expect(state, n int, skip bool) {
	p.state, p.need, p.skip, p.buf = state, n, skip, p.buf[:0]
}

// varint consumes bytes of a varint from b; done reports the value.
func (p *dtParser) varint(b []byte) (used int, v uint64, done bool, err error) {
	for used < len(b) {
		p.buf = append(p.buf, b[used])
		used++
		if p.buf[len(p.buf)-1] < 0x80 {
			v, n := binary.Uvarint(p.buf)
			if n <= 0 || v > maxDTMessage {
				return used, 0, false, fmt.Errorf("bad message length")
			}
			return used, v, true, nil
		}
		if len(p.buf) >= maxVarintLen {
			return used, 0, false, fmt.Errorf("bad varint")
		}
	}
	return used, 0, false, nil
}

// parseWrite follows the client's side; the caller holds t.mu.
func (c *trackedConn) parseWrite(b []byte) {
	p := &c.w
	for len(b) > 0 && !c.pass && c.err == nil {
		switch p.state {
		case wsHeader:
			k, done := p.feed(b)
			b = b[k:]
			if !done {
				continue
			}
			if binary.BigEndian.Uint16(p.buf) != dtVersion {
				// Not the plain protocol (SASL starts with a magic
				// number): nothing can be tracked on this connection.
				c.write = true
				c.t.cur = c
				c.setErr(errUntracked)
				return
			}
			if p.buf[2] != opWriteBlock {
				c.pass = true
				return
			}
			c.write = true
			c.t.cur = c
			p.expect(wsOpLen, 0, false)
		case wsOpLen:
			k, v, done, err := p.varint(b)
			b = b[k:]
			if err != nil {
				c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: write request: %v: %w", c.addr, err, errUntracked))
				return
			}
			if done {
				p.expect(wsOpBody, int(v), true)
				if v == 0 {
					p.expect(wsPktPrefix, 6, false)
				}
			}
		case wsOpBody:
			k, done := p.feed(b)
			b = b[k:]
			if done {
				p.expect(wsPktPrefix, 6, false)
			}
		case wsPktPrefix:
			k, done := p.feed(b)
			b = b[k:]
			if !done {
				continue
			}
			plen := int(binary.BigEndian.Uint32(p.buf))
			hlen := int(binary.BigEndian.Uint16(p.buf[4:]))
			if plen < 4 || hlen > maxDTMessage {
				c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: bad packet lengths %d/%d: %w", c.addr, plen, hlen, errUntracked))
				return
			}
			p.aux = plen - 4
			p.expect(wsPktHeader, hlen, false)
		case wsPktHeader:
			k, done := p.feed(b)
			b = b[k:]
			if !done {
				continue
			}
			seqno, err := packetSeqno(p.buf)
			if err != nil {
				c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: packet header: %v: %w", c.addr, err, errUntracked))
				return
			}
			if seqno != ackHeartbeat && seqno > c.sent {
				c.sent = seqno
			}
			p.expect(wsPktBody, p.aux, true)
			if p.aux == 0 {
				p.expect(wsPktPrefix, 6, false)
			}
		case wsPktBody:
			k, done := p.feed(b)
			b = b[k:]
			if done {
				p.expect(wsPktPrefix, 6, false)
			}
		}
	}
}

// parseRead follows the DataNode's side; the caller holds t.mu.
func (c *trackedConn) parseRead(b []byte) {
	p := &c.r
	for len(b) > 0 && c.err == nil {
		switch p.state {
		case rsLen:
			k, v, done, err := p.varint(b)
			b = b[k:]
			if err != nil {
				c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: response: %v: %w", c.addr, err, errUntracked))
				return
			}
			if done {
				p.expect(rsBody, int(v), false)
				if v == 0 {
					c.response(nil)
					p.expect(rsLen, 0, false)
				}
			}
		case rsBody:
			k, done := p.feed(b)
			b = b[k:]
			if done {
				c.response(p.buf)
				p.expect(rsLen, 0, false)
			}
		}
	}
}

// response handles one message from the DataNode: the pipeline set-up's
// answer, then acknowledgements.
func (c *trackedConn) response(msg []byte) {
	if !c.rsAcks {
		c.rsAcks = true
		m, err := unmarshalHDFS("BlockOpResponseProto", msg)
		if err != nil {
			c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: %v: %w", c.addr, err, errUntracked))
			return
		}
		if st := enumField(m, "status"); st != "SUCCESS" {
			c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: set-up refused: %s (%s)", c.addr, st, stringField(m, "message")))
		}
		return
	}
	m, err := unmarshalHDFS("PipelineAckProto", msg)
	if err != nil {
		c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: %v: %w", c.addr, err, errUntracked))
		return
	}
	seqno := m.Get(m.Descriptor().Fields().ByName("seqno")).Int()
	replies := m.Get(m.Descriptor().Fields().ByName("reply")).List()
	for i := 0; i < replies.Len(); i++ {
		if st := replies.Get(i).Enum(); st != 0 { // 0 = SUCCESS
			name := fmt.Sprint(st)
			if ev := m.Descriptor().Fields().ByName("reply").Enum().Values().ByNumber(st); ev != nil {
				name = string(ev.Name())
			}
			c.setErr(fmt.Errorf("ufs: hdfs pipeline to %s: DataNode %d of the pipeline answered %s for packet %d", c.addr, i, name, seqno))
			return
		}
	}
	if seqno != ackHeartbeat && seqno > c.acked {
		c.acked = seqno
	}
}

// packetSeqno reads the seqno of a PacketHeaderProto.
func packetSeqno(b []byte) (int64, error) {
	m, err := unmarshalHDFS("PacketHeaderProto", b)
	if err != nil {
		return 0, err
	}
	return m.Get(m.Descriptor().Fields().ByName("seqno")).Int(), nil
}

// unmarshalHDFS parses b as the message hadoop.hdfs.<name>.
func unmarshalHDFS(name string, b []byte) (protoreflect.Message, error) {
	m, err := hdfsMessage(name, nil)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m.ProtoReflect(), nil
}

func enumField(m protoreflect.Message, name string) string {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Enum() == nil {
		return ""
	}
	if ev := fd.Enum().Values().ByNumber(m.Get(fd).Enum()); ev != nil {
		return string(ev.Name())
	}
	return fmt.Sprint(m.Get(fd).Enum())
}

func stringField(m protoreflect.Message, name string) string {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(fd).String()
}
