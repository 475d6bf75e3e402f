// Package datacodec is the gRPC codec of the block data streams, shared by
// the client and the worker: protobuf on the wire, with a copy-free path for
// the messages that carry one chunk of block data.
package datacodec

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
// Sending, the chunk's buffer goes to the transport behind a two-to-six-byte
// field header instead of being marshalled into a new buffer. Receiving, the
// chunk is handed over as the transport's frame buffers (about 16 KiB each)
// instead of being gathered into one buffer and copied once more by
// proto.Unmarshal (the worker writes a block file from them with one writev;
// the client copies them into the reader's buffer). Every other message goes
// through the stock codec. The data RPCs select it with grpc.ForceCodecV2 on
// the client and grpc.ForceServerCodecV2 on the worker.
type Codec struct {
	proto encoding.CodecV2
}

// New returns the data codec.
func New() Codec {
	return Codec{proto: encoding.GetCodecV2(protoenc.Name)}
}

// Name is protobuf's codec name: the wire format is protobuf's.
func (Codec) Name() string { return protoenc.Name }

// Out is a message of one bytes field (number Field) holding Buf. The codec
// takes its own reference to Buf; the sender frees its reference after SendMsg.
type Out struct {
	Field protowire.Number
	Buf   mem.Buffer
}

// In receives a message of one bytes field (number Field). When the message
// is that field alone (as every sender produces), Segs holds the field's bytes
// as views of Bufs, which the receiver must Free once done; otherwise the
// message is unmarshalled into Msg and Segs is nil.
type In struct {
	Field protowire.Number
	Msg   proto.Message
	Segs  [][]byte
	Bufs  mem.BufferSlice
}

// Free releases the received buffers.
func (m *In) Free() {
	m.Bufs.Free()
	m.Bufs, m.Segs = nil, nil
}

// Len is the number of chunk bytes received on the copy-free path.
func (m *In) Len() int {
	n := 0
	for _, s := range m.Segs {
		n += len(s)
	}
	return n
}

// Marshal sends an *Out without copying its buffer; other messages as protobuf.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*Out)
	if !ok {
		return c.proto.Marshal(v)
	}
	hdr := protowire.AppendTag(make([]byte, 0, 16), m.Field, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(m.Buf.Len()))
	m.Buf.Ref()
	return mem.BufferSlice{mem.SliceBuffer(hdr), m.Buf}, nil
}

// Unmarshal receives an *In on the copy-free path when it can; other
// messages as protobuf.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*In)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	m.Segs, m.Bufs = nil, nil
	if skip, ok := chunkHeader(data, m.Field); ok {
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
		m.Segs, m.Bufs = segs, data
		return nil
	}
	if err := c.proto.Unmarshal(data, m.Msg); err != nil {
		return fmt.Errorf("datacodec: unmarshal %T: %w", m.Msg, err)
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

// Pool is a mem.BufferPool of buffers of power-of-two capacities that,
// unlike gRPC's pools, are not zeroed on Get: every user here overwrites
// all it takes (a chunk is filled before it is sent, a frame buffer by
// the transport's read of the frame), and clearing a 1 MiB
// buffer costs as much as copying it.
type Pool struct {
	tiers [maxPoolTier + 1]sync.Pool
}

// maxPoolTier is log2 of the largest pooled buffer (64 MiB: a whole block chunk).
const maxPoolTier = 26

// Get returns a buffer of length n.
func (p *Pool) Get(n int) *[]byte {
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

// Put returns a buffer from Get to the pool.
func (p *Pool) Put(b *[]byte) {
	c := cap(*b)
	if c == 0 || c&(c-1) != 0 || bits.Len(uint(c))-1 > maxPoolTier {
		return
	}
	p.tiers[bits.Len(uint(c))-1].Put(b)
}
