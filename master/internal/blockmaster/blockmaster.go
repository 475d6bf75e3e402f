// Package blockmaster is the master's block service: the registry of workers,
// the locations of block copies (rebuilt from worker registrations, never
// journaled), the committed length of every block (journaled through the
// file system master), and the commands workers receive in heartbeat answers
// (register again, free, delete, persist).
//
// Lock order: callers may hold the file system master's lock when they call
// into a Master; a Master never calls its Hooks while holding its own lock.
package blockmaster

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Hooks connect the block master to the file system master, which owns the
// journal and the namespace.
type Hooks interface {
	// CommitBlockInfos journals the lengths of newly committed blocks (block
	// id -> length) and applies them (ApplyBlockInfo) before returning. It
	// skips blocks no live file owns, blocks already committed and lengths
	// beyond the owning file's block size.
	CommitBlockInfos(ctx context.Context, lengths map[int64]int64) error
	// BlockSize returns the block size of the live file that owns blockID;
	// ok is false when no live file owns it (an orphan).
	BlockSize(blockID int64) (size int64, ok bool)
	// PartitionLive reorders ids so that the blocks a live file owns come
	// first, and returns how many there are; the rest are orphans. It does
	// O(1) work per id and holds the namespace lock for a bounded batch at a
	// time, never for a whole list.
	PartitionLive(ids []int64) int
	// PersistCommands returns files the worker should persist now.
	PersistCommands(workerID int64) []*alluxiopb.PersistFile
	// FilesPersisted records files a worker reports persisted or failed.
	FilesPersisted(ctx context.Context, workerID int64, persisted []int64, failed map[int64]string)
}

// Config configures a Master.
type Config struct {
	// WorkerTimeout is alluxio.master.worker.timeout: a worker not heard from
	// for this long is lost and its block locations are dropped.
	WorkerTimeout time.Duration
	Logger        *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

type location struct {
	worker int64
	tier   string
}

type worker struct {
	id          int64
	addr        *alluxiopb.WorkerNetAddress
	registered  bool
	lastContact time.Time
	startTime   time.Time
	tiers       []string
	capacity    map[string]int64
	used        map[string]int64
	blocks      map[int64]string // block id -> tier alias
	toFree      []int64
	toDelete    []int64
	// gen counts registrations; a registration inserting its report in
	// batches stops when a newer one started.
	gen uint64
}

// Master is the block master. It is safe for concurrent use.
type Master struct {
	cfg   Config
	log   *slog.Logger
	hooks Hooks

	mu       sync.RWMutex
	workers  map[int64]*worker
	byAddr   map[string]int64
	lost     map[int64]*worker
	lengths  map[int64]int64 // committed block lengths (journaled)
	location map[int64][]location
	// graceUntil: no worker is declared lost before this time (a new
	// leader's workers need a worker timeout to find it and re-register).
	graceUntil time.Time
}

// New returns an empty block master.
func New(cfg Config) *Master {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WorkerTimeout <= 0 {
		cfg.WorkerTimeout = 5 * time.Minute
	}
	return &Master{
		cfg:      cfg,
		log:      cfg.Logger,
		workers:  make(map[int64]*worker),
		byAddr:   make(map[string]int64),
		lost:     make(map[int64]*worker),
		lengths:  make(map[int64]int64),
		location: make(map[int64][]location),
	}
}

// SetHooks connects the file system master. It must be called before serving.
func (m *Master) SetHooks(h Hooks) { m.hooks = h }

func addrKey(a *alluxiopb.WorkerNetAddress) string {
	return net.JoinHostPort(a.GetHost(), strconv.Itoa(int(a.GetRpcPort())))
}

// workerIDFor derives a stable id from the address, so a worker keeps its id
// across master restarts and failovers without journaling registrations.
func workerIDFor(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	id := int64(h.Sum64() & 0x7fffffffffffffff)
	if id == 0 {
		id = 1
	}
	return id
}

// GetWorkerID returns the id of the worker at addr; the same address always
// gets the same id.
func (m *Master) GetWorkerID(addr *alluxiopb.WorkerNetAddress) (int64, error) {
	if err := validateAddress(addr); err != nil {
		return 0, err
	}
	key := addrKey(addr)
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byAddr[key]; ok {
		if w := m.workers[id]; w != nil {
			w.addr = addr
		}
		return id, nil
	}
	id := workerIDFor(key)
	for {
		w, taken := m.workers[id]
		if !taken || addrKey(w.addr) == key {
			break
		}
		id++ // hash collision: probe
	}
	m.byAddr[key] = id
	w := &worker{id: id, addr: addr, blocks: map[int64]string{}, lastContact: m.cfg.Now(), startTime: m.cfg.Now()}
	if old, ok := m.lost[id]; ok {
		w.startTime = old.startTime // it stays lost until it registers
	}
	m.workers[id] = w
	return id, nil
}

// insertBatch is how many block locations a registration inserts per
// acquisition of the block master's lock.
const insertBatch = 1 << 16

// partition reorders ids, blocks of live files first, and returns how many
// are live (all of them without hooks).
func (m *Master) partition(ids []int64) int {
	if m.hooks == nil {
		return len(ids)
	}
	return m.hooks.PartitionLive(ids)
}

// splitReport partitions the block lists of a report (tier -> ids, in place)
// into live blocks per tier and orphans.
func (m *Master) splitReport(tiers []string, lists map[string]*alluxiopb.BlockIdList) (live []tierBlocks, orphans []int64) {
	var parts [][]int64
	count := 0
	for _, tier := range tiers {
		ids := lists[tier].GetBlockIds()
		if len(ids) == 0 {
			continue
		}
		n := m.partition(ids)
		if n > 0 {
			live = append(live, tierBlocks{tier, ids[:n]})
		}
		if n < len(ids) {
			parts = append(parts, ids[n:])
			count += len(ids) - n
		}
	}
	if len(parts) == 1 {
		return live, parts[0]
	}
	orphans = make([]int64, 0, count)
	for _, p := range parts {
		orphans = append(orphans, p...)
	}
	return live, orphans
}

type tierBlocks struct {
	tier string
	ids  []int64
}

// commitMissing journals the reported lengths of live blocks whose length
// the master lacks (a commit the worker could not deliver).
func (m *Master) commitMissing(ctx context.Context, live []tierBlocks, reported map[int64]int64) error {
	if len(reported) == 0 || m.hooks == nil {
		return nil
	}
	var commit map[int64]int64
	for _, l := range live {
		for start := 0; start < len(l.ids); start += insertBatch {
			m.mu.RLock()
			for _, b := range l.ids[start:min(start+insertBatch, len(l.ids))] {
				if _, ok := m.lengths[b]; ok {
					continue
				}
				if n, has := reported[b]; has {
					if commit == nil {
						commit = map[int64]int64{}
					}
					commit[b] = n
				}
			}
			m.mu.RUnlock()
		}
	}
	if len(commit) == 0 {
		return nil
	}
	return m.hooks.CommitBlockInfos(ctx, commit)
}

// RegisterWorker records a worker's tiers and full block report, replacing
// its previous block locations. Blocks no live file owns (orphans) are not
// recorded; the worker's next heartbeat answers tell it to delete them. It
// reorders the block id lists of req.
//
// The work is O(report): orphans are sorted out with one namespace lookup
// per id, in batches under the namespace lock, and locations are inserted in
// batches under the block master's lock, so a report of millions of blocks
// never stalls other requests for its whole length.
func (m *Master) RegisterWorker(ctx context.Context, req *alluxiopb.RegisterWorkerRequest) error {
	if err := validateRegister(req); err != nil {
		return err
	}
	id := req.GetWorkerId()
	m.mu.RLock()
	_, ok := m.workers[id]
	m.mu.RUnlock()
	if !ok {
		return fmt.Errorf("blockmaster: unknown worker id %d (ask for a worker id first): %w", id, rpcstatus.ErrNotFound)
	}
	// Orphans and missing lengths are decided before taking the lock
	// (hooks take the file system master's lock).
	reports, orphans := m.splitReport(req.GetStorageTiers(), req.GetCurrentBlocksOnTiers())
	if err := m.commitMissing(ctx, reports, req.GetBlockLengths()); err != nil {
		return err
	}

	m.mu.Lock()
	w, ok := m.workers[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("blockmaster: worker %d was lost during registration: %w", id, rpcstatus.ErrNotFound)
	}
	for b := range w.blocks {
		m.removeLocationLocked(b, w.id)
	}
	w.gen++
	gen := w.gen
	total := 0
	for _, r := range reports {
		total += len(r.ids)
	}
	w.blocks = make(map[int64]string, total)
	w.tiers = append([]string(nil), req.GetStorageTiers()...)
	w.capacity = copyMap(req.GetTotalBytesOnTiers())
	w.used = copyMap(req.GetUsedBytesOnTiers())
	w.registered = true
	delete(m.lost, id)
	w.lastContact = m.cfg.Now()
	w.toDelete = orphans // pending deletes reappear as orphans in the report
	inserted := 0
	for _, r := range reports {
		tier := r.tier
		for _, b := range r.ids {
			if inserted > 0 && inserted%insertBatch == 0 {
				m.mu.Unlock()
				m.mu.Lock()
				if m.workers[id] != w || w.gen != gen {
					m.mu.Unlock()
					return fmt.Errorf("blockmaster: registration of worker %d superseded or lost while inserting its report: %w", id, rpcstatus.ErrFailedPrecondition)
				}
			}
			inserted++
			m.addLocationLocked(w, b, tier)
		}
	}
	m.mu.Unlock()
	m.log.Info("worker registered", "worker_id", id, "address", addrKey(w.addr), "blocks", inserted, "orphans", len(orphans))
	return nil
}

func copyMap(in map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (m *Master) removeLocationLocked(b, workerID int64) {
	locs := m.location[b]
	for i, l := range locs {
		if l.worker == workerID {
			locs = append(locs[:i], locs[i+1:]...)
			break
		}
	}
	if len(locs) == 0 {
		delete(m.location, b)
	} else {
		m.location[b] = locs
	}
}

// Heartbeat applies a worker's block changes and returns its command. It
// reorders the added block id lists of req.
func (m *Master) Heartbeat(ctx context.Context, req *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.Command, error) {
	if err := validateHeartbeat(req); err != nil {
		return nil, err
	}
	id := req.GetWorkerId()
	m.mu.RLock()
	w, ok := m.workers[id]
	known := ok && w.registered
	var err error
	var tiers []string
	if known {
		err = w.checkHeartbeat(req)
		tiers = w.tiers // replaced, never changed in place
	}
	m.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	// Persistence reports name files, not blocks: record them even from a
	// worker this master does not know yet (it reported them once only).
	if m.hooks != nil && (len(req.GetPersistedFileIds()) > 0 || len(req.GetFailedPersistFiles()) > 0) {
		m.hooks.FilesPersisted(ctx, id, req.GetPersistedFileIds(), req.GetFailedPersistFiles())
	}
	if !known {
		return &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_REGISTER}, nil
	}
	// Added blocks: commit lengths the master lacks, drop orphans.
	added, orphans := m.splitReport(tiers, req.GetAddedBlocksOnTiers())
	if err := m.commitMissing(ctx, added, req.GetAddedBlockLengths()); err != nil {
		return nil, err
	}
	m.mu.Lock()
	w, ok = m.workers[id]
	if !ok || !w.registered {
		m.mu.Unlock()
		return &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_REGISTER}, nil
	}
	w.lastContact = m.cfg.Now()
	for k, v := range req.GetUsedBytesOnTiers() {
		w.used[k] = v
	}
	for _, b := range req.GetRemovedBlockIds() {
		if _, has := w.blocks[b]; has {
			delete(w.blocks, b)
			m.removeLocationLocked(b, id)
		}
	}
	for _, a := range added {
		tier := w.tierName(a.tier)
		for _, b := range a.ids {
			m.addLocationLocked(w, b, tier)
		}
	}
	w.toDelete = append(w.toDelete, orphans...)
	var cmd *alluxiopb.Command
	switch {
	case len(w.toDelete) > 0:
		cmd = &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_DELETE}
		cmd.BlockIds, w.toDelete = takeBatch(w.toDelete)
	case len(w.toFree) > 0:
		cmd = &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_FREE}
		cmd.BlockIds, w.toFree = takeBatch(w.toFree)
	}
	m.mu.Unlock()
	if cmd != nil {
		return cmd, nil
	}
	if m.hooks != nil {
		if pf := m.hooks.PersistCommands(id); len(pf) > 0 {
			return &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_PERSIST, PersistFiles: pf}, nil
		}
	}
	return &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_NOTHING}, nil
}

// takeBatch splits off the first MaxCommandBlocks ids of a queue.
func takeBatch(q []int64) (batch, rest []int64) {
	if len(q) <= MaxCommandBlocks {
		return q, nil
	}
	return q[:MaxCommandBlocks:MaxCommandBlocks], q[MaxCommandBlocks:]
}

func (m *Master) addLocationLocked(w *worker, b int64, tier string) {
	if old, has := w.blocks[b]; has {
		if old == tier {
			return
		}
		m.removeLocationLocked(b, w.id)
	}
	w.blocks[b] = tier
	m.location[b] = append(m.location[b], location{worker: w.id, tier: tier})
}

// CommitBlock records that a worker finished writing a block: the length is
// journaled the first time, and the worker becomes a location. A commit of
// an already committed block with the same length (a retry) succeeds; with
// another length it fails with FailedPrecondition.
func (m *Master) CommitBlock(ctx context.Context, req *alluxiopb.CommitBlockRequest) error {
	if err := validateCommit(req); err != nil {
		return err
	}
	b, length := req.GetBlockId(), req.GetLength()
	m.mu.RLock()
	w, ok := m.workers[req.GetWorkerId()]
	known := ok && w.registered
	var err error
	if known {
		err = w.checkCommit(req)
	}
	committed, hasLen := m.lengths[b]
	m.mu.RUnlock()
	if !known {
		return fmt.Errorf("blockmaster: commit from unknown worker %d (register first): %w", req.GetWorkerId(), rpcstatus.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if m.hooks != nil {
		bs, live := m.hooks.BlockSize(b)
		if !live {
			m.mu.Lock()
			if w := m.workers[req.GetWorkerId()]; w != nil {
				w.toDelete = append(w.toDelete, b)
			}
			m.mu.Unlock()
			return fmt.Errorf("blockmaster: block %d belongs to no file: %w", b, rpcstatus.ErrNotFound)
		}
		if length > bs {
			return invalidf("length %d of block %d exceeds its file's block size %d", length, b, bs)
		}
		if !hasLen {
			if err := m.hooks.CommitBlockInfos(ctx, map[int64]int64{b: length}); err != nil {
				return err
			}
			if committed, hasLen = m.BlockLength(b); !hasLen {
				return fmt.Errorf("blockmaster: block %d was deleted while being committed: %w", b, rpcstatus.ErrNotFound)
			}
		}
		if committed != length {
			return fmt.Errorf("blockmaster: block %d is committed with length %d, not %d: %w", b, committed, length, rpcstatus.ErrFailedPrecondition)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok = m.workers[req.GetWorkerId()]
	if !ok {
		return fmt.Errorf("blockmaster: worker %d was lost: %w", req.GetWorkerId(), rpcstatus.ErrNotFound)
	}
	tier := w.tierName(req.GetTierAlias())
	m.addLocationLocked(w, b, tier)
	if w.used == nil {
		w.used = map[string]int64{}
	}
	if req.GetUsedBytesOnTier() > 0 {
		w.used[tier] = req.GetUsedBytesOnTier()
	}
	w.lastContact = m.cfg.Now()
	return nil
}

// ApplyBlockInfo records a committed block length (journal apply path).
func (m *Master) ApplyBlockInfo(blockID, length int64) {
	m.mu.Lock()
	m.lengths[blockID] = length
	m.mu.Unlock()
}

// ApplyDeleteBlock forgets a block (journal apply path).
func (m *Master) ApplyDeleteBlock(blockID int64) {
	m.mu.Lock()
	delete(m.lengths, blockID)
	m.mu.Unlock()
}

// ResetBlockInfo forgets every committed length (before a checkpoint loads).
func (m *Master) ResetBlockInfo() {
	m.mu.Lock()
	m.lengths = make(map[int64]int64)
	m.mu.Unlock()
}

// BlockLength returns a committed block's length.
func (m *Master) BlockLength(blockID int64) (int64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l, ok := m.lengths[blockID]
	return l, ok
}

// EachBlockInfo calls fn for every committed block, sorted by id.
func (m *Master) EachBlockInfo(fn func(id, length int64) error) error {
	m.mu.RLock()
	ids := make([]int64, 0, len(m.lengths))
	for id := range m.lengths {
		ids = append(ids, id)
	}
	lengths := make([]int64, len(ids))
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i, id := range ids {
		lengths[i] = m.lengths[id]
	}
	m.mu.RUnlock()
	for i, id := range ids {
		if err := fn(id, lengths[i]); err != nil {
			return err
		}
	}
	return nil
}

// BlockInfo returns a block's length and locations. Length is -1 when unknown.
func (m *Master) BlockInfo(blockID int64) *alluxiopb.BlockInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.blockInfoLocked(blockID)
}

func (m *Master) blockInfoLocked(blockID int64) *alluxiopb.BlockInfo {
	bi := &alluxiopb.BlockInfo{BlockId: blockID, Length: -1}
	if l, ok := m.lengths[blockID]; ok {
		bi.Length = l
	}
	for _, loc := range m.location[blockID] {
		w := m.workers[loc.worker]
		if w == nil {
			continue
		}
		bi.Locations = append(bi.Locations, &alluxiopb.BlockLocation{WorkerId: w.id, WorkerAddress: w.addr, TierAlias: loc.tier})
	}
	return bi
}

// BlockInfos returns BlockInfo for several blocks under one lock.
func (m *Master) BlockInfos(ids []int64) []*alluxiopb.BlockInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*alluxiopb.BlockInfo, len(ids))
	for i, id := range ids {
		out[i] = m.blockInfoLocked(id)
	}
	return out
}

// HasLocation reports whether any worker holds the block.
func (m *Master) HasLocation(blockID int64) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.location[blockID]) > 0
}

// WorkerHolds reports whether a worker holds a block.
func (m *Master) WorkerHolds(workerID, blockID int64) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	w := m.workers[workerID]
	if w == nil {
		return false
	}
	_, ok := w.blocks[blockID]
	return ok
}

// FreeBlocks asks every worker holding the blocks to evict them.
func (m *Master) FreeBlocks(ids []int64) { m.queue(ids, false) }

// DeleteBlocks asks every worker holding the blocks to delete them.
func (m *Master) DeleteBlocks(ids []int64) { m.queue(ids, true) }

func (m *Master) queue(ids []int64, del bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range ids {
		for _, loc := range m.location[b] {
			w := m.workers[loc.worker]
			if w == nil {
				continue
			}
			if del {
				w.toDelete = append(w.toDelete, b)
			} else {
				w.toFree = append(w.toFree, b)
			}
		}
	}
}

// minTempWorkerTTL is the least time a worker id issued by GetWorkerID is
// kept for the worker's registration.
const minTempWorkerTTL = time.Minute

// DetectLost marks workers not heard from within the timeout as lost and
// drops their locations. It returns the ids marked lost.
func (m *Master) DetectLost() []int64 {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Before(m.graceUntil) {
		return nil
	}
	var lost []int64
	for id, w := range m.workers {
		if !w.registered {
			// An id was issued, but the worker never registered: it was
			// never live, so it is not lost; forget it after a while.
			if now.Sub(w.lastContact) > max(m.cfg.WorkerTimeout, minTempWorkerTTL) {
				delete(m.workers, id)
				delete(m.byAddr, addrKey(w.addr))
			}
			continue
		}
		if now.Sub(w.lastContact) <= m.cfg.WorkerTimeout {
			continue
		}
		for b := range w.blocks {
			m.removeLocationLocked(b, id)
		}
		w.blocks = map[int64]string{}
		w.registered = false
		delete(m.workers, id)
		delete(m.byAddr, addrKey(w.addr))
		m.lost[id] = w
		lost = append(lost, id)
		m.log.Warn("worker lost", "worker_id", id, "address", addrKey(w.addr), "last_contact", w.lastContact)
	}
	return lost
}

// BeginTerm prepares a new leadership term: it forgets every worker
// registration and block location (never journaled: a new leader learns them
// again when its heartbeat answer REGISTER makes each worker send a full
// block report), and declares no worker lost for one worker timeout from
// now, so every worker has the chance to find the new leader first.
func (m *Master) BeginTerm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetWorkersLocked()
	m.graceUntil = m.cfg.Now().Add(m.cfg.WorkerTimeout)
}

// EndTerm forgets every worker registration and block location: a standby
// tracks none, and after it leads again workers register anew.
func (m *Master) EndTerm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetWorkersLocked()
}

func (m *Master) forgetWorkersLocked() {
	m.workers = make(map[int64]*worker)
	m.byAddr = make(map[string]int64)
	m.lost = make(map[int64]*worker)
	m.location = make(map[int64][]location)
}

// RunLostDetector checks for lost workers until ctx ends.
func (m *Master) RunLostDetector(ctx context.Context) {
	iv := m.cfg.WorkerTimeout / 4
	if iv > 10*time.Second {
		iv = 10 * time.Second
	}
	if iv < 10*time.Millisecond {
		iv = 10 * time.Millisecond
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.DetectLost()
		}
	}
}

func (m *Master) workerInfoLocked(w *worker, state string) *alluxiopb.WorkerInfo {
	wi := &alluxiopb.WorkerInfo{
		Id: w.id, Address: w.addr, State: state,
		LastContactSec: int64(m.cfg.Now().Sub(w.lastContact) / time.Second),
		StartTimeMs:    w.startTime.UnixMilli(),
		BlockCount:     int64(len(w.blocks)),
	}
	for _, t := range w.tiers {
		c, u := w.capacity[t], w.used[t]
		wi.CapacityBytes += c
		wi.UsedBytes += u
		wi.Tiers = append(wi.Tiers, &alluxiopb.TierCapacity{Alias: t, CapacityBytes: c, UsedBytes: u})
	}
	return wi
}

// WorkerInfoList reports live and lost workers, sorted by id.
func (m *Master) WorkerInfoList() (live, lost []*alluxiopb.WorkerInfo) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, w := range m.workers {
		if w.registered {
			live = append(live, m.workerInfoLocked(w, "LIVE"))
		}
	}
	for _, w := range m.lost {
		lost = append(lost, m.workerInfoLocked(w, "LOST"))
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Id < live[j].Id })
	sort.Slice(lost, func(i, j int) bool { return lost[i].Id < lost[j].Id })
	return live, lost
}

// LiveWorkers is the number of registered, live workers.
func (m *Master) LiveWorkers() int {
	live, _ := m.WorkerInfoList()
	return len(live)
}

// Info is the cluster capacity report.
func (m *Master) Info() *alluxiopb.GetBlockMasterInfoResponse {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r := &alluxiopb.GetBlockMasterInfoResponse{CapacityBytesOnTiers: map[string]int64{}, UsedBytesOnTiers: map[string]int64{}}
	for _, w := range m.workers {
		if !w.registered {
			continue
		}
		r.LiveWorkerNum++
		for _, t := range w.tiers {
			r.CapacityBytesOnTiers[t] += w.capacity[t]
			r.UsedBytesOnTiers[t] += w.used[t]
			r.CapacityBytes += w.capacity[t]
			r.UsedBytes += w.used[t]
		}
	}
	r.LostWorkerNum = int32(len(m.lost))
	r.FreeBytes = r.CapacityBytes - r.UsedBytes
	return r
}
