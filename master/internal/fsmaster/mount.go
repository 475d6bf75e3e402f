package fsmaster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

func (m *Master) sortedMounts() []*mountPoint {
	out := make([]*mountPoint, 0, len(m.mounts))
	for _, mp := range m.mounts {
		out = append(out, mp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// resolveLocked maps a clean Alluxio path to its mount point and UFS path.
func (m *Master) resolveLocked(clean string) (*mountPoint, string) {
	var best *mountPoint
	for _, mp := range m.mounts {
		if pathutil.HasPrefix(clean, mp.path) && (best == nil || len(mp.path) > len(best.path)) {
			best = mp
		}
	}
	if best == nil {
		return nil, ""
	}
	rest := clean
	if best.path != "/" {
		rest = clean[len(best.path):]
	} else if clean == "/" {
		rest = ""
	}
	base := strings.TrimSuffix(best.uri, "/")
	if base == "" && rest == "" {
		return best, "/"
	}
	return best, base + rest
}

// ufsFor returns the (cached) under file system of a mount.
func (m *Master) ufsFor(ctx context.Context, mp *mountPoint) (ufs.UnderFileSystem, error) {
	m.ufsMu.Lock()
	defer m.ufsMu.Unlock()
	if u, ok := m.ufsCache[mp.uri]; ok {
		return u, nil
	}
	u, err := m.cfg.UFS.Open(ctx, mp.uri, mp.props)
	if err != nil {
		return nil, fmt.Errorf("fsmaster: open under file system %q of mount %s: %v: %w", mp.uri, mp.path, err, rpcstatus.ErrFailedPrecondition)
	}
	m.ufsCache[mp.uri] = u
	return u, nil
}

// Close releases the under file systems.
func (m *Master) Close() error {
	m.ufsMu.Lock()
	defer m.ufsMu.Unlock()
	for k, u := range m.ufsCache {
		_ = u.Close()
		delete(m.ufsCache, k)
	}
	return nil
}

// Mount mounts a UFS URI at a new Alluxio directory.
func (m *Master) Mount(ctx context.Context, req *alluxiopb.MountRequest) error {
	p, err := pathutil.Clean(req.GetAlluxioPath())
	if err != nil {
		return err
	}
	if p == "/" {
		return fmt.Errorf("fsmaster: cannot mount over the root: %w", rpcstatus.ErrInvalidArgument)
	}
	if err := validateMount(req); err != nil {
		return err
	}
	loc, _ := parseUFS(req.GetUfsPath())
	probe := &mountPoint{path: p, uri: req.GetUfsPath(), props: req.GetProperties()}
	u, err := m.cfg.UFS.Open(ctx, probe.uri, probe.props)
	if err != nil {
		return fmt.Errorf("fsmaster: mount %s: %v: %w", p, err, rpcstatus.ErrInvalidArgument)
	}
	st, err := u.GetStatus(ctx, probe.uri)
	_ = u.Close()
	switch {
	case errors.Is(err, ufs.ErrNotFound):
		return fmt.Errorf("fsmaster: mount %s: UFS path %q %w", p, probe.uri, rpcstatus.ErrNotFound)
	case errors.Is(err, os.ErrPermission), errors.Is(err, rpcstatus.ErrPermissionDenied):
		return fmt.Errorf("fsmaster: mount %s: UFS path %q: %v: %w", p, probe.uri, err, rpcstatus.ErrPermissionDenied)
	case err != nil:
		// Not retried by clients: a mount is a user's request, answered now.
		return fmt.Errorf("fsmaster: mount %s: UFS path %q: %v: %w", p, probe.uri, err, rpcstatus.ErrFailedPrecondition)
	}
	if !st.IsDir {
		return fmt.Errorf("fsmaster: mount %s: UFS path %q is not a directory: %w", p, probe.uri, rpcstatus.ErrInvalidArgument)
	}
	now := m.cfg.Now().UnixMilli()
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		if m.getLocked(p) != nil {
			return fmt.Errorf("fsmaster: mount point %s already exists: %w", p, rpcstatus.ErrAlreadyExists)
		}
		parent := m.getLocked(pathutil.Parent(p))
		if parent == nil {
			return fmt.Errorf("fsmaster: parent of mount point %s does not exist: %w", p, rpcstatus.ErrNotFound)
		}
		if !parent.isDir() {
			return fmt.Errorf("fsmaster: parent of mount point %s is a file: %w", p, rpcstatus.ErrFailedPrecondition)
		}
		if mp, _ := m.resolveLocked(p); mp != nil && mp.path != "/" {
			return fmt.Errorf("fsmaster: %s lies under mount point %s; nested mounts are not supported: %w", p, mp.path, rpcstatus.ErrFailedPrecondition)
		}
		// Like Alluxio, refuse a UFS path that is, holds or lies inside
		// the UFS path of another mount (the root's included): one UFS
		// file would have two Alluxio paths.
		for _, mp := range m.sortedMounts() {
			other, err := mountedUFS(mp.uri)
			if err != nil || !other.overlaps(loc) {
				continue
			}
			if other == loc {
				return fmt.Errorf("fsmaster: ufs_path %s is already mounted at %s: %w", probe.uri, mp.path, rpcstatus.ErrAlreadyExists)
			}
			return invalidf("ufs_path %s overlaps %s, the UFS of mount point %s", probe.uri, mp.uri, mp.path)
		}
		id := int64(rootMountID)
		for _, mp := range m.mounts {
			id = max(id, mp.id)
		}
		id++
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_AddMountPoint{AddMountPoint: &journalpb.AddMountPointEntry{
			AlluxioPath: p, UfsPath: probe.uri, MountId: id, ReadOnly: req.GetReadOnly(), Properties: req.GetProperties()}}}); err != nil {
			return err
		}
		c, err := t.allocContainer()
		if err != nil {
			return err
		}
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeDirectory{InodeDirectory: &journalpb.InodeDirectoryEntry{
			Id: inodeIDFor(c), ParentId: parent.id, Name: pathutil.Base(p), Mode: int32(st.Mode & 0o7777), Owner: st.Owner, Group: st.Group,
			CreationTimeMs: now, LastModificationTimeMs: now, PersistenceState: persistName(uint8(alluxiopb.PersistenceState_PERSISTED)),
			MountPoint: true, Ttl: -1}}})
	})
	if err == nil {
		m.log.Info("mounted", "alluxio_path", p, "ufs", probe.uri, "read_only", req.GetReadOnly())
	}
	return err
}

// Unmount removes a mount point and its subtree from Alluxio; the UFS is untouched.
func (m *Master) Unmount(ctx context.Context, req *alluxiopb.UnmountRequest) error {
	p, err := pathutil.Clean(req.GetAlluxioPath())
	if err != nil {
		return err
	}
	if p == "/" {
		return fmt.Errorf("fsmaster: cannot unmount the root: %w", rpcstatus.ErrInvalidArgument)
	}
	var blocks []int64
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		if m.mounts[p] == nil {
			return fmt.Errorf("fsmaster: %s is not a mount point: %w", p, rpcstatus.ErrInvalidArgument)
		}
		n := m.getLocked(p)
		if n != nil {
			var err error
			if blocks, err = m.deleteEntriesLocked(t, n, true, nil); err != nil {
				return err
			}
		}
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_DeleteMountPoint{DeleteMountPoint: &journalpb.DeleteMountPointEntry{AlluxioPath: p}}})
	})
	if err == nil {
		m.bm.DeleteBlocks(blocks)
		m.log.Info("unmounted", "alluxio_path", p)
	}
	return err
}

// MountTable lists the mount points.
func (m *Master) MountTable() []*alluxiopb.MountPointInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*alluxiopb.MountPointInfo
	for _, mp := range m.sortedMounts() {
		out = append(out, &alluxiopb.MountPointInfo{AlluxioPath: mp.path, UfsUri: mp.uri, ReadOnly: mp.readOnly, MountId: mp.id, Properties: mp.props})
	}
	return out
}
