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

func throughType(wt alluxiopb.WriteType) bool {
	return wt == alluxiopb.WriteType_CACHE_THROUGH || wt == alluxiopb.WriteType_THROUGH || wt == alluxiopb.WriteType_ASYNC_THROUGH
}

var persistedName = alluxiopb.PersistenceState_PERSISTED.String()

func notFound(p string) error {
	return fmt.Errorf("fsmaster: path %s %w", p, rpcstatus.ErrNotFound)
}

// mkdirsEntriesLocked journals directories for comps[from:to] under parent
// and returns the last one.
func (m *Master) mkdirsLocked(t *txn, parent *inode, names []string, mode int32, owner, group, persist string, now int64) (*inode, error) {
	for _, name := range names {
		c, err := t.allocContainer()
		if err != nil {
			return nil, err
		}
		id := inodeIDFor(c)
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeDirectory{InodeDirectory: &journalpb.InodeDirectoryEntry{
			Id: id, ParentId: parent.id, Name: name, Owner: owner, Group: group, Mode: mode,
			CreationTimeMs: now, LastModificationTimeMs: now, PersistenceState: persist, Ttl: -1}}}); err != nil {
			return nil, err
		}
		parent = m.byID[id]
	}
	return parent, nil
}

// ufsOf returns the UFS and UFS path of a clean Alluxio path.
func (m *Master) ufsOf(ctx context.Context, clean string) (ufs.UnderFileSystem, string, *mountPoint, error) {
	m.mu.RLock()
	mp, up := m.resolveLocked(clean)
	m.mu.RUnlock()
	if mp == nil {
		return nil, "", nil, fmt.Errorf("fsmaster: no mount point for %s: %w", clean, rpcstatus.ErrInternal)
	}
	u, err := m.ufsFor(ctx, mp)
	return u, up, mp, err
}

// CreateDirectory creates a directory (and missing parents when recursive).
func (m *Master) CreateDirectory(ctx context.Context, req *alluxiopb.CreateDirectoryRequest) (*alluxiopb.FileInfo, error) {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	if err := validateCreateDirectory(req); err != nil {
		return nil, err
	}
	mode := req.GetMode()
	if mode == 0 {
		mode = 0o755
	}
	// check validates the request against the tree; done reports an
	// existing directory that allow_exists accepts.
	check := func() (done bool, err error) {
		n, comps, i := m.lookupLocked(p)
		if i == len(comps) {
			if req.GetAllowExists() && n.isDir() {
				return true, nil
			}
			return false, fmt.Errorf("fsmaster: %s %w", p, rpcstatus.ErrAlreadyExists)
		}
		if !n.isDir() {
			return false, fmt.Errorf("fsmaster: %s is a file, cannot create %s under it: %w", pathOf(n), p, rpcstatus.ErrFailedPrecondition)
		}
		if i < len(comps)-1 && !req.GetRecursive() {
			return false, fmt.Errorf("fsmaster: parent of %s does not exist (use recursive): %w", p, rpcstatus.ErrNotFound)
		}
		return false, nil
	}
	m.mu.RLock()
	done, err := check()
	m.mu.RUnlock()
	if err != nil {
		// A retry of a create that was applied answers success (once durable).
		if dup, ferr := m.update(ctx, req.GetOperationId(), func(*txn) error { return err }); dup {
			if ferr != nil {
				return nil, ferr
			}
			return m.statusOf(p)
		}
		return nil, err
	}
	if done {
		return m.statusOf(p)
	}
	persist := persistName(0)
	if throughType(req.GetWriteType()) {
		u, up, mp, err := m.ufsOf(ctx, p)
		if err != nil {
			return nil, err
		}
		if mp.readOnly {
			return nil, fmt.Errorf("fsmaster: mount %s is read-only: %w", mp.path, rpcstatus.ErrPermissionDenied)
		}
		if err := u.Mkdirs(ctx, up, uint32(mode)); err != nil {
			return nil, ufsErr(err, "create directory %s in the UFS (%s)", p, up)
		}
		persist = persistedName
	}
	now := m.cfg.Now().UnixMilli()
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		if done, err := check(); done || err != nil {
			return err
		}
		n, comps, i := m.lookupLocked(p)
		_, err := m.mkdirsLocked(t, n, comps[i:], mode, req.GetOwner(), req.GetGroup(), persist, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.statusOf(p)
}

// CreateFile creates an incomplete file.
func (m *Master) CreateFile(ctx context.Context, req *alluxiopb.CreateFileRequest) (*alluxiopb.FileInfo, error) {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return nil, err
	}
	if err := validateCreateFile(req); err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, fmt.Errorf("fsmaster: / %w", rpcstatus.ErrAlreadyExists)
	}
	bs := req.GetBlockSizeBytes()
	if bs == 0 {
		bs = m.cfg.DefaultBlockSize
	}
	mode := req.GetMode()
	if mode == 0 {
		mode = 0o644
	}
	wt := req.GetWriteType()
	persist := persistName(0)
	dirPersist := persistName(0)
	if wt == alluxiopb.WriteType_ASYNC_THROUGH {
		persist = alluxiopb.PersistenceState_TO_BE_PERSISTED.String()
	}
	m.mu.RLock()
	n, missing := m.walkLocked(p)
	switch {
	case missing == 0 && (!req.GetOverwrite() || n.isDir()):
		err = fmt.Errorf("fsmaster: %s %w", p, rpcstatus.ErrAlreadyExists)
	case missing > 1 && !req.GetRecursive():
		err = fmt.Errorf("fsmaster: parent of %s does not exist (use recursive): %w", p, rpcstatus.ErrNotFound)
	}
	m.mu.RUnlock()
	if err != nil {
		// A retry of a create that was applied answers success (once durable).
		if dup, ferr := m.update(ctx, req.GetOperationId(), func(*txn) error { return err }); dup {
			if ferr != nil {
				return nil, ferr
			}
			return m.statusOf(p)
		}
		return nil, err
	}
	if throughType(wt) {
		// Missing parents of a through-written file are created in the UFS too.
		u, up, mp, err := m.ufsOf(ctx, pathutil.Parent(p))
		if err != nil {
			return nil, err
		}
		if !mp.readOnly {
			if err := u.Mkdirs(ctx, up, 0o755); err == nil {
				dirPersist = persistedName
			}
		}
	}
	ttl := req.GetTtl()
	if ttl == 0 {
		ttl = noTTL
	}
	now := m.cfg.Now().UnixMilli()
	var deleted []int64
	var fi *alluxiopb.FileInfo
	dup, err := m.update(ctx, req.GetOperationId(), func(t *txn) error {
		n, missing := m.walkLocked(p)
		if missing == 0 {
			if !req.GetOverwrite() || n.isDir() {
				return fmt.Errorf("fsmaster: %s %w", p, rpcstatus.ErrAlreadyExists)
			}
			parent := n.parent
			var err error
			if deleted, err = m.deleteEntriesLocked(t, n, false, nil); err != nil {
				return err
			}
			n, missing = parent, 1
		}
		if !n.isDir() {
			return fmt.Errorf("fsmaster: %s is a file, cannot create %s under it: %w", pathOf(n), p, rpcstatus.ErrFailedPrecondition)
		}
		if missing > 1 {
			if !req.GetRecursive() {
				return fmt.Errorf("fsmaster: parent of %s does not exist (use recursive): %w", p, rpcstatus.ErrNotFound)
			}
			comps := pathutil.Components(p)
			var err error
			if n, err = m.mkdirsLocked(t, n, comps[len(comps)-missing:len(comps)-1], 0o755, req.GetOwner(), req.GetGroup(), dirPersist, now); err != nil {
				return err
			}
		}
		c, err := t.allocContainer()
		if err != nil {
			return err
		}
		id := inodeIDFor(c)
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeFile{InodeFile: &journalpb.InodeFileEntry{
			Id: id, ParentId: n.id, Name: p[strings.LastIndexByte(p, '/')+1:], Owner: req.GetOwner(), Group: req.GetGroup(), Mode: mode,
			CreationTimeMs: now, LastModificationTimeMs: now, PersistenceState: persist, BlockSizeBytes: bs,
			Ttl: ttl, TtlAction: "DELETE", Cacheable: true, CacheOnly: wt == alluxiopb.WriteType_MUST_CACHE}}}); err != nil {
			return err
		}
		// The reply describes the file as this mutation made it (built
		// here, under the lock, rather than by walking the path again).
		fi = m.infoLocked(m.byID[id], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(deleted) > 0 {
		m.bm.DeleteBlocks(deleted)
	}
	if dup || fi == nil {
		return m.statusOf(p)
	}
	return fi, nil
}

// GetNewBlockID allocates the next block of an incomplete file.
func (m *Master) GetNewBlockID(ctx context.Context, path string) (int64, error) {
	p, err := pathutil.Clean(path)
	if err != nil {
		return 0, err
	}
	var id int64
	_, err = m.update(ctx, nil, func(t *txn) error {
		n, err := m.incompleteFileLocked(p)
		if err != nil {
			return err
		}
		if int64(n.nblocks) >= maxBlocks {
			return fmt.Errorf("fsmaster: %s has the maximum number of blocks: %w", p, rpcstatus.ErrResourceExhausted)
		}
		id = blockIDFor(n.id, int64(n.nblocks))
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_NewBlock{NewBlock: &journalpb.NewBlockEntry{FileId: n.id, BlockId: id}}})
	})
	return id, err
}

// CompleteFile marks a file complete with its final length.
func (m *Master) CompleteFile(ctx context.Context, req *alluxiopb.CompleteFileRequest) error {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return err
	}
	if err := validateCompleteFile(req); err != nil {
		return err
	}
	length := req.GetLength()
	// A file written through to the UFS is persisted: the client says so
	// with ufs_length, or the UFS file is there with the file's length. A
	// file created MUST_CACHE has nothing in the UFS: it is not looked for.
	// The UFS is not called under the lock: the first attempt stops with
	// errCheckUFS when the file needs the check, which is then made before
	// the second.
	inUFS := req.GetUfsLength() > 0
	checked := inUFS
	now := m.cfg.Now().UnixMilli()
	var async int64
	for {
		_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
			return m.completeLocked(t, p, length, inUFS, checked, now, &async)
		})
		if checked || !errors.Is(err, errCheckUFS) {
			break
		}
		inUFS, checked = m.inUFS(ctx, p, length), true
	}
	if err == nil && async != 0 {
		m.schedulePersist(async)
	}
	return err
}

// incompleteFileLocked returns the file at clean path p if it exists and is
// not completed yet (what getting a new block and completing need).
func (m *Master) incompleteFileLocked(p string) (*inode, error) {
	n := m.getLocked(p)
	if n == nil {
		return nil, notFound(p)
	}
	if n.isDir() {
		return nil, fmt.Errorf("fsmaster: %s is a directory: %w", p, rpcstatus.ErrInvalidArgument)
	}
	if n.has(flagCompleted) {
		return nil, fmt.Errorf("fsmaster: %s is already completed: %w", p, rpcstatus.ErrFailedPrecondition)
	}
	return n, nil
}

// errCheckUFS stops a CompleteFile attempt that needs to know whether the
// UFS holds the file.
var errCheckUFS = errors.New("fsmaster: completion needs a UFS check")

// inUFS tells whether the UFS holds a file at p with the given length.
func (m *Master) inUFS(ctx context.Context, p string, length int64) bool {
	u, up, _, err := m.ufsOf(ctx, p)
	if err != nil {
		return false
	}
	st, err := u.GetStatus(ctx, up)
	return err == nil && !st.IsDir && st.Length == length
}

// completeLocked journals the completion of file p (CompleteFile). checked
// says whether inUFS was determined; if not and the file may be in the
// UFS, it returns errCheckUFS. A file waiting for asynchronous persistence
// is returned in *async.
func (m *Master) completeLocked(t *txn, p string, length int64, inUFS, checked bool, now int64, async *int64) error {
	n, err := m.incompleteFileLocked(p)
	if err != nil {
		return err
	}
	if !checked && !n.has(flagCacheOnly) {
		return errCheckUFS
	}
	nb := (length + n.blockSize - 1) / n.blockSize
	if nb > maxBlocks {
		return fmt.Errorf("fsmaster: %s: length %d needs too many blocks: %w", p, length, rpcstatus.ErrInvalidArgument)
	}
	ids := make([]int64, nb)
	var committed int64
	for i := range ids {
		ids[i] = blockIDFor(n.id, int64(i))
		if l, ok := m.bm.BlockLength(ids[i]); ok {
			committed += l
		}
	}
	if !inUFS && committed != length {
		// The bytes must be in Alluxio (committed blocks) or in the UFS.
		return fmt.Errorf("fsmaster: %s: committed blocks hold %d bytes, not %d: %w", p, committed, length, rpcstatus.ErrFailedPrecondition)
	}
	if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_CompleteFile{CompleteFile: &journalpb.CompleteFileEntry{
		Id: n.id, Length: length, BlockIds: ids, OpTimeMs: now}}}); err != nil {
		return err
	}
	switch {
	case inUFS && !n.persisted():
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_PersistFile{PersistFile: &journalpb.PersistFileEntry{Id: n.id, OpTimeMs: now}}})
	case n.persist == uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED):
		*async = n.id
	}
	return nil
}

// deleteEntriesLocked journals the deletion of n's subtree (blocks first)
// and returns every block id of the deleted files.
// uop, if not nil, is the UFS deletion the entry implies.
func (m *Master) deleteEntriesLocked(t *txn, n *inode, unmount bool, uop *journalpb.UfsOperation) ([]int64, error) {
	var blocks []int64
	err := walk(n, func(c *inode) error {
		if c.has(flagMountPoint) && !(unmount && c == n) {
			return fmt.Errorf("fsmaster: %s is a mount point; unmount it first: %w", pathOf(c), rpcstatus.ErrFailedPrecondition)
		}
		if !c.isDir() {
			blocks = append(blocks, c.blockIDs()...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if _, ok := m.bm.BlockLength(b); ok {
			if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_DeleteBlock{DeleteBlock: &journalpb.DeleteBlockEntry{BlockId: b}}}); err != nil {
				return nil, err
			}
		}
	}
	return blocks, t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_DeleteFile{DeleteFile: &journalpb.DeleteFileEntry{
		Id: n.id, Recursive: n.isDir(), OpTimeMs: m.cfg.Now().UnixMilli(), UfsOp: uop}}})
}

// Remove deletes a file or directory; persisted paths are deleted from the
// UFS too unless alluxio_only. The UFS deletion is journaled with the
// namespace change and performed once that is durable (ufsops.go).
func (m *Master) Remove(ctx context.Context, req *alluxiopb.DeleteRequest) error {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return err
	}
	if p == "/" {
		return fmt.Errorf("fsmaster: cannot delete the root: %w", rpcstatus.ErrInvalidArgument)
	}
	// A directory that is empty in Alluxio but not in the UFS (children
	// never loaded) is not deleted without recursive: check before the
	// namespace changes, outside the lock.
	if !req.GetRecursive() && !req.GetAlluxioOnly() {
		m.mu.RLock()
		n := m.getLocked(p)
		check := n != nil && n.isDir() && n.persisted() && len(n.children) == 0
		mp, up := m.resolveLocked(p)
		m.mu.RUnlock()
		if check && mp != nil {
			if u, err := m.ufsFor(ctx, mp); err == nil {
				if sts, err := u.List(ctx, up); err == nil && len(sts) > 0 {
					return fmt.Errorf("fsmaster: %s is not empty in the UFS: %w", p, rpcstatus.ErrDirectoryNotEmpty)
				}
			}
		}
	}
	// Files not completed (abandoned or still-open writes) whose UFS path
	// exists: a through write's UFS file the worker completed although the
	// client never learned it. They are deleted from the UFS with the
	// namespace change (a stat outside the lock; see incompleteInUfs).
	var stale map[int64]*journalpb.UfsOperation
	if !req.GetAlluxioOnly() {
		stale = m.incompleteInUfs(ctx, p, req.GetRecursive())
	}
	var blocks []int64
	var last int64
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		n := m.getLocked(p)
		if n == nil {
			return notFound(p)
		}
		if n.isDir() && len(n.children) > 0 && !req.GetRecursive() {
			return fmt.Errorf("fsmaster: %s: %w", p, rpcstatus.ErrDirectoryNotEmpty)
		}
		if n.has(flagMountPoint) {
			return fmt.Errorf("fsmaster: %s is a mount point; unmount it instead: %w", p, rpcstatus.ErrFailedPrecondition)
		}
		var uop *journalpb.UfsOperation
		if n.persisted() && !req.GetAlluxioOnly() {
			mp, up := m.resolveLocked(p)
			if mp.readOnly {
				return fmt.Errorf("fsmaster: %s is on read-only mount %s: %w", p, mp.path, rpcstatus.ErrPermissionDenied)
			}
			uop = &journalpb.UfsOperation{MountId: mp.id, DeletePath: up, DeleteRecursive: n.isDir()}
		} else if len(stale) > 0 {
			// The incomplete files found in the UFS, if still there, still
			// incomplete and still at the UFS path that was found: each gets
			// its own DeleteFileEntry with the UFS deletion (before the
			// entry for n, which then no longer holds them).
			// A mount point inside fails the whole delete: check before
			// anything is journaled.
			if err := walk(n, func(c *inode) error {
				if c.has(flagMountPoint) {
					return fmt.Errorf("fsmaster: %s is a mount point; unmount it first: %w", pathOf(c), rpcstatus.ErrFailedPrecondition)
				}
				return nil
			}); err != nil {
				return err
			}
			var files []*inode
			_ = walk(n, func(c *inode) error {
				if op, ok := stale[c.id]; ok && !c.isDir() && !c.has(flagCompleted) {
					if mp, up := m.resolveLocked(pathOf(c)); mp != nil && mp.id == op.GetMountId() && up == op.GetDeletePath() {
						files = append(files, c)
					}
				}
				return nil
			})
			for _, c := range files {
				if c == n {
					uop = stale[c.id]
					break
				}
				bs, err := m.deleteEntriesLocked(t, c, false, stale[c.id])
				if err != nil {
					return err
				}
				blocks = append(blocks, bs...)
				last = t.seq
			}
		}
		bs, err := m.deleteEntriesLocked(t, n, false, uop)
		blocks = append(blocks, bs...)
		if uop != nil {
			last = t.seq
		}
		return err
	})
	if err == nil {
		m.bm.DeleteBlocks(blocks)
		if last > 0 {
			m.afterUfsOps(ctx, last)
		} else if m.PendingUfsOps() > 0 {
			m.kickUfsOps() // maybe a retry whose operation is still pending
		}
	}
	return err
}

// incompleteInUfs finds the files at or (recursive) under p that are not
// completed and whose UFS path exists (or cannot be checked), on writable
// mounts, and returns for
// each (by inode id) the UFS deletion to journal with its removal. Deleting
// them is safe: CreateFile refuses a path that exists in the UFS, so a UFS
// file at an incomplete file's path was written by that create (a through
// write whose answer was lost and which the client abandoned; left in the
// UFS, the next listing would load it back). A persisted directory deleted
// recursively needs none of this (its own UFS deletion covers them).
func (m *Master) incompleteInUfs(ctx context.Context, p string, recursive bool) map[int64]*journalpb.UfsOperation {
	type cand struct {
		id int64
		mp *mountPoint
		up string
	}
	var cands []cand
	m.mu.RLock()
	if n := m.getLocked(p); n != nil && (!n.isDir() || (recursive && !n.persisted())) {
		_ = walk(n, func(c *inode) error {
			if c.isDir() || c.has(flagCompleted) {
				return nil
			}
			if mp, up := m.resolveLocked(pathOf(c)); mp != nil && !mp.readOnly {
				cands = append(cands, cand{c.id, mp, up})
			}
			return nil
		})
	}
	m.mu.RUnlock()
	var out map[int64]*journalpb.UfsOperation
	for _, c := range cands {
		// Not found: nothing to delete. A UFS that cannot answer gets the
		// deletion journaled anyway (it is idempotent, retried while it
		// fails), rather than leaving a file that may be there.
		if u, err := m.ufsFor(ctx, c.mp); err == nil {
			st, err := u.GetStatus(ctx, c.up)
			if errors.Is(err, ufs.ErrNotFound) || (err == nil && st.IsDir) {
				continue
			}
		}
		if out == nil {
			out = map[int64]*journalpb.UfsOperation{}
		}
		out[c.id] = &journalpb.UfsOperation{MountId: c.mp.id, DeletePath: c.up}
	}
	return out
}

// Rename moves src to dst.
func (m *Master) Rename(ctx context.Context, req *alluxiopb.RenameRequest) error {
	src, err := pathutil.Clean(req.GetSrcPath())
	if err != nil {
		return err
	}
	dst, err := pathutil.Clean(req.GetDstPath())
	if err != nil {
		return err
	}
	if src == "/" || dst == "/" {
		return fmt.Errorf("fsmaster: cannot rename the root: %w", rpcstatus.ErrInvalidArgument)
	}
	if pathutil.HasPrefix(dst, src) {
		return fmt.Errorf("fsmaster: cannot rename %s into its own subtree %s: %w", src, dst, rpcstatus.ErrInvalidArgument)
	}
	// A persisted source whose UFS destination is taken would be renamed in
	// the namespace only: refuse it before the namespace changes (a stat,
	// outside the lock).
	m.mu.RLock()
	if n := m.getLocked(src); n != nil && n.persisted() && m.getLocked(dst) == nil {
		if dmp, dup := m.resolveLocked(dst); dmp != nil {
			m.mu.RUnlock()
			if u, err := m.ufsFor(ctx, dmp); err == nil {
				if _, err := u.GetStatus(ctx, dup); err == nil {
					return fmt.Errorf("fsmaster: rename destination %s exists in the UFS (%s): %w", dst, dup, rpcstatus.ErrAlreadyExists)
				}
			}
			m.mu.RLock()
		}
	}
	m.mu.RUnlock()
	now := m.cfg.Now().UnixMilli()
	var last int64
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		n := m.getLocked(src)
		if n == nil {
			return notFound(src)
		}
		if m.getLocked(dst) != nil {
			return fmt.Errorf("fsmaster: rename destination %s %w", dst, rpcstatus.ErrAlreadyExists)
		}
		np := m.getLocked(pathutil.Parent(dst))
		if np == nil {
			return fmt.Errorf("fsmaster: parent of rename destination %s does not exist: %w", dst, rpcstatus.ErrNotFound)
		}
		if !np.isDir() {
			return fmt.Errorf("fsmaster: parent of rename destination %s is a file: %w", dst, rpcstatus.ErrFailedPrecondition)
		}
		if n.has(flagMountPoint) {
			return fmt.Errorf("fsmaster: %s is a mount point: %w", src, rpcstatus.ErrFailedPrecondition)
		}
		smp, sup := m.resolveLocked(src)
		dmp, dup := m.resolveLocked(dst)
		if smp != dmp {
			return fmt.Errorf("fsmaster: cannot rename %s to %s across mount points: %w", src, dst, rpcstatus.ErrFailedPrecondition)
		}
		var uop *journalpb.UfsOperation
		if n.persisted() {
			if smp.readOnly {
				return fmt.Errorf("fsmaster: %s is on read-only mount %s: %w", src, smp.path, rpcstatus.ErrPermissionDenied)
			}
			// Journaled with the rename, performed once durable
			// (ufsops.go); it creates the destination's UFS parents.
			uop = &journalpb.UfsOperation{MountId: smp.id, RenameSrc: sup, RenameDst: dup}
		}
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_Rename{Rename: &journalpb.RenameEntry{
			Id: n.id, NewParentId: np.id, NewName: pathutil.Base(dst), OpTimeMs: now, UfsOp: uop}}}); err != nil {
			return err
		}
		if uop != nil {
			last = t.seq
		}
		if n.persisted() && !np.persisted() {
			// The UFS rename creates the parents; record that.
			return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_SetAttribute{SetAttribute: &journalpb.SetAttributeEntry{
				Id: np.id, PersistenceState: &persistedName, OpTimeMs: now}}})
		}
		return nil
	})
	if err == nil && last > 0 {
		m.afterUfsOps(ctx, last)
	} else if err == nil && m.PendingUfsOps() > 0 {
		m.kickUfsOps() // maybe a retry whose operation is still pending
	}
	return err
}

// Free evicts the blocks of the files under path from the workers.
func (m *Master) Free(ctx context.Context, req *alluxiopb.FreeRequest) error {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return err
	}
	if err := m.Writable(); err != nil {
		return err
	}
	var blocks []int64
	m.mu.RLock()
	n := m.getLocked(p)
	switch {
	case n == nil:
		err = notFound(p)
	case n.isDir() && len(n.children) > 0 && !req.GetRecursive():
		err = fmt.Errorf("fsmaster: %s: %w", p, rpcstatus.ErrDirectoryNotEmpty)
	default:
		err = walk(n, func(c *inode) error {
			if c.has(flagPinned) && !req.GetForced() {
				return fmt.Errorf("fsmaster: %s is pinned (use forced to free it): %w", pathOf(c), rpcstatus.ErrFailedPrecondition)
			}
			if c.isDir() {
				return nil
			}
			if !c.persisted() && c.has(flagCompleted) && c.length > 0 {
				return fmt.Errorf("fsmaster: %s is not persisted; freeing it would lose data: %w", pathOf(c), rpcstatus.ErrFailedPrecondition)
			}
			blocks = append(blocks, c.blockIDs()...)
			return nil
		})
	}
	m.mu.RUnlock()
	if err != nil {
		return err
	}
	m.bm.FreeBlocks(blocks)
	return nil
}

// SetAttribute changes the attributes that are set in req.
func (m *Master) SetAttribute(ctx context.Context, req *alluxiopb.SetAttributeRequest) error {
	p, err := pathutil.Clean(req.GetPath())
	if err != nil {
		return err
	}
	if err := validateSetAttribute(req); err != nil {
		return err
	}
	now := m.cfg.Now().UnixMilli()
	_, err = m.update(ctx, req.GetOperationId(), func(t *txn) error {
		n := m.getLocked(p)
		if n == nil {
			return notFound(p)
		}
		var targets []*inode
		if req.GetRecursive() {
			_ = walk(n, func(c *inode) error { targets = append(targets, c); return nil })
		} else {
			targets = []*inode{n}
		}
		for _, c := range targets {
			if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_SetAttribute{SetAttribute: &journalpb.SetAttributeEntry{
				Id: c.id, Mode: req.Mode, Owner: req.Owner, Group: req.Group, Pinned: req.Pinned, Ttl: req.Ttl, TtlAction: req.TtlAction, OpTimeMs: now}}}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// ScheduleAsyncPersistence marks a completed file TO_BE_PERSISTED and queues it.
func (m *Master) ScheduleAsyncPersistence(ctx context.Context, path string) error {
	p, err := pathutil.Clean(path)
	if err != nil {
		return err
	}
	var id int64
	_, err = m.update(ctx, nil, func(t *txn) error {
		n := m.getLocked(p)
		if n == nil {
			return notFound(p)
		}
		if n.isDir() {
			return fmt.Errorf("fsmaster: %s is a directory: %w", p, rpcstatus.ErrInvalidArgument)
		}
		if !n.has(flagCompleted) {
			return fmt.Errorf("fsmaster: %s is not completed: %w", p, rpcstatus.ErrFailedPrecondition)
		}
		if n.persisted() {
			return nil
		}
		id = n.id
		if n.persist == uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED) {
			return nil
		}
		s := alluxiopb.PersistenceState_TO_BE_PERSISTED.String()
		return t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_SetAttribute{SetAttribute: &journalpb.SetAttributeEntry{
			Id: n.id, PersistenceState: &s, OpTimeMs: m.cfg.Now().UnixMilli()}}})
	})
	if err == nil && id != 0 {
		m.schedulePersist(id)
	}
	return err
}

// ufsErr describes a failed UFS call, keeping the kind of error the backend
// reported (exists, not found, not empty...) and calling anything else
// Unavailable.
func ufsErr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, ufs.ErrExists):
		return fmt.Errorf("fsmaster: %s: %v: %w", msg, err, rpcstatus.ErrAlreadyExists)
	case errors.Is(err, ufs.ErrNotFound):
		return fmt.Errorf("fsmaster: %s: %v: %w", msg, err, rpcstatus.ErrNotFound)
	}
	for _, s := range []error{rpcstatus.ErrDirectoryNotEmpty, rpcstatus.ErrAlreadyExists, rpcstatus.ErrNotFound,
		rpcstatus.ErrPermissionDenied, rpcstatus.ErrInvalidArgument, rpcstatus.ErrFailedPrecondition, rpcstatus.ErrResourceExhausted} {
		if errors.Is(err, s) {
			return fmt.Errorf("fsmaster: %s: %w", msg, err)
		}
	}
	return fmt.Errorf("fsmaster: %s: %v: %w", msg, err, rpcstatus.ErrUnavailable)
}
