package client

import (
	"fmt"
	"math/bits"
	"sync"

	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The data codec is the protobuf codec with a copy-free path for the data
// messages: a chunk is a message whose only field is one bytes field
// (ReadBlockResponse.chunk, WriteBlockRequest.chunk, WriteUfsFileRequest.chunk).
// The bytes on the wire are exactly protobuf's, so either end may use the
// stock codec.
//
// Sending (FileWriter), the chunk's buffer goes to the transport behind a
// two-to-six-byte field header instead of being marshalled into a new buffer.
// Receiving (block reads), the chunk is handed over as the transport's frame
// buffers (about 16 KiB each) instead of being gathered into one buffer and
// copied once more by proto.Unmarshal; Read copies from them into the
// caller's buffer. Every other message goes through the stock codec. The
// data RPCs select it with grpc.ForceCodecV2; the worker's server uses the
// same codec (worker/internal/server/codec.go).
type dataCodec struct {
	proto encoding.CodecV2
}

func newDataCodec() dataCodec {
	return dataCodec{proto: encoding.GetCodecV2(protoenc.Name)}
}

func (dataCodec) Name() string { return protoenc.Name }

// outChunk is a message of one bytes field holding buf. The codec takes its
// own reference to buf; the sender frees its reference after SendMsg.
type outChunk struct {
	field protowire.Number
	buf   mem.Buffer
}

// inChunk receives a message of one bytes field. When the message is that
// field alone (as every sender produces), segs holds the field's bytes as
// views of bufs, which the receiver must Free once done; otherwise the
// message is unmarshalled into msg and segs is nil.
type inChunk struct {
	field protowire.Number
	msg   proto.Message
	segs  [][]byte
	bufs  mem.BufferSlice
}

// free releases the received buffers.
func (m *inChunk) free() {
	m.bufs.Free()
	m.bufs, m.segs = nil, nil
}

// len is the number of chunk bytes received on the fast path.
func (m *inChunk) len() int {
	n := 0
	for _, s := range m.segs {
		n += len(s)
	}
	return n
}

func (c dataCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*outChunk)
	if !ok {
		return c.proto.Marshal(v)
	}
	hdr := protowire.AppendTag(make([]byte, 0, 16), m.field, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(m.buf.Len()))
	m.buf.Ref()
	return mem.BufferSlice{mem.SliceBuffer(hdr), m.buf}, nil
}

func (c dataCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*inChunk)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	m.segs, m.bufs = nil, nil
	if skip, ok := chunkHeader(data, m.field); ok {
		segs := make([][]byte, 0, len(data))
		for _, b := range data {
			d := b.ReadOnlyData()
			if skip >= len(d) {
				skip -= len(d)
				continue
			}
			segs = append(segs, d[skip:])
			skip = 0
		}
		data.Ref() // gRPC frees data when Unmarshal returns
		m.segs, m.bufs = segs, data
		return nil
	}
	if err := c.proto.Unmarshal(data, m.msg); err != nil {
		return fmt.Errorf("client: unmarshal %T: %w", m.msg, err)
	}
	return nil
}

// chunkHeader reports whether data is exactly one length-delimited field
// numbered field whose bytes run to the end of data, and the length of the
// field's tag and length prefix.
func chunkHeader(data mem.BufferSlice, field protowire.Number) (int, bool) {
	var head [2 * binaryMaxVarint]byte
	n := 0
	for _, b := range data {
		n += copy(head[n:], b.ReadOnlyData())
		if n == len(head) {
			break
		}
	}
	num, typ, tagLen := protowire.ConsumeTag(head[:n])
	if tagLen < 0 || num != field || typ != protowire.BytesType {
		return 0, false
	}
	length, lenLen := protowire.ConsumeVarint(head[tagLen:n])
	if lenLen < 0 {
		return 0, false
	}
	hdr := tagLen + lenLen
	if uint64(data.Len()-hdr) != length {
		return 0, false
	}
	return hdr, true
}

const binaryMaxVarint = 10

// chunkPool is a mem.BufferPool of buffers of power-of-two capacities that,
// unlike gRPC's pools, are not zeroed on Get: every user here overwrites
// all it takes (a write chunk is filled before it is sent, a frame buffer
// by the transport's read of the frame), and clearing a 1 MiB
// buffer costs as much as copying it.
type chunkPool struct {
	tiers [maxPoolTier + 1]sync.Pool
}

// maxPoolTier is log2 of the largest pooled buffer (the worker's largest chunk).
const maxPoolTier = 26

func (p *chunkPool) Get(n int) *[]byte {
	t := bits.Len(uint(max(n, 1) - 1)) // the smallest power of two >= n
	if t > maxPoolTier {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<t)
	return &b
}

func (p *chunkPool) Put(b *[]byte) {
	c := cap(*b)
	if c == 0 || c&(c-1) != 0 || bits.Len(uint(c))-1 > maxPoolTier {
		return
	}
	p.tiers[bits.Len(uint(c))-1].Put(b)
}
