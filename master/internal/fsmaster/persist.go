package fsmaster

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/common/ufs"

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

func (h hooks) CommitBlockInfos(ctx context.Context, lengths map[int64]int64) error {
	m := h.m
	ids := make([]int64, 0, len(lengths))
	for id := range lengths {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	_, err := m.update(ctx, nil, func(t *txn) error {
		for _, id := range ids {
			n := m.blockFileLocked(id)
			if n == nil {
				continue
			}
			if _, ok := m.bm.BlockLength(id); ok {
				continue
			}
			if lengths[id] > n.blockSize {
				m.log.Warn("block length beyond its file's block size ignored", "block", id, "length", lengths[id], "block_size", n.blockSize)
				continue
			}
			if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_BlockInfo{BlockInfo: &journalpb.BlockInfoEntry{BlockId: id, Length: lengths[id]}}}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// blockFileLocked returns the live file that owns blockID, or nil.
func (m *Master) blockFileLocked(blockID int64) *inode {
	n := m.byID[fileIDOfBlock(blockID)]
	if n == nil || n.isDir() || blockIndex(blockID) >= int64(n.nblocks) {
		return nil
	}
	return n
}

func (h hooks) BlockSize(blockID int64) (int64, bool) {
	h.m.mu.RLock()
	defer h.m.mu.RUnlock()
	if n := h.m.blockFileLocked(blockID); n != nil {
		return n.blockSize, true
	}
	return 0, false
}

// splitBatch is how many block ids PartitionLive looks up per acquisition of
// the namespace's read lock.
const splitBatch = 1 << 14

func (h hooks) PartitionLive(ids []int64) int {
	m := h.m
	live := 0
	for start := 0; start < len(ids); start += splitBatch {
		m.mu.RLock()
		// Reports list a file's blocks together: remember the last file.
		lastFile, lastN := int64(-1), (*inode)(nil)
		for i := start; i < min(start+splitBatch, len(ids)); i++ {
			b := ids[i]
			if f := fileIDOfBlock(b); f != lastFile {
				lastFile, lastN = f, m.byID[f]
			}
			if lastN != nil && !lastN.isDir() && blockIndex(b) < int64(lastN.nblocks) {
				ids[live], ids[i] = b, ids[live]
				live++
			}
		}
		m.mu.RUnlock()
	}
	return live
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
		if job.ufsPath != "" {
			delete(m.inflight, job.ufsPath)
		}
		job.worker, job.assignedAt, job.ufsPath = workerID, now, up
		m.inflight[up] = id
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
			delete(m.inflight, job.ufsPath)
		}
		m.log.Warn("worker failed to persist file", "worker_id", workerID, "file_id", id, "reason", reason)
	}
	jobs := make(map[int64]persistJob, len(persisted))
	for _, id := range persisted {
		if job := m.persistQ[id]; job != nil {
			jobs[id] = *job
		}
	}
	m.pmu.Unlock()
	if len(persisted) == 0 {
		return
	}
	var ok []int64
	for _, id := range persisted {
		settled := m.settlePersisted(ctx, id, jobs[id].ufsPath)
		m.pmu.Lock()
		if w := jobs[id].ufsPath; w != "" && m.inflight[w] == id {
			delete(m.inflight, w)
		}
		m.pmu.Unlock()
		if settled {
			ok = append(ok, id)
		} else {
			m.pmu.Lock()
			if job := m.persistQ[id]; job != nil {
				job.worker = 0 // try again
			}
			m.pmu.Unlock()
		}
	}
	now := m.cfg.Now().UnixMilli()
	_, err := m.update(ctx, nil, func(t *txn) error {
		for _, id := range ok {
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
		if job := m.persistQ[id]; job != nil && job.worker != 0 {
			delete(m.persistQ, id)
		}
	}
	m.pmu.Unlock()
}

// settlePersisted makes sure a file a worker reports persisted is in the UFS
// at the file's current path: a file renamed while it was being persisted is
// moved there; the copy of a file deleted meanwhile is removed. It reports
// whether the file may be marked PERSISTED.
func (m *Master) settlePersisted(ctx context.Context, id int64, wrote string) bool {
	m.mu.RLock()
	n := m.byID[id]
	var p, cur string
	var mp *mountPoint
	var length int64
	var inUse bool
	if n != nil && !n.isDir() {
		p = pathOf(n)
		mp, cur = m.resolveLocked(p)
		length = n.length
	}
	if n == nil && wrote != "" {
		// Is the written path now another inode's?
		for _, x := range m.mounts {
			if strings.HasPrefix(wrote, strings.TrimSuffix(x.uri, "/")) {
				rel := strings.TrimPrefix(wrote, strings.TrimSuffix(x.uri, "/"))
				if other := m.getLocked(pathutil.Join(x.path, strings.TrimPrefix(rel, "/"))); other != nil && other.persisted() {
					inUse = true
				}
				mp = x
			}
		}
	}
	m.mu.RUnlock()
	if mp == nil {
		return false
	}
	u, err := m.ufsFor(ctx, mp)
	if err != nil {
		return false
	}
	if n == nil || n.isDir() {
		if wrote != "" && !inUse {
			if err := u.Delete(ctx, wrote, false); err != nil && !errors.Is(err, ufs.ErrNotFound) {
				m.log.Warn("removing the UFS copy of a file deleted while it was persisted", "ufs_path", wrote, "err", err)
			}
		}
		return false
	}
	if wrote != "" && wrote != cur {
		if i := strings.LastIndexByte(cur, '/'); i > 0 {
			_ = u.Mkdirs(ctx, cur[:i], 0o755)
		}
		if err := u.Rename(ctx, wrote, cur); err != nil {
			m.log.Warn("moving a file renamed while it was persisted", "from", wrote, "to", cur, "err", err)
			return false
		}
		m.log.Info("file was renamed while persisted; moved its UFS copy", "from", wrote, "to", cur)
	}
	st, err := u.GetStatus(ctx, cur)
	if err != nil || st.IsDir || st.Length != length {
		m.log.Warn("worker reported a file persisted, but the UFS disagrees", "path", p, "ufs_path", cur, "err", err, "ufs_length", st.Length, "length", length)
		return false
	}
	return true
}

// persistTarget reports whether a UFS path is being written by a PERSIST job.
func (m *Master) persistTarget(ufsPath string) bool {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	_, ok := m.inflight[ufsPath]
	return ok
}
