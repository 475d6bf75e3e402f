package fsmaster

import (
	"context"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// maxPersistPerHeartbeat bounds the PERSIST work handed out at once.
const maxPersistPerHeartbeat = 16

func (m *Master) schedulePersist(id int64) {
	m.pmu.Lock()
	if _, ok := m.persistQ[id]; !ok {
		m.persistQ[id] = &persistJob{}
	}
	m.pmu.Unlock()
}

// PendingPersists is the number of files waiting to be persisted.
func (m *Master) PendingPersists() int {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	return len(m.persistQ)
}

// hooks implements blockmaster.Hooks.
type hooks struct{ m *Master }

func (h hooks) CommitBlockInfo(ctx context.Context, blockID, length int64) error {
	m := h.m
	_, err := m.update(ctx, nil, func(t *txn) error {
		if !m.blockExistsLocked(blockID) {
			return nil
		}
		if _, ok := m.bm.BlockLength(blockID); ok {
			return nil
		}
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_BlockInfo{BlockInfo: &journalpb.BlockInfoEntry{BlockId: blockID, Length: length}}})
	})
	return err
}

func (m *Master) blockExistsLocked(blockID int64) bool {
	n := m.byID[fileIDOfBlock(blockID)]
	return n != nil && !n.isDir() && blockIndex(blockID) < int64(n.nblocks)
}

func (h hooks) BlockExists(blockID int64) bool {
	h.m.mu.RLock()
	defer h.m.mu.RUnlock()
	return h.m.blockExistsLocked(blockID)
}

func (h hooks) PersistCommands(workerID int64) []*alluxiopb.PersistFile {
	m := h.m
	if m.Writable() != nil {
		return nil
	}
	now := m.cfg.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	m.pmu.Lock()
	defer m.pmu.Unlock()
	var out []*alluxiopb.PersistFile
	for id, job := range m.persistQ {
		if len(out) >= maxPersistPerHeartbeat {
			break
		}
		if job.worker != 0 && now.Sub(job.assignedAt) < m.cfg.PersistTimeout {
			continue
		}
		n := m.byID[id]
		if n == nil || n.isDir() || n.persist != uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED) {
			delete(m.persistQ, id)
			continue
		}
		if !n.has(flagCompleted) {
			continue
		}
		ids := n.blockIDs()
		if len(ids) > 0 && !m.bm.WorkerHolds(workerID, ids[0]) {
			continue
		}
		p := pathOf(n)
		_, up := m.resolveLocked(p)
		infos := m.bm.BlockInfos(ids)
		for i, bi := range infos {
			if bi.Length < 0 {
				bi.Length = n.blockLen(int64(i))
			}
		}
		job.worker, job.assignedAt = workerID, now
		out = append(out, &alluxiopb.PersistFile{FileId: id, UfsPath: up, Length: n.length, BlockSizeBytes: n.blockSize,
			Blocks: infos, Mode: int32(n.mode), Owner: n.owner, Group: n.group})
	}
	return out
}

func (h hooks) FilesPersisted(ctx context.Context, workerID int64, persisted []int64, failed map[int64]string) {
	m := h.m
	m.pmu.Lock()
	for id, reason := range failed {
		if job := m.persistQ[id]; job != nil {
			job.worker = 0
		}
		m.log.Warn("worker failed to persist file", "worker_id", workerID, "file_id", id, "reason", reason)
	}
	m.pmu.Unlock()
	if len(persisted) == 0 {
		return
	}
	now := m.cfg.Now().UnixMilli()
	_, err := m.update(ctx, nil, func(t *txn) error {
		for _, id := range persisted {
			n := m.byID[id]
			if n == nil || n.isDir() || n.persisted() {
				continue
			}
			if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_PersistFile{PersistFile: &journalpb.PersistFileEntry{Id: id, OpTimeMs: now}}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		m.log.Error("recording persisted files failed", "err", err)
		return
	}
	m.pmu.Lock()
	for _, id := range persisted {
		delete(m.persistQ, id)
	}
	m.pmu.Unlock()
}
