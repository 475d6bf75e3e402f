package fsmaster

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// Pending UFS operations.
//
// A namespace change with a UFS side effect (Rename and Remove of a persisted
// inode) journals the UFS operation inside its own entry
// (RenameEntry.ufs_op, DeleteFileEntry.ufs_op). Applying such an entry adds
// it to m.pending, keyed by the entry's sequence number; a UfsOpDoneEntry
// removes it; checkpoints carry the set as PendingUfsOpEntry records. So
// every master, leader or standby, knows the same pending set, rebuilt by
// replay.
//
// The leader performs a pending operation only once its entry is durable,
// oldest first (m.ufsOpMu serialises them, so two renames of one path run
// in journal order), outside the tree lock, and idempotently: a rename only
// if its source exists and its destination does not, a deletion only if the
// path exists. Then it appends a UfsOpDoneEntry (not waited for: if it is
// lost, the operation runs again and finds nothing to do). A failed
// operation stays pending, stops the queue behind it (order matters) and is
// retried in the background; a leader, new or restarted, runs the whole set
// at the start of its term before serving.

// ufsOpRetry is the pause between background retries of failed operations.
const ufsOpRetry = time.Second

// resumeTimeout bounds the pass over inherited operations before serving.
const resumeTimeout = 30 * time.Second

// maxUfsOpFailures is how often an operation may fail with an error that
// retrying cannot fix (permission, conflict) before it is abandoned.
const maxUfsOpFailures = 10

// ufsOpPaths lists where a pending operation's effect lies in the UFS,
// for metadata loading: those paths are in flux.
func ufsOpPaths(op *journalpb.UfsOperation) []string {
	var out []string
	for _, p := range []string{op.GetDeletePath(), op.GetRenameSrc(), op.GetRenameDst()} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ufsPathPendingLocked reports whether a UFS path is, or lies under, a path
// a pending operation will rename or delete (metadata loading must not load
// it as a new file). Called with m.mu held.
func (m *Master) ufsPathPendingLocked(up string) bool {
	for _, op := range m.pending {
		for _, p := range ufsOpPaths(op) {
			p = strings.TrimSuffix(p, "/")
			if up == p || strings.HasPrefix(up, p+"/") {
				return true
			}
		}
	}
	return false
}

// PendingUfsOps is the number of UFS operations not yet performed.
func (m *Master) PendingUfsOps() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.pending)
}

// noteDurable records that every entry up to seq is durable.
func (m *Master) noteDurable(seq int64) {
	for {
		cur := m.durable.Load()
		if seq <= cur || m.durable.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// ResumeUfsOps performs the pending UFS operations a new term inherits
// (every entry replayed is durable). Call it after StartLeading and before
// serving; operations that fail stay pending for RunUfsOps.
func (m *Master) ResumeUfsOps(ctx context.Context) {
	m.mu.RLock()
	m.noteDurable(m.lastSeq)
	n := len(m.pending)
	m.mu.RUnlock()
	if n == 0 {
		return
	}
	// A UFS that hangs must not keep the term from serving for long.
	ctx, cancel := context.WithTimeout(ctx, resumeTimeout)
	defer cancel()
	if err := m.runUfsOps(ctx, m.durable.Load()); err != nil {
		m.log.Warn("pending UFS operations from the previous term failed; retrying in the background", "pending", m.PendingUfsOps(), "err", err)
		return
	}
	m.log.Info("pending UFS operations from the previous term performed", "count", n)
}

// RunUfsOps retries failed UFS operations until ctx ends (leader only).
func (m *Master) RunUfsOps(ctx context.Context) {
	t := time.NewTicker(ufsOpRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.ufsKick:
		case <-t.C:
		}
		if m.Writable() != nil || m.PendingUfsOps() == 0 {
			continue
		}
		if err := m.runUfsOps(ctx, m.durable.Load()); err != nil && ctx.Err() == nil {
			m.log.Warn("UFS operation failed; it stays pending and is retried", "pending", m.PendingUfsOps(), "err", err)
		}
	}
}

func (m *Master) kickUfsOps() {
	select {
	case m.ufsKick <- struct{}{}:
	default:
	}
}

// afterUfsOps runs, once the entries up to seq are durable, the pending
// operations up to seq. A failure leaves them to the background retrier:
// the namespace change is made and acknowledged either way.
func (m *Master) afterUfsOps(ctx context.Context, seq int64) {
	m.noteDurable(seq)
	if err := m.runUfsOps(ctx, seq); err != nil {
		m.log.Warn("UFS operation failed after its namespace change; it stays pending and is retried in the background", "err", err)
		m.kickUfsOps()
	}
}

type seqOp struct {
	seq int64
	op  *journalpb.UfsOperation
}

// runUfsOps performs the pending operations with seq <= upTo, oldest first,
// stopping at the first failure, and journals their completion.
func (m *Master) runUfsOps(ctx context.Context, upTo int64) error {
	m.ufsOpMu.Lock()
	defer m.ufsOpMu.Unlock()
	m.mu.RLock()
	var ops []seqOp
	for seq, op := range m.pending {
		if seq <= upTo {
			ops = append(ops, seqOp{seq, op})
		}
	}
	m.mu.RUnlock()
	sort.Slice(ops, func(i, j int) bool { return ops[i].seq < ops[j].seq })
	var done []int64
	var err error
	for _, o := range ops {
		if err = m.execUfsOp(ctx, o.op); err != nil {
			if ctx.Err() != nil {
				break
			}
			m.ufsFailures[o.seq]++
			if permanentUfsErr(err) && m.ufsFailures[o.seq] >= maxUfsOpFailures {
				m.log.Error("abandoning a UFS operation that keeps failing; the UFS and the namespace may differ there",
					"seq", o.seq, "op", o.op.String(), "err", err)
				done, err = append(done, o.seq), nil
				continue
			}
			break
		}
		done = append(done, o.seq)
	}
	for _, s := range done {
		delete(m.ufsFailures, s)
	}
	m.recordUfsOpsDone(done)
	return err
}

// permanentUfsErr reports errors that retrying does not fix.
func permanentUfsErr(err error) bool {
	return errors.Is(err, ufs.ErrExists) || errors.Is(err, os.ErrPermission) ||
		errors.Is(err, rpcstatus.ErrPermissionDenied) || errors.Is(err, rpcstatus.ErrDirectoryNotEmpty) ||
		errors.Is(err, rpcstatus.ErrAlreadyExists) || errors.Is(err, rpcstatus.ErrInvalidArgument)
}

// recordUfsOpsDone appends a UfsOpDoneEntry per operation, without waiting
// for the flush (a lost one only makes the operation run again, finding
// nothing to do).
func (m *Master) recordUfsOpsDone(seqs []int64) {
	if len(seqs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writableLocked() != nil {
		return
	}
	t := &txn{m: m}
	for _, s := range seqs {
		if _, ok := m.pending[s]; !ok {
			continue
		}
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_UfsOpDone{UfsOpDone: &journalpb.UfsOpDoneEntry{OpSeq: s}}}); err != nil {
			return
		}
	}
}

// execUfsOp performs one operation idempotently.
func (m *Master) execUfsOp(ctx context.Context, op *journalpb.UfsOperation) error {
	m.mu.RLock()
	var mp *mountPoint
	for _, x := range m.mounts {
		if x.id == op.GetMountId() {
			mp = x
		}
	}
	m.mu.RUnlock()
	if mp == nil {
		m.log.Warn("UFS operation on a mount that is gone; skipped", "op", op.String())
		return nil
	}
	u, err := m.ufsFor(ctx, mp)
	if err != nil {
		return err
	}
	switch {
	case op.GetRenameSrc() != "":
		src, dst := op.GetRenameSrc(), op.GetRenameDst()
		if _, err := u.GetStatus(ctx, src); errors.Is(err, ufs.ErrNotFound) {
			return nil // done before (or never there)
		} else if err != nil {
			return ufsErr(err, "stat rename source %s", src)
		}
		if _, err := u.GetStatus(ctx, dst); err == nil {
			m.log.Warn("UFS rename skipped: its destination exists", "src", src, "dst", dst)
			return nil
		} else if !errors.Is(err, ufs.ErrNotFound) {
			return ufsErr(err, "stat rename destination %s", dst)
		}
		if i := strings.LastIndex(dst, "/"); i > 0 {
			_ = u.Mkdirs(ctx, dst[:i], 0o755)
		}
		if err := u.Rename(ctx, src, dst); err != nil && !errors.Is(err, ufs.ErrNotFound) {
			return ufsErr(err, "rename %s to %s in the UFS", src, dst)
		}
	case op.GetDeletePath() != "":
		if err := u.Delete(ctx, op.GetDeletePath(), op.GetDeleteRecursive()); err != nil && !errors.Is(err, ufs.ErrNotFound) {
			return ufsErr(err, "delete %s from the UFS", op.GetDeletePath())
		}
	}
	return nil
}

// isUfsTempName reports names of files a UFS write left behind
// (".<name>.alluxio-tmp-*", common/ufs): never loaded as files.
func isUfsTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".alluxio-tmp-")
}

// hasUfsTempComponent reports whether a clean Alluxio path names a UFS
// temporary file or something under one.
func hasUfsTempComponent(p string) bool {
	for _, c := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if isUfsTempName(c) {
			return true
		}
	}
	return false
}
