package fsmaster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// infoLocked builds the FileInfo of an attached inode.
func (m *Master) infoLocked(n *inode, path string) *alluxiopb.FileInfo {
	mp, up := m.resolveLocked(path)
	fi := &alluxiopb.FileInfo{
		FileId: n.id, Name: n.name, Path: path, UfsPath: up,
		Length: n.length, BlockSizeBytes: n.blockSize, CreationTimeMs: n.ctime,
		Completed: n.isDir() || n.has(flagCompleted), Folder: n.isDir(), Pinned: n.has(flagPinned),
		Cacheable: n.has(flagCacheable), Persisted: n.persisted(), LastModificationTimeMs: n.mtime,
		LastAccessTimeMs: n.mtime, Ttl: n.ttl, TtlAction: ttlActions[n.ttlAction], Owner: n.owner, Group: n.group,
		Mode: int32(n.mode), PersistenceState: persistName(n.persist), MountPoint: n.has(flagMountPoint),
	}
	if mp != nil {
		fi.MountId = mp.id
	}
	if n.parent != nil {
		fi.ParentId = n.parent.id
	} else {
		fi.ParentId = -1
	}
	if n.isDir() {
		fi.ChildCount = int64(len(n.children))
		fi.Length = 0
		return fi
	}
	fi.BlockIds = n.blockIDs()
	infos := m.bm.BlockInfos(fi.BlockIds)
	var cached int64
	for i, bi := range infos {
		if bl := n.blockLen(int64(i)); bi.Length < 0 || (n.has(flagCompleted) && bi.Length > bl) {
			bi.Length = bl
		}
		if len(bi.Locations) > 0 {
			cached += bi.Length
		}
		fi.FileBlockInfos = append(fi.FileBlockInfos, &alluxiopb.FileBlockInfo{BlockInfo: bi, Offset: int64(i) * n.blockSize})
	}
	switch {
	case n.length > 0:
		fi.InAlluxioPercentage = int32(min(cached*100/n.length, 100))
	case n.has(flagCompleted):
		fi.InAlluxioPercentage = 100
	}
	return fi
}

// statusOf returns the FileInfo of an existing path.
func (m *Master) statusOf(p string) (*alluxiopb.FileInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.getLocked(p)
	if n == nil {
		return nil, notFound(p)
	}
	return m.infoLocked(n, p), nil
}

// GetStatus describes a path, loading it from the UFS when Alluxio does not
// know it yet.
func (m *Master) GetStatus(ctx context.Context, path string) (*alluxiopb.FileInfo, error) {
	p, err := pathutil.Clean(path)
	if err != nil {
		return nil, err
	}
	fi, err := m.statusOf(p)
	if err == nil || !errors.Is(err, rpcstatus.ErrNotFound) {
		return fi, err
	}
	if err := m.loadPath(ctx, p); err != nil {
		return nil, err
	}
	return m.statusOf(p)
}

// ListStatus calls send with batches of FileInfos of the directory's
// children (or the file itself), depth first when recursive.
func (m *Master) ListStatus(ctx context.Context, path string, recursive bool, batch int, send func([]*alluxiopb.FileInfo) error) error {
	p, err := pathutil.Clean(path)
	if err != nil {
		return err
	}
	if batch <= 0 {
		batch = 1000
	}
	if _, err := m.GetStatus(ctx, p); err != nil {
		return err
	}
	var buf []*alluxiopb.FileInfo
	flushBuf := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := send(buf)
		buf = nil
		return err
	}
	m.mu.RLock()
	n := m.getLocked(p)
	if n != nil && !n.isDir() {
		buf = append(buf, m.infoLocked(n, p))
	}
	m.mu.RUnlock()
	if n == nil {
		return notFound(p)
	}
	if len(buf) > 0 {
		return flushBuf()
	}
	// Depth first, children in name order; the lock is taken per entry so
	// a long listing never blocks writers for long.
	var listDir func(dir string) error
	listDir = func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.loadChildren(ctx, dir); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// Serve what Alluxio knows; the UFS listing is retried next time.
			m.log.Warn("loading directory listing from the UFS failed", "path", dir, "err", err)
		}
		m.mu.RLock()
		d := m.getLocked(dir)
		var names []string
		if d != nil && d.isDir() {
			for _, c := range d.sortedChildren() {
				names = append(names, c.name)
			}
		}
		m.mu.RUnlock()
		for _, name := range names {
			cp := pathutil.Join(dir, name)
			m.mu.RLock()
			c := m.getLocked(cp)
			var isDir bool
			if c != nil {
				isDir = c.isDir()
				buf = append(buf, m.infoLocked(c, cp))
			}
			m.mu.RUnlock()
			if c == nil {
				continue // removed while listing
			}
			if len(buf) >= batch {
				if err := flushBuf(); err != nil {
					return err
				}
			}
			if recursive && isDir {
				if err := listDir(cp); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := listDir(p); err != nil {
		return err
	}
	return flushBuf()
}

// loadPath creates inodes for a path that exists in the UFS but not in
// Alluxio (and its missing ancestors). NotFound when the UFS lacks it too.
func (m *Master) loadPath(ctx context.Context, p string) error {
	m.mu.RLock()
	n, comps, i := m.lookupLocked(p)
	isFile := !n.isDir()
	persisted := n.persisted()
	var mp *mountPoint
	if !isFile {
		mp, _ = m.resolveLocked(p)
	}
	m.mu.RUnlock()
	if isFile || i == len(comps) || mp == nil || !persisted || hasUfsTempComponent(p) {
		return notFound(p) // (a UFS write's temporary file is never a file)
	}
	u, err := m.ufsFor(ctx, mp)
	if err != nil {
		return err
	}
	m.mu.RLock()
	_, target := m.resolveLocked(p)
	inFlux := m.ufsPathPendingLocked(target)
	m.mu.RUnlock()
	if m.persistTarget(target) || inFlux {
		// A file renamed while being persisted, or a UFS path a pending
		// rename or deletion moves away: not a new file.
		return notFound(p)
	}
	// Describe every missing component in the UFS.
	var sts []ufs.Status
	cur := pathOfComps(comps[:i])
	for _, c := range comps[i:] {
		cur = pathutil.Join(cur, c)
		m.mu.RLock()
		_, up := m.resolveLocked(cur)
		m.mu.RUnlock()
		st, err := u.GetStatus(ctx, up)
		if err != nil {
			if errors.Is(err, ufs.ErrNotFound) {
				return notFound(p)
			}
			return fmt.Errorf("fsmaster: load metadata of %s from UFS %s: %v: %w", cur, up, err, rpcstatus.ErrUnavailable)
		}
		st.Name = c
		sts = append(sts, st)
	}
	_, err = m.update(ctx, nil, func(t *txn) error {
		n, comps, i := m.lookupLocked(p)
		if i == len(comps) {
			return nil // loaded concurrently
		}
		if !n.isDir() {
			return notFound(p)
		}
		for _, st := range sts[len(sts)-(len(comps)-i):] {
			var err error
			if n, err = m.loadEntryLocked(t, n, st); err != nil {
				return err
			}
			if n == nil {
				return notFound(p)
			}
		}
		return nil
	})
	return err
}

func pathOfComps(comps []string) string {
	p := "/"
	for _, c := range comps {
		p = pathutil.Join(p, c)
	}
	return p
}

// loadEntryLocked journals one inode for a UFS status under parent and
// returns it (nil when a file would need children).
func (m *Master) loadEntryLocked(t *txn, parent *inode, st ufs.Status) (*inode, error) {
	if !parent.isDir() {
		return nil, nil
	}
	c, err := t.allocContainer()
	if err != nil {
		return nil, err
	}
	id := inodeIDFor(c)
	ms := st.ModTime.UnixMilli()
	if st.ModTime.IsZero() {
		ms = m.cfg.Now().UnixMilli()
	}
	mode := int32(st.Mode & 0o7777)
	if st.IsDir {
		if mode == 0 {
			mode = 0o755
		}
		err = t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeDirectory{InodeDirectory: &journalpb.InodeDirectoryEntry{
			Id: id, ParentId: parent.id, Name: st.Name, Owner: st.Owner, Group: st.Group, Mode: mode,
			CreationTimeMs: ms, LastModificationTimeMs: ms, PersistenceState: persistedName, Ttl: -1}}})
	} else {
		if mode == 0 {
			mode = 0o644
		}
		bs := m.cfg.DefaultBlockSize
		nb := (st.Length + bs - 1) / bs
		if nb > maxBlocks {
			return nil, fmt.Errorf("fsmaster: UFS file %s is too large: %w", st.Name, rpcstatus.ErrResourceExhausted)
		}
		ids := make([]int64, nb)
		for i := range ids {
			ids[i] = blockIDFor(id, int64(i))
		}
		err = t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeFile{InodeFile: &journalpb.InodeFileEntry{
			Id: id, ParentId: parent.id, Name: st.Name, Owner: st.Owner, Group: st.Group, Mode: mode,
			CreationTimeMs: ms, LastModificationTimeMs: ms, PersistenceState: persistedName, BlockSizeBytes: bs,
			Length: st.Length, Completed: true, BlockIds: ids, Ttl: -1, TtlAction: "DELETE", Cacheable: true}}})
	}
	if err != nil {
		return nil, err
	}
	return m.byID[id], nil
}

// loadChildren merges a persisted directory's UFS listing into Alluxio once
// per master lifetime.
func (m *Master) loadChildren(ctx context.Context, dir string) error {
	m.mu.RLock()
	n := m.getLocked(dir)
	need := n != nil && n.isDir() && n.persisted() && !n.has(flagChildrenLoaded)
	mp, up := m.resolveLocked(dir)
	m.mu.RUnlock()
	if !need || mp == nil {
		return nil
	}
	if m.Writable() != nil {
		return nil // a standby or broken master serves what it has
	}
	u, err := m.ufsFor(ctx, mp)
	if err != nil {
		return err
	}
	sts, err := u.List(ctx, up)
	if err != nil && !errors.Is(err, ufs.ErrNotFound) {
		return fmt.Errorf("fsmaster: list %s in UFS %s: %v: %w", dir, up, err, rpcstatus.ErrUnavailable)
	}
	_, err = m.update(ctx, nil, func(t *txn) error {
		n := m.getLocked(dir)
		if n == nil || !n.isDir() {
			return nil
		}
		for _, st := range sts {
			if st.Name == "" || n.children[st.Name] != nil || isUfsTempName(st.Name) {
				continue
			}
			child := strings.TrimSuffix(up, "/") + "/" + st.Name
			if m.persistTarget(child) || m.ufsPathPendingLocked(child) {
				continue
			}
			if _, err := pathutil.Clean("/" + st.Name); err != nil {
				continue // a UFS name Alluxio cannot represent
			}
			if _, err := m.loadEntryLocked(t, n, st); err != nil {
				return err
			}
		}
		n.set(flagChildrenLoaded, true)
		return nil
	})
	return err
}
