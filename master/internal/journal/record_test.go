package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestRecordFraming(t *testing.T) {
	payload := []byte("hello journal")
	rec := appendRecord(nil, payload)
	if rec[0] != byte(len(payload)) {
		t.Fatalf("length prefix %d", rec[0])
	}
	if got := binary.LittleEndian.Uint32(rec[len(rec)-4:]); got != 0x0 && got != crc(payload) {
		t.Fatalf("crc %x", got)
	}
	for _, tc := range []struct {
		name string
		buf  []byte
		want error
		n    int
	}{
		{"ok", rec, nil, len(rec)},
		{"ok with trailing bytes", append(append([]byte{}, rec...), 1, 2, 3), nil, len(rec)},
		{"empty", nil, errTruncated, 0},
		{"short payload", rec[:5], errTruncated, 0},
		{"short crc", rec[:len(rec)-1], errTruncated, 0},
		{"unterminated varint", []byte{0x80, 0x80}, errTruncated, 0},
		{"zero length", []byte{0, 0, 0, 0, 0}, errBadLength, 0},
		{"huge length", binary.AppendUvarint(nil, 1<<62), errBadLength, 0},
		{"just over cap", binary.AppendUvarint(nil, maxRecordSize+1), errBadLength, 0},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), errBadLength, 0},
		{"crc mismatch", append(append([]byte{}, rec[:len(rec)-1]...), rec[len(rec)-1]^1), errCRCMismatch, len(rec)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, n, err := decodeRecord(tc.buf)
			if !errors.Is(err, tc.want) || n != tc.n {
				t.Fatalf("decodeRecord: n=%d err=%v, want n=%d err=%v", n, err, tc.n, tc.want)
			}
			if err == nil && !bytes.Equal(p, payload) {
				t.Fatalf("payload %q", p)
			}
			rr := newRecordReader(bytes.NewReader(tc.buf), int64(len(tc.buf)))
			p2, _, err2 := rr.next()
			if tc.name == "empty" {
				if err2 != io.EOF {
					t.Fatalf("reader on empty input: %v", err2)
				}
				return
			}
			if !errors.Is(err2, tc.want) || (err2 == nil && !bytes.Equal(p2, payload)) {
				t.Fatalf("reader: %v, want %v", err2, tc.want)
			}
		})
	}
}

func crc(p []byte) uint32 {
	r := appendRecord(nil, p)
	return binary.LittleEndian.Uint32(r[len(r)-4:])
}

// FuzzDecodeRecord checks that record decoding never panics, never reads or
// allocates past its input, and that the slice decoder and the streaming
// reader agree.
func FuzzDecodeRecord(f *testing.F) {
	good := appendRecord(nil, []byte("\x08\x01\x10\x02"))
	f.Add(good)
	f.Add(append(append([]byte{}, good...), good...))
	f.Add(good[:3])
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add(binary.AppendUvarint(nil, maxRecordSize))
	f.Add(bytes.Repeat([]byte{0xff}, 12))
	bad := append([]byte{}, good...)
	bad[len(bad)-1] ^= 0xff
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, n, err := decodeRecord(data)
		if n < 0 || n > len(data) {
			t.Fatalf("n=%d outside input of %d bytes", n, len(data))
		}
		if err == nil {
			if len(p) == 0 || len(p) > maxRecordSize {
				t.Fatalf("payload of %d bytes accepted", len(p))
			}
			if !bytes.Equal(appendRecord(nil, p), data[:n]) {
				// Non-minimal varints decode but re-encode differently;
				// the payload and CRC must still match.
				l, k := binary.Uvarint(data)
				if int(l) != len(p) || k+len(p)+4 != n {
					t.Fatalf("round trip mismatch")
				}
			}
		} else if !isFormatError(err) {
			t.Fatalf("unexpected error %v", err)
		}
		rr := newRecordReader(bytes.NewReader(data), int64(len(data)))
		p2, _, err2 := rr.next()
		if len(data) == 0 {
			if err2 != io.EOF {
				t.Fatalf("reader on empty input: %v", err2)
			}
			return
		}
		if !errors.Is(err2, err) && !(err == nil && err2 == nil) {
			t.Fatalf("decoders disagree: %v vs %v", err, err2)
		}
		if err == nil && !bytes.Equal(p, p2) {
			t.Fatal("decoders returned different payloads")
		}
		if cap(rr.buf) > len(data) {
			t.Fatalf("reader allocated %d bytes for %d of input", cap(rr.buf), len(data))
		}
	})
}
