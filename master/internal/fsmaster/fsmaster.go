// Package fsmaster is the file system master: the inode tree, the mount
// table and the namespace operations of FileSystemMasterClientService.
//
// Every mutation is journaled: under the tree's write lock an operation
// validates, builds journal entries, appends each to the journal writer and
// applies it to memory through the same apply function replay uses; it then
// releases the lock and waits for its last sequence number to be flushed
// before answering, so concurrent operations share one flush (group commit).
// A journal failure makes the master refuse further writes (Unavailable).
package fsmaster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// Config configures a Master.
type Config struct {
	// RootUFS is alluxio.master.mount.table.root.ufs, mounted at "/".
	RootUFS string
	// RootUFSOptions are the root mount's UFS options
	// (alluxio.master.mount.table.root.option.<key>), as a mount's options.
	RootUFSOptions map[string]string
	// DefaultBlockSize is used for files loaded from the UFS and for creates
	// that name none (alluxio.user.block.size.bytes.default).
	DefaultBlockSize int64
	// UFS opens under file systems by URI.
	UFS *ufs.Registry
	// Blocks is the block master.
	Blocks *blockmaster.Master
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// RecentOps bounds the retry-deduplication cache (default 100000).
	RecentOps int
	// PersistTimeout is how long a PERSIST assignment may stay unanswered
	// before it is given to a worker again (default 5 minutes).
	PersistTimeout time.Duration
	// OnJournalFailure, if set, is called once per term when the journal
	// writer fails (the master then refuses writes until a new term). It
	// may run with the master's lock held, so it must not block or call
	// back into the Master.
	OnJournalFailure func(error)
}

// Checkpointer is the part of the journal that writes checkpoints.
type Checkpointer interface {
	NeedsCheckpoint(lastSeq int64) bool
	Checkpoint(ctx context.Context, lastSeq int64, snap journal.Snapshotter) error
}

type mountPoint struct {
	path     string
	uri      string
	readOnly bool
	id       int64
	props    map[string]string
}

const rootMountID = 1

const containerBatch = 1000

// Master is the file system master. It implements journal.StateMachine.
type Master struct {
	cfg Config
	log *slog.Logger
	bm  *blockmaster.Master

	mu                sync.RWMutex
	root              *inode
	byID              map[int64]*inode
	nextContainer     int64
	reservedContainer int64
	mounts            map[string]*mountPoint
	ops               *opCache
	lastSeq           int64
	lastEpoch         int64
	inodes            atomic.Int64

	// Leader state (guarded by mu).
	w      journal.Writer
	ckpt   Checkpointer
	broken error

	ckptRunning atomic.Bool
	ckptWG      sync.WaitGroup

	pmu      sync.Mutex
	persistQ map[int64]*persistJob
	// inflight maps UFS paths being written by PERSIST jobs to their file;
	// metadata loading ignores them (the file is in Alluxio, maybe renamed).
	inflight map[string]int64

	ufsMu    sync.Mutex
	ufsCache map[string]ufs.UnderFileSystem // by mount URI

	// names interns owner and group strings (guarded by mu), so a million
	// files owned by one user share one string.
	names map[string]string
	// toPersist holds the completed files waiting for asynchronous
	// persistence (guarded by mu), kept by apply so that a new leader finds
	// them without a scan of the namespace.
	toPersist map[int64]struct{}
	// pending holds the UFS operations journaled but not yet recorded as
	// done, by the sequence number of their entry (guarded by mu; see
	// ufsops.go).
	pending map[int64]*journalpb.UfsOperation
	// durable is the highest sequence number known to be durable.
	durable atomic.Int64
	// ufsOpMu serialises the execution of pending UFS operations;
	// ufsFailures (guarded by it) counts failures per operation.
	ufsOpMu     sync.Mutex
	ufsFailures map[int64]int
	ufsKick     chan struct{}
}

func (m *Master) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := m.names[s]; ok {
		return v
	}
	if len(m.names) < 1<<16 {
		m.names[s] = s
	}
	return s
}

type persistJob struct {
	worker     int64
	assignedAt time.Time
	ufsPath    string // where the worker was told to write
}

// New returns a master with an empty namespace (only "/").
func New(cfg Config) *Master {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultBlockSize <= 0 {
		cfg.DefaultBlockSize = 64 << 20
	}
	if cfg.RecentOps <= 0 {
		cfg.RecentOps = 100000
	}
	if cfg.PersistTimeout <= 0 {
		cfg.PersistTimeout = 5 * time.Minute
	}
	if cfg.Blocks == nil {
		cfg.Blocks = blockmaster.New(blockmaster.Config{Logger: cfg.Logger})
	}
	if cfg.UFS == nil {
		cfg.UFS = &ufs.Registry{}
	}
	m := &Master{cfg: cfg, log: cfg.Logger, bm: cfg.Blocks, persistQ: map[int64]*persistJob{}, inflight: map[string]int64{}, ufsCache: map[string]ufs.UnderFileSystem{},
		ufsFailures: map[int64]int{}, ufsKick: make(chan struct{}, 1)}
	m.resetLocked()
	cfg.Blocks.SetHooks(hooks{m})
	return m
}

func (m *Master) resetLocked() {
	m.root = &inode{id: rootID, mode: 0o755, flags: flagDir | flagMountPoint, ttl: -1,
		persist: uint8(alluxiopb.PersistenceState_PERSISTED), children: map[string]*inode{}}
	m.byID = map[int64]*inode{rootID: m.root}
	m.inodes.Store(1)
	m.nextContainer = 1
	m.reservedContainer = 0
	m.mounts = map[string]*mountPoint{"/": {path: "/", uri: m.cfg.RootUFS, id: rootMountID, props: m.cfg.RootUFSOptions}}
	m.ops = newOpCache(m.cfg.RecentOps)
	m.names = map[string]string{}
	m.toPersist = map[int64]struct{}{}
	m.pending = map[int64]*journalpb.UfsOperation{}
}

// trackPersist records whether file n waits for asynchronous persistence.
func (m *Master) trackPersist(n *inode) {
	if !n.isDir() && n.has(flagCompleted) && n.persist == uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED) {
		m.toPersist[n.id] = struct{}{}
	} else {
		delete(m.toPersist, n.id)
	}
}

// Reset empties the state (journal.StateMachine).
func (m *Master) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resetLocked()
	m.bm.ResetBlockInfo()
}

// Apply applies one journal entry (journal.StateMachine). It is the same
// function the leader uses for its own changes.
func (m *Master) Apply(e *journalpb.JournalEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applyLocked(e)
}

// LastSeq is the sequence number of the last applied entry.
func (m *Master) LastSeq() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.lastSeq
}

// Replayed records where a replay or catch-up of the journal ended. A
// checkpoint's entries carry no sequence numbers, so a master whose journal
// ends with a checkpoint learns its last seq and epoch only from this.
func (m *Master) Replayed(seq, epoch int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastSeq = max(m.lastSeq, seq)
	m.lastEpoch = max(m.lastEpoch, epoch)
}

// LastEpoch is the largest epoch seen in applied entries.
func (m *Master) LastEpoch() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.lastEpoch
}

// InodeCount is the number of inodes, including the root.
func (m *Master) InodeCount() int64 { return m.inodes.Load() }

// StartLeading gives the master a journal writer for a new term: from now on
// it accepts mutations. ckpt may be nil (no checkpoints).
func (m *Master) StartLeading(w journal.Writer, ckpt Checkpointer) {
	m.mu.Lock()
	m.w = w
	m.ckpt = ckpt
	m.broken = nil
	m.durable.Store(m.lastSeq) // replayed from the journal
	if m.nextContainer < m.reservedContainer {
		m.nextContainer = m.reservedContainer
	}
	pending := make([]int64, 0, len(m.toPersist))
	for id := range m.toPersist {
		pending = append(pending, id)
	}
	m.mu.Unlock()
	m.pmu.Lock()
	m.persistQ = map[int64]*persistJob{}
	m.inflight = map[string]int64{}
	for _, id := range pending {
		m.persistQ[id] = &persistJob{}
	}
	m.pmu.Unlock()
}

// StopLeading drops the writer; mutations fail with ErrNotLeader. It waits
// for a running checkpoint and returns the writer so the caller can close it.
func (m *Master) StopLeading() journal.Writer {
	m.mu.Lock()
	w := m.w
	m.w = nil
	m.ckpt = nil
	m.mu.Unlock()
	m.ckptWG.Wait()
	return w
}

// Writable reports nil when the master accepts mutations.
func (m *Master) Writable() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.writableLocked()
}

func (m *Master) writableLocked() error {
	if m.w == nil {
		return fmt.Errorf("fsmaster: no journal writer: %w", rpcstatus.ErrNotLeader)
	}
	if m.broken != nil {
		return fmt.Errorf("fsmaster: journal failed, refusing writes: %v: %w", m.broken, rpcstatus.ErrUnavailable)
	}
	return nil
}

// setBroken marks the term of writer w broken (a failure of an earlier
// term's writer does not break the current one).
func (m *Master) setBroken(w journal.Writer, err error) {
	m.mu.Lock()
	first := m.broken == nil && m.w != nil && m.w == w
	if first {
		m.broken = err
		m.notifyBrokenLocked(err)
	}
	m.mu.Unlock()
	if first {
		m.log.Error("journal write failed; master stops accepting writes", "err", err)
	}
}

// notifyBrokenLocked tells the owner that the journal failed. Called with
// m.mu held, once per term (when m.broken is first set).
func (m *Master) notifyBrokenLocked(err error) {
	if m.cfg.OnJournalFailure != nil {
		m.cfg.OnJournalFailure(err)
	}
}

// txn is one mutation in progress, under the write lock.
type txn struct {
	m   *Master
	op  *alluxiopb.OperationId
	seq int64
}

// add appends e to the journal and applies it.
func (t *txn) add(e *journalpb.JournalEntry) error {
	m := t.m
	if t.op != nil {
		e.OperationId = t.op
	}
	seq, err := m.w.Append(e)
	if err != nil {
		if m.broken == nil {
			m.broken = err
			m.notifyBrokenLocked(err)
			m.log.Error("journal append failed; master stops accepting writes", "err", err)
		}
		return fmt.Errorf("fsmaster: journal append: %v: %w", err, rpcstatus.ErrUnavailable)
	}
	if e.SequenceNumber == 0 {
		e.SequenceNumber = seq
	}
	if err := m.applyLocked(e); err != nil {
		// The journal holds an entry memory could not apply: replay would
		// fail the same way. Stop writing.
		if m.broken == nil {
			m.broken = err
			m.notifyBrokenLocked(err)
			m.log.Error("apply of own journal entry failed; master stops accepting writes", "err", err)
		}
		return fmt.Errorf("fsmaster: apply: %v: %w", err, rpcstatus.ErrInternal)
	}
	t.seq = seq
	return nil
}

// allocContainer returns a fresh container id, journaling a new reservation
// when the current batch is used up.
func (t *txn) allocContainer() (int64, error) {
	m := t.m
	if m.nextContainer >= m.reservedContainer {
		next := m.nextContainer + containerBatch
		if err := t.add(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_BlockContainerIdGenerator{
			BlockContainerIdGenerator: &journalpb.BlockContainerIdGeneratorEntry{NextContainerId: next}}}); err != nil {
			return 0, err
		}
	}
	c := m.nextContainer
	m.nextContainer++
	return c, nil
}

// update runs fn under the write lock and waits for its entries to be
// durable. A request whose operation id was already applied returns
// dup=true without running fn.
func (m *Master) update(ctx context.Context, op *alluxiopb.OperationId, fn func(t *txn) error) (dup bool, err error) {
	m.mu.Lock()
	if err := m.writableLocked(); err != nil {
		m.mu.Unlock()
		return false, err
	}
	w := m.w
	if key, ok := opKeyOf(op); ok {
		if seq, seen := m.ops.get(key); seen {
			m.mu.Unlock()
			if seq <= 0 {
				return true, nil // from a checkpoint: durable already
			}
			return true, m.flush(ctx, w, seq)
		}
	}
	t := &txn{m: m, op: op}
	err = fn(t)
	m.mu.Unlock()
	if t.seq > 0 {
		if ferr := m.flush(ctx, w, t.seq); ferr != nil {
			return false, ferr
		}
		m.maybeCheckpoint(t.seq)
	}
	return false, err
}

func (m *Master) flush(ctx context.Context, w journal.Writer, seq int64) error {
	err := w.Flush(ctx, seq)
	if err == nil {
		m.noteDurable(seq)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("fsmaster: waiting for journal flush: %v: %w", ctx.Err(), rpcstatus.ErrIndeterminate)
	}
	if errors.Is(err, rpcstatus.ErrNotLeader) {
		// Durable or not, the entry cannot be acknowledged: this master's
		// term ended (the writer reports it; the journal is not broken).
		return fmt.Errorf("fsmaster: journal flush: %w", err)
	}
	m.setBroken(w, err)
	if errors.Is(err, journal.ErrFenced) {
		// A newer term sealed our log: another master leads.
		return fmt.Errorf("fsmaster: journal flush: %v: %w", err, rpcstatus.ErrNotLeader)
	}
	return fmt.Errorf("fsmaster: journal flush: %v: %w", err, rpcstatus.ErrUnavailable)
}

func (m *Master) maybeCheckpoint(seq int64) {
	m.mu.RLock()
	ck := m.ckpt
	m.mu.RUnlock()
	if ck == nil || !ck.NeedsCheckpoint(seq) || !m.ckptRunning.CompareAndSwap(false, true) {
		return
	}
	m.ckptWG.Add(1)
	go func() {
		defer m.ckptWG.Done()
		defer m.ckptRunning.Store(false)
		if err := m.Checkpoint(context.Background(), ck); err != nil {
			m.log.Error("checkpoint failed", "err", err)
		}
	}()
}

// Checkpoint writes a checkpoint of the current state, holding the read lock.
func (m *Master) Checkpoint(ctx context.Context, ck Checkpointer) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	start := m.cfg.Now()
	if err := ck.Checkpoint(ctx, m.lastSeq, m.snapshotLocked); err != nil {
		return fmt.Errorf("fsmaster: checkpoint at %d: %w", m.lastSeq, err)
	}
	m.log.Info("checkpoint written", "seq", m.lastSeq, "inodes", m.inodes.Load(), "took", m.cfg.Now().Sub(start))
	return nil
}

// Snapshot emits the state as entries; applied in order to an empty master
// they rebuild it (journal.Snapshotter).
func (m *Master) Snapshot(emit func(*journalpb.JournalEntry) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snapshotLocked(emit)
}

func (m *Master) snapshotLocked(emit func(*journalpb.JournalEntry) error) error {
	if err := emit(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_BlockContainerIdGenerator{
		BlockContainerIdGenerator: &journalpb.BlockContainerIdGeneratorEntry{NextContainerId: m.reservedContainer}}}); err != nil {
		return err
	}
	for _, mp := range m.sortedMounts() {
		if mp.path == "/" {
			continue
		}
		if err := emit(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_AddMountPoint{AddMountPoint: &journalpb.AddMountPointEntry{
			AlluxioPath: mp.path, UfsPath: mp.uri, MountId: mp.id, ReadOnly: mp.readOnly, Properties: mp.props}}}); err != nil {
			return err
		}
	}
	if err := walk(m.root, func(n *inode) error { return emit(inodeEntry(n)) }); err != nil {
		return err
	}
	if err := m.bm.EachBlockInfo(func(id, length int64) error {
		return emit(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_BlockInfo{BlockInfo: &journalpb.BlockInfoEntry{BlockId: id, Length: length}}})
	}); err != nil {
		return err
	}
	// UFS operations still to be performed, oldest first.
	seqs := make([]int64, 0, len(m.pending))
	for s := range m.pending {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for _, s := range seqs {
		if err := emit(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_PendingUfsOp{PendingUfsOp: &journalpb.PendingUfsOpEntry{OpSeq: s, Op: m.pending[s]}}}); err != nil {
			return err
		}
	}
	// The retry-deduplication cache, oldest first, as entries that carry
	// only an operation id.
	for _, k := range m.ops.keys() {
		if err := emit(&journalpb.JournalEntry{OperationId: &alluxiopb.OperationId{MostSignificantBits: k.hi, LeastSignificantBits: k.lo}}); err != nil {
			return err
		}
	}
	return nil
}

func inodeEntry(n *inode) *journalpb.JournalEntry {
	parent := int64(-1)
	if n.parent != nil {
		parent = n.parent.id
	}
	if n.isDir() {
		return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeDirectory{InodeDirectory: &journalpb.InodeDirectoryEntry{
			Id: n.id, ParentId: parent, Name: n.name, Owner: n.owner, Group: n.group, Mode: int32(n.mode),
			CreationTimeMs: n.ctime, LastModificationTimeMs: n.mtime, PersistenceState: persistName(n.persist),
			MountPoint: n.has(flagMountPoint), Ttl: n.ttl, TtlAction: ttlActions[n.ttlAction], Pinned: n.has(flagPinned)}}}
	}
	return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeFile{InodeFile: &journalpb.InodeFileEntry{
		Id: n.id, ParentId: parent, Name: n.name, Owner: n.owner, Group: n.group, Mode: int32(n.mode),
		CreationTimeMs: n.ctime, LastModificationTimeMs: n.mtime, PersistenceState: persistName(n.persist),
		BlockSizeBytes: n.blockSize, Length: n.length, Completed: n.has(flagCompleted), BlockIds: n.blockIDs(),
		Ttl: n.ttl, TtlAction: ttlActions[n.ttlAction], Pinned: n.has(flagPinned), Cacheable: n.has(flagCacheable),
		CacheOnly: n.has(flagCacheOnly)}}}
}

var errApply = errors.New("fsmaster: cannot apply journal entry")

// applyLocked is the single state transition used by replay and by the leader.
func (m *Master) applyLocked(e *journalpb.JournalEntry) error {
	var err error
	switch x := e.GetEntry().(type) {
	case *journalpb.JournalEntry_InodeDirectory:
		d := x.InodeDirectory
		err = m.applyInode(d.GetId(), d.GetParentId(), d.GetName(), true, func(n *inode) {
			n.owner, n.group, n.mode = m.intern(d.GetOwner()), m.intern(d.GetGroup()), uint16(d.GetMode())
			n.ctime, n.mtime = d.GetCreationTimeMs(), d.GetLastModificationTimeMs()
			n.persist = persistCode(d.GetPersistenceState())
			n.set(flagMountPoint, d.GetMountPoint() || n.id == rootID)
			n.ttl, n.ttlAction = d.GetTtl(), ttlActionCode(d.GetTtlAction())
			n.set(flagPinned, d.GetPinned())
		})
	case *journalpb.JournalEntry_InodeFile:
		f := x.InodeFile
		err = m.applyInode(f.GetId(), f.GetParentId(), f.GetName(), false, func(n *inode) {
			n.owner, n.group, n.mode = m.intern(f.GetOwner()), m.intern(f.GetGroup()), uint16(f.GetMode())
			n.ctime, n.mtime = f.GetCreationTimeMs(), f.GetLastModificationTimeMs()
			n.persist = persistCode(f.GetPersistenceState())
			n.blockSize, n.length = f.GetBlockSizeBytes(), f.GetLength()
			n.nblocks = int32(len(f.GetBlockIds()))
			n.set(flagCompleted, f.GetCompleted())
			n.ttl, n.ttlAction = f.GetTtl(), ttlActionCode(f.GetTtlAction())
			n.set(flagPinned, f.GetPinned())
			n.set(flagCacheable, f.GetCacheable())
			n.set(flagCacheOnly, f.GetCacheOnly() && !f.GetCompleted())
		})
	case *journalpb.JournalEntry_CompleteFile:
		c := x.CompleteFile
		n, e2 := m.fileByID(c.GetId())
		if e2 != nil {
			err = e2
			break
		}
		n.length = c.GetLength()
		n.nblocks = int32(len(c.GetBlockIds()))
		n.set(flagCompleted, true)
		n.set(flagCacheOnly, false)
		n.mtime = max(n.mtime, c.GetOpTimeMs())
	case *journalpb.JournalEntry_NewBlock:
		n, e2 := m.fileByID(x.NewBlock.GetFileId())
		if e2 != nil {
			err = e2
			break
		}
		if idx := int32(blockIndex(x.NewBlock.GetBlockId())); idx+1 > n.nblocks {
			n.nblocks = idx + 1
		}
	case *journalpb.JournalEntry_DeleteFile:
		n := m.byID[x.DeleteFile.GetId()]
		if n == nil || n.parent == nil {
			err = fmt.Errorf("%w: delete of unknown inode %d", errApply, x.DeleteFile.GetId())
			break
		}
		p := n.parent
		delete(p.children, n.name)
		p.mtime = max(p.mtime, x.DeleteFile.GetOpTimeMs())
		_ = walk(n, func(c *inode) error {
			delete(m.byID, c.id)
			delete(m.toPersist, c.id)
			m.inodes.Add(-1)
			return nil
		})
		n.parent = nil
		if op := x.DeleteFile.GetUfsOp(); op != nil {
			m.pending[e.GetSequenceNumber()] = op
		}
	case *journalpb.JournalEntry_Rename:
		r := x.Rename
		n := m.byID[r.GetId()]
		np := m.byID[r.GetNewParentId()]
		switch {
		case n == nil || n.parent == nil:
			err = fmt.Errorf("%w: rename of unknown inode %d", errApply, r.GetId())
		case np == nil || !np.isDir():
			err = fmt.Errorf("%w: rename into unknown directory %d", errApply, r.GetNewParentId())
		case np.children[r.GetNewName()] != nil:
			err = fmt.Errorf("%w: rename target %q exists in %d", errApply, r.GetNewName(), r.GetNewParentId())
		default:
			op := n.parent
			delete(op.children, n.name)
			op.mtime = max(op.mtime, r.GetOpTimeMs())
			n.name = strings.Clone(r.GetNewName())
			n.parent = np
			np.children[n.name] = n
			np.mtime = max(np.mtime, r.GetOpTimeMs())
			if op := r.GetUfsOp(); op != nil {
				m.pending[e.GetSequenceNumber()] = op
			}
		}
	case *journalpb.JournalEntry_SetAttribute:
		s := x.SetAttribute
		n := m.byID[s.GetId()]
		if n == nil {
			err = fmt.Errorf("%w: set attribute of unknown inode %d", errApply, s.GetId())
			break
		}
		if s.Mode != nil {
			n.mode = uint16(s.GetMode())
		}
		if s.Owner != nil {
			n.owner = m.intern(s.GetOwner())
		}
		if s.Group != nil {
			n.group = m.intern(s.GetGroup())
		}
		if s.Pinned != nil {
			n.set(flagPinned, s.GetPinned())
		}
		if s.Ttl != nil {
			n.ttl = s.GetTtl()
		}
		if s.TtlAction != nil {
			n.ttlAction = ttlActionCode(s.GetTtlAction())
		}
		if s.PersistenceState != nil {
			n.persist = persistCode(s.GetPersistenceState())
			if n.persisted() {
				markAncestorsPersisted(n)
			}
		}
	case *journalpb.JournalEntry_BlockContainerIdGenerator:
		next := x.BlockContainerIdGenerator.GetNextContainerId()
		m.reservedContainer = max(m.reservedContainer, next)
	case *journalpb.JournalEntry_InodeIdGenerator:
		// Inode ids come from block containers; nothing to do.
	case *journalpb.JournalEntry_BlockInfo:
		m.bm.ApplyBlockInfo(x.BlockInfo.GetBlockId(), x.BlockInfo.GetLength())
	case *journalpb.JournalEntry_DeleteBlock:
		m.bm.ApplyDeleteBlock(x.DeleteBlock.GetBlockId())
	case *journalpb.JournalEntry_AddMountPoint:
		a := x.AddMountPoint
		m.mounts[a.GetAlluxioPath()] = &mountPoint{path: a.GetAlluxioPath(), uri: a.GetUfsPath(), readOnly: a.GetReadOnly(), id: a.GetMountId(), props: a.GetProperties()}
	case *journalpb.JournalEntry_DeleteMountPoint:
		delete(m.mounts, x.DeleteMountPoint.GetAlluxioPath())
	case *journalpb.JournalEntry_NewTerm:
		m.lastEpoch = max(m.lastEpoch, x.NewTerm.GetEpoch())
	case *journalpb.JournalEntry_PersistFile:
		n, e2 := m.fileByID(x.PersistFile.GetId())
		if e2 != nil {
			err = e2
			break
		}
		n.persist = uint8(alluxiopb.PersistenceState_PERSISTED)
		markAncestorsPersisted(n)
	case *journalpb.JournalEntry_UfsOpDone:
		delete(m.pending, x.UfsOpDone.GetOpSeq())
	case *journalpb.JournalEntry_PendingUfsOp:
		m.pending[x.PendingUfsOp.GetOpSeq()] = x.PendingUfsOp.GetOp()
	case nil:
		// An entry with no payload (e.g. a padding record): nothing to do.
	default:
		err = fmt.Errorf("%w: unknown entry type %T", errApply, x)
	}
	if err != nil {
		return fmt.Errorf("entry seq %d: %w", e.GetSequenceNumber(), err)
	}
	var changed int64
	switch x := e.GetEntry().(type) {
	case *journalpb.JournalEntry_InodeFile:
		changed = x.InodeFile.GetId()
	case *journalpb.JournalEntry_CompleteFile:
		changed = x.CompleteFile.GetId()
	case *journalpb.JournalEntry_SetAttribute:
		changed = x.SetAttribute.GetId()
	case *journalpb.JournalEntry_PersistFile:
		changed = x.PersistFile.GetId()
	}
	if n := m.byID[changed]; changed != 0 && n != nil {
		m.trackPersist(n)
	}
	if key, ok := opKeyOf(e.GetOperationId()); ok {
		m.ops.put(key, e.GetSequenceNumber())
	}
	if e.GetSequenceNumber() > m.lastSeq {
		m.lastSeq = e.GetSequenceNumber()
	}
	if e.GetEpoch() > m.lastEpoch {
		m.lastEpoch = e.GetEpoch()
	}
	return nil
}

func markAncestorsPersisted(n *inode) {
	for p := n.parent; p != nil && !p.persisted(); p = p.parent {
		p.persist = uint8(alluxiopb.PersistenceState_PERSISTED)
	}
}

func (m *Master) fileByID(id int64) (*inode, error) {
	n := m.byID[id]
	if n == nil || n.isDir() {
		return nil, fmt.Errorf("%w: no file with id %d", errApply, id)
	}
	return n, nil
}

// applyInode creates an inode, or updates it when the id exists (the root,
// or a checkpoint re-applied over state).
func (m *Master) applyInode(id, parentID int64, name string, dir bool, fill func(*inode)) error {
	if n := m.byID[id]; n != nil {
		if n.isDir() != dir {
			return fmt.Errorf("%w: inode %d changes kind", errApply, id)
		}
		fill(n)
		return nil
	}
	p := m.byID[parentID]
	if p == nil || !p.isDir() {
		return fmt.Errorf("%w: parent %d of %q does not exist", errApply, parentID, name)
	}
	if name == "" || p.children[name] != nil {
		return fmt.Errorf("%w: name %q is taken in directory %d", errApply, name, parentID)
	}
	// The name is copied: it is usually a substring of a request's path or
	// of a decoded journal entry, which it would otherwise keep alive.
	n := &inode{id: id, parent: p, name: strings.Clone(name)}
	if dir {
		n.flags = flagDir
		n.children = map[string]*inode{}
	}
	fill(n)
	p.children[name] = n
	p.mtime = max(p.mtime, n.ctime)
	m.byID[id] = n
	m.inodes.Add(1)
	if c := containerOf(id); c >= m.nextContainer {
		m.nextContainer = c + 1
	}
	if n.persisted() {
		markAncestorsPersisted(n)
	}
	return nil
}

// opKey identifies an operation id.
type opKey struct{ hi, lo int64 }

func opKeyOf(op *alluxiopb.OperationId) (opKey, bool) {
	if op == nil || (op.GetMostSignificantBits() == 0 && op.GetLeastSignificantBits() == 0) {
		return opKey{}, false
	}
	return opKey{op.GetMostSignificantBits(), op.GetLeastSignificantBits()}, true
}

// opCache remembers the last sequence number of recent operations, bounded
// by evicting the oldest (a ring of keys).
type opCache struct {
	seqs map[opKey]int64
	ring []opKey
	next int
}

func newOpCache(n int) *opCache {
	return &opCache{seqs: make(map[opKey]int64), ring: make([]opKey, n)}
}

func (c *opCache) get(k opKey) (int64, bool) {
	s, ok := c.seqs[k]
	return s, ok
}

func (c *opCache) put(k opKey, seq int64) {
	if _, ok := c.seqs[k]; ok {
		c.seqs[k] = seq
		return
	}
	old := c.ring[c.next]
	if old != (opKey{}) {
		delete(c.seqs, old)
	}
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.seqs[k] = seq
}

// keys lists the cached operations, oldest first.
func (c *opCache) keys() []opKey {
	out := make([]opKey, 0, len(c.seqs))
	for i := 0; i < len(c.ring); i++ {
		k := c.ring[(c.next+i)%len(c.ring)]
		if k != (opKey{}) {
			if _, ok := c.seqs[k]; ok {
				out = append(out, k)
			}
		}
	}
	return out
}
