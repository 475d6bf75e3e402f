package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// maxRecordSize caps the payload of one record. A length prefix above it is
// reported as a bad length instead of being allocated.
const maxRecordSize = 64 << 20

// crcTable is the Castagnoli (CRC-32C) table; read-only after init.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Decoding errors. They describe a single record; callers add the file and
// offset.
var (
	errTruncated   = errors.New("truncated record")
	errBadLength   = errors.New("bad record length")
	errCRCMismatch = errors.New("crc mismatch")
)

// appendRecord appends the framing of payload to dst:
// uvarint(len(payload)) | payload | crc32c(payload) little endian.
func appendRecord(dst, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, crcTable))
}

// decodeRecord decodes the first record of buf. It returns the payload (a
// sub-slice of buf) and the number of bytes the record occupies. Errors are
// errTruncated (buf ends inside the record), errBadLength (zero, oversized or
// malformed length) and errCRCMismatch (n is then the record's full size).
func decodeRecord(buf []byte) (payload []byte, n int, err error) {
	l, k := binary.Uvarint(buf)
	switch {
	case k == 0 && len(buf) >= binary.MaxVarintLen64:
		return nil, 0, errBadLength // ten continuation bytes: can never be valid
	case k == 0:
		return nil, 0, errTruncated
	case k < 0:
		return nil, 0, errBadLength
	case l == 0 || l > maxRecordSize:
		return nil, 0, errBadLength
	}
	end := k + int(l) + 4
	if len(buf) < end {
		return nil, 0, errTruncated
	}
	payload = buf[k : k+int(l)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(buf[k+int(l):end]) {
		return nil, end, errCRCMismatch
	}
	return payload, end, nil
}

// recordReader reads framed records from a stream of known size, tracking
// the byte offset of each record. It never allocates more than the bytes
// that remain in the stream.
type recordReader struct {
	r      *bufio.Reader
	off    int64 // offset of the next record
	remain int64 // bytes left in the stream after off
	buf    []byte
}

func newRecordReader(r io.Reader, size int64) *recordReader {
	// Small reads (a tailing reader picking up a few new records) get a
	// small buffer.
	return &recordReader{r: bufio.NewReaderSize(r, int(min(size, 256<<10))), remain: size}
}

// next returns the next record's payload (valid until the following call)
// and its offset. At a clean end of stream it returns io.EOF. On a decoding
// error the reader must not be used again except after errCRCMismatch, where
// the whole record was consumed and next may continue with the record after.
func (rr *recordReader) next() (payload []byte, off int64, err error) {
	off = rr.off
	if rr.remain <= 0 {
		return nil, off, io.EOF
	}
	var l uint64
	var shift uint
	hdr := 0
	for {
		if int64(hdr) >= rr.remain {
			return nil, off, errTruncated
		}
		b, err := rr.r.ReadByte()
		if err != nil {
			return nil, off, readErr(err)
		}
		hdr++
		if hdr > binary.MaxVarintLen64 || (hdr == binary.MaxVarintLen64 && b > 1) {
			return nil, off, errBadLength
		}
		l |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
		shift += 7
	}
	if l == 0 || l > maxRecordSize {
		return nil, off, errBadLength
	}
	total := int64(hdr) + int64(l) + 4
	if total > rr.remain {
		return nil, off, errTruncated
	}
	need := int(l) + 4
	if cap(rr.buf) < need {
		rr.buf = make([]byte, need)
	}
	buf := rr.buf[:need]
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		return nil, off, readErr(err)
	}
	rr.off += total
	rr.remain -= total
	payload = buf[:l]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(buf[l:]) {
		return nil, off, errCRCMismatch
	}
	return payload, off, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return fmt.Errorf("read: %w", err)
}

// isFormatError reports whether err is a decoding error (as opposed to an
// I/O error from the underlying file).
func isFormatError(err error) bool {
	return errors.Is(err, errTruncated) || errors.Is(err, errBadLength) || errors.Is(err, errCRCMismatch)
}
