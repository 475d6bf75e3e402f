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
	// id -> length) and applies them (ApplyBlockInfo) before returning.
	CommitBlockInfos(ctx context.Context, lengths map[int64]int64) error
	// BlockExists reports whether a block belongs to a live file.
	BlockExists(blockID int64) bool
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
	if addr.GetHost() == "" || addr.GetRpcPort() <= 0 {
		return 0, fmt.Errorf("blockmaster: worker address needs host and rpc port: %w", rpcstatus.ErrInvalidArgument)
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
		w.startTime = old.startTime
		delete(m.lost, id)
	}
	m.workers[id] = w
	return id, nil
}

// RegisterWorker records a worker's tiers and full block report, replacing
// its previous block locations. It returns blocks the worker should delete
// (ids no live file owns).
func (m *Master) RegisterWorker(ctx context.Context, req *alluxiopb.RegisterWorkerRequest) error {
	var all []int64
	for _, l := range req.GetCurrentBlocksOnTiers() {
		all = append(all, l.GetBlockIds()...)
	}
	// Decide orphans and missing lengths before taking the lock (hooks may
	// take the file system master's lock).
	var orphans, candidates, commit []int64
	for _, b := range all {
		if m.hooks != nil && !m.hooks.BlockExists(b) {
			orphans = append(orphans, b)
		} else {
			candidates = append(candidates, b)
		}
	}
	m.mu.RLock()
	for _, b := range candidates {
		if _, ok := m.lengths[b]; !ok {
			if _, has := req.GetBlockLengths()[b]; has {
				commit = append(commit, b)
			}
		}
	}
	m.mu.RUnlock()
	if len(commit) > 0 && m.hooks != nil {
		lengths := make(map[int64]int64, len(commit))
		for _, b := range commit {
			lengths[b] = req.GetBlockLengths()[b]
		}
		if err := m.hooks.CommitBlockInfos(ctx, lengths); err != nil {
			return err
		}
	}
	orphanSet := make(map[int64]bool, len(orphans))
	for _, b := range orphans {
		orphanSet[b] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[req.GetWorkerId()]
	if !ok {
		return fmt.Errorf("blockmaster: unknown worker id %d (ask for a worker id first): %w", req.GetWorkerId(), rpcstatus.ErrNotFound)
	}
	for b := range w.blocks {
		m.removeLocationLocked(b, w.id)
	}
	w.blocks = make(map[int64]string, len(all))
	w.tiers = append([]string(nil), req.GetStorageTiers()...)
	w.capacity = copyMap(req.GetTotalBytesOnTiers())
	w.used = copyMap(req.GetUsedBytesOnTiers())
	w.registered = true
	w.lastContact = m.cfg.Now()
	w.toDelete = orphans // pending deletes reappear as orphans in the report
	for tier, l := range req.GetCurrentBlocksOnTiers() {
		for _, b := range l.GetBlockIds() {
			if orphanSet[b] {
				continue
			}
			w.blocks[b] = tier
			m.location[b] = append(m.location[b], location{worker: w.id, tier: tier})
		}
	}
	m.log.Info("worker registered", "worker_id", w.id, "address", addrKey(w.addr), "blocks", len(w.blocks), "orphans", len(orphans))
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

// Heartbeat applies a worker's block changes and returns its command.
func (m *Master) Heartbeat(ctx context.Context, req *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.Command, error) {
	id := req.GetWorkerId()
	// Persistence reports name files, not blocks: record them even from a
	// worker this master does not know yet (it reported them once only).
	if m.hooks != nil && (len(req.GetPersistedFileIds()) > 0 || len(req.GetFailedPersistFiles()) > 0) {
		m.hooks.FilesPersisted(ctx, id, req.GetPersistedFileIds(), req.GetFailedPersistFiles())
	}
	m.mu.RLock()
	w, ok := m.workers[id]
	known := ok && w.registered
	m.mu.RUnlock()
	if !known {
		return &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_REGISTER}, nil
	}
	// Added blocks: commit lengths the master lacks, drop orphans.
	var orphans []int64
	commit := map[int64]int64{}
	for _, l := range req.GetAddedBlocksOnTiers() {
		for _, b := range l.GetBlockIds() {
			if m.hooks != nil && !m.hooks.BlockExists(b) {
				orphans = append(orphans, b)
				continue
			}
			if length, has := req.GetAddedBlockLengths()[b]; has && !m.hasLength(b) {
				commit[b] = length
			}
		}
	}
	if len(commit) > 0 && m.hooks != nil {
		if err := m.hooks.CommitBlockInfos(ctx, commit); err != nil {
			return nil, err
		}
	}
	orphanSet := make(map[int64]bool, len(orphans))
	for _, b := range orphans {
		orphanSet[b] = true
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
	for tier, l := range req.GetAddedBlocksOnTiers() {
		for _, b := range l.GetBlockIds() {
			if orphanSet[b] {
				continue
			}
			m.addLocationLocked(w, b, tier)
		}
	}
	w.toDelete = append(w.toDelete, orphans...)
	var cmd *alluxiopb.Command
	switch {
	case len(w.toDelete) > 0:
		cmd = &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_DELETE, BlockIds: w.toDelete}
		w.toDelete = nil
	case len(w.toFree) > 0:
		cmd = &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_FREE, BlockIds: w.toFree}
		w.toFree = nil
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

func (m *Master) hasLength(b int64) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.lengths[b]
	return ok
}

// CommitBlock records that a worker finished writing a block: the length is
// journaled the first time, and the worker becomes a location.
func (m *Master) CommitBlock(ctx context.Context, req *alluxiopb.CommitBlockRequest) error {
	b := req.GetBlockId()
	m.mu.RLock()
	w, ok := m.workers[req.GetWorkerId()]
	known := ok && w.registered
	_, hasLen := m.lengths[b]
	m.mu.RUnlock()
	if !known {
		return fmt.Errorf("blockmaster: commit from unknown worker %d (register first): %w", req.GetWorkerId(), rpcstatus.ErrNotFound)
	}
	if m.hooks != nil && !m.hooks.BlockExists(b) {
		m.mu.Lock()
		if w := m.workers[req.GetWorkerId()]; w != nil {
			w.toDelete = append(w.toDelete, b)
		}
		m.mu.Unlock()
		return fmt.Errorf("blockmaster: block %d belongs to no file: %w", b, rpcstatus.ErrNotFound)
	}
	if !hasLen && m.hooks != nil {
		if err := m.hooks.CommitBlockInfos(ctx, map[int64]int64{b: req.GetLength()}); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok = m.workers[req.GetWorkerId()]
	if !ok {
		return fmt.Errorf("blockmaster: worker %d was lost: %w", req.GetWorkerId(), rpcstatus.ErrNotFound)
	}
	tier := req.GetTierAlias()
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
