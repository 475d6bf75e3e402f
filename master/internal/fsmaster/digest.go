package fsmaster

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// Digest returns the last applied sequence number and a SHA-256 (hex) of
// the journaled state at that sequence number, taken under one read lock:
// the snapshot's entries (container generator, mount table, inodes in
// tree order with children sorted by name, block lengths by id), each
// marshalled deterministically and hashed length-prefixed, then the
// operation ids remembered for retries, sorted. Only journaled state is
// covered (not block locations, worker registrations, pending persists or
// which directories were listed from the UFS), so two masters that applied
// the same journal prefix report the same digest, whether they replayed it
// from a checkpoint, tailed it, or wrote it. It costs about one snapshot.
func (m *Master) Digest() (seq int64, digest string, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	var buf []byte
	mo := proto.MarshalOptions{Deterministic: true}
	var ops []opKey
	if err := m.snapshotLocked(func(e *journalpb.JournalEntry) error {
		if e.GetEntry() == nil {
			if k, ok := opKeyOf(e.GetOperationId()); ok {
				ops = append(ops, k)
				return nil
			}
		}
		var err error
		if buf, err = mo.MarshalAppend(buf[:0], e); err != nil {
			return err
		}
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(buf)))])
		h.Write(buf)
		return nil
	}); err != nil {
		return 0, "", fmt.Errorf("fsmaster: digest: %w", err)
	}
	slices.SortFunc(ops, func(a, b opKey) int {
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		return cmp.Compare(a.lo, b.lo)
	})
	h.Write([]byte("ops"))
	for _, k := range ops {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], uint64(k.hi))
		binary.LittleEndian.PutUint64(b[8:], uint64(k.lo))
		h.Write(b[:])
	}
	return m.lastSeq, hex.EncodeToString(h.Sum(nil)), nil
}
