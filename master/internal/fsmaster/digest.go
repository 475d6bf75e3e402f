package fsmaster

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// Digest returns the last applied sequence number and a SHA-256 (hex) of
// the journaled state at that sequence number, taken under one lock: the
// entries of the snapshot (inodes, mount table, container generator, block
// lengths, the operation ids remembered for retries), each marshalled
// deterministically, sorted, and hashed length-prefixed. Only journaled
// state is covered (not block locations, worker registrations, pending
// persists or which directories were listed from the UFS), so two masters
// that applied the same journal prefix report the same digest, whether they
// replayed it from a checkpoint, tailed it, or wrote it.
func (m *Master) Digest() (seq int64, digest string, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var recs [][]byte
	mo := proto.MarshalOptions{Deterministic: true}
	if err := m.snapshotLocked(func(e *journalpb.JournalEntry) error {
		b, err := mo.Marshal(e)
		if err != nil {
			return err
		}
		recs = append(recs, b)
		return nil
	}); err != nil {
		return 0, "", fmt.Errorf("fsmaster: digest: %w", err)
	}
	slices.SortFunc(recs, bytes.Compare)
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, r := range recs {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(r)))])
		h.Write(r)
	}
	return m.lastSeq, hex.EncodeToString(h.Sum(nil)), nil
}
