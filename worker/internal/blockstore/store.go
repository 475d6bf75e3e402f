package blockstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

const (
	committedDirName = "alluxioworker"
	tempDirName      = ".tmp_blocks"
	moveDirName      = "_move"
)

// DirConfig is one storage directory of a tier.
type DirConfig struct {
	Path  string
	Quota int64 // bytes
}

// TierConfig is one storage tier.
type TierConfig struct {
	Alias string
	Dirs  []DirConfig
	// HighWatermark and LowWatermark are ratios of the tier's capacity; when
	// usage passes High, blocks are evicted down to Low. Zero means 0.95/0.7.
	HighWatermark float64
	LowWatermark  float64
}

// Config configures a Store.
type Config struct {
	Tiers  []TierConfig // fastest first
	Logger *slog.Logger // nil = discard
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Tiers) == 0 {
		return errors.New("blockstore: no tiers configured")
	}
	seen := map[string]bool{}
	for i, t := range c.Tiers {
		if t.Alias == "" {
			return fmt.Errorf("blockstore: tier %d has no alias", i)
		}
		if seen[t.Alias] {
			return fmt.Errorf("blockstore: tier alias %q used twice", t.Alias)
		}
		seen[t.Alias] = true
		if len(t.Dirs) == 0 {
			return fmt.Errorf("blockstore: tier %s has no directories", t.Alias)
		}
		for _, d := range t.Dirs {
			if d.Path == "" {
				return fmt.Errorf("blockstore: tier %s has an empty directory path", t.Alias)
			}
			if d.Quota <= 0 {
				return fmt.Errorf("blockstore: tier %s directory %s has non-positive quota %d", t.Alias, d.Path, d.Quota)
			}
		}
		hi, lo := t.HighWatermark, t.LowWatermark
		if hi == 0 {
			hi = 0.95
		}
		if lo == 0 {
			lo = 0.7
		}
		if hi <= 0 || hi > 1 || lo < 0 || lo > hi {
			return fmt.Errorf("blockstore: tier %s watermarks must satisfy 0 <= low (%v) <= high (%v) <= 1", t.Alias, lo, hi)
		}
	}
	return nil
}

type tier struct {
	alias     string
	level     int
	dirs      []*dir
	high, low float64
}

func (t *tier) capacity() int64 {
	var n int64
	for _, d := range t.dirs {
		n += d.capacity
	}
	return n
}

func (t *tier) used() int64 {
	var n int64
	for _, d := range t.dirs {
		n += d.used()
	}
	return n
}

type dir struct {
	tier      *tier
	path      string
	capacity  int64
	committed int64  // bytes of committed blocks
	reserved  int64  // bytes reserved by temp blocks, moves and the spare
	spare     *spare // see spare.go
	tmpfs     bool   // spares are made on tmpfs only
	noSpare   bool   // fallocate failed as unsupported
}

func (d *dir) used() int64 { return d.committed + d.reserved }
func (d *dir) free() int64 { return d.capacity - d.used() }
func (d *dir) blockPath(id int64) string {
	return filepath.Join(d.path, committedDirName, strconv.FormatInt(id, 10))
}
func (d *dir) sessionDir(session int64) string {
	return filepath.Join(d.path, tempDirName, strconv.FormatInt(session, 10))
}

type block struct {
	id       int64
	length   int64
	dir      *dir
	access   uint64 // LRU clock value of the last access
	locks    int    // readers and short-circuit locks
	pinned   bool
	removing bool // Remove requested while locked
}

type change struct {
	added bool
	seq   uint64
}

type lockRec struct {
	blockID int64
	expires time.Time // zero = never
}

// Store is a tiered block store. It is safe for concurrent use.
type Store struct {
	log   *slog.Logger
	tiers []*tier

	mu       sync.Mutex
	blocks   map[int64]*block
	temps    map[int64]*TempBlock
	changes  map[int64]*change
	changeSq uint64
	clock    uint64 // LRU clock
	locks    map[int64]*lockRec
	lockSeq  int64
	moveSeq  uint64
	spareSeq uint64
	spareWG  sync.WaitGroup // spares being prepared (tests wait for them)

	// hookMoveCopied, if set (tests), runs after a move copied a block and
	// before s.mu is taken again.
	hookMoveCopied func(id int64)
	stats          Stats
}

// Stats are cumulative counters of a store.
type Stats struct {
	Evictions      int64 // blocks moved down or dropped by eviction
	EvictedBytes   int64
	DroppedBlocks  int64 // evicted out of the last tier
	Promotions     int64
	CommittedBytes int64 // bytes of blocks committed since start
}

// BlockMeta describes a committed block.
type BlockMeta struct {
	ID     int64
	Length int64
	Tier   string
	Path   string
	Pinned bool
}

// Open creates the tier directories, deletes leftover temp blocks and
// recovers the committed blocks.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		log:     log,
		blocks:  make(map[int64]*block),
		temps:   make(map[int64]*TempBlock),
		changes: make(map[int64]*change),
		locks:   make(map[int64]*lockRec),
	}
	for i, tc := range cfg.Tiers {
		t := &tier{alias: tc.Alias, level: i, high: tc.HighWatermark, low: tc.LowWatermark}
		if t.high == 0 {
			t.high = 0.95
		}
		if t.low == 0 {
			t.low = 0.7
		}
		for _, dc := range tc.Dirs {
			t.dirs = append(t.dirs, &dir{tier: t, path: filepath.Clean(dc.Path), capacity: dc.Quota})
		}
		s.tiers = append(s.tiers, t)
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for _, t := range s.tiers {
		s.checkWatermarkLocked(t)
	}
	s.mu.Unlock()
	return s, nil
}

// recover scans the tier directories, top tier first.
func (s *Store) recover() error {
	for _, t := range s.tiers {
		for _, d := range t.dirs {
			if err := os.MkdirAll(filepath.Join(d.path, committedDirName), 0o755); err != nil {
				return fmt.Errorf("blockstore: create tier %s directory: %w", t.alias, err)
			}
			d.tmpfs = onTmpfs(d.path)
			tmp := filepath.Join(d.path, tempDirName)
			if err := os.RemoveAll(tmp); err != nil {
				return fmt.Errorf("blockstore: sweep temp blocks in %s: %w", tmp, err)
			}
			if err := os.MkdirAll(tmp, 0o755); err != nil {
				return fmt.Errorf("blockstore: create %s: %w", tmp, err)
			}
			ents, err := os.ReadDir(filepath.Join(d.path, committedDirName))
			if err != nil {
				return fmt.Errorf("blockstore: scan %s: %w", d.path, err)
			}
			for _, e := range ents {
				p := filepath.Join(d.path, committedDirName, e.Name())
				id, perr := strconv.ParseInt(e.Name(), 10, 64)
				if perr != nil || !e.Type().IsRegular() {
					s.log.Warn("blockstore: removing stray entry", "path", p)
					_ = os.RemoveAll(p)
					continue
				}
				info, err := e.Info()
				if err != nil {
					return fmt.Errorf("blockstore: stat %s: %w", p, err)
				}
				if old, dup := s.blocks[id]; dup {
					// A crash between the rename and the source removal of a
					// move leaves two copies; keep the one found first (the
					// faster tier), which is complete because it was renamed.
					s.log.Warn("blockstore: duplicate block, removing the slower copy", "block", id, "kept", old.dir.path, "removed", p)
					_ = os.Remove(p)
					continue
				}
				s.clock++
				s.blocks[id] = &block{id: id, length: info.Size(), dir: d, access: s.clock}
				d.committed += info.Size()
			}
			if d.committed > d.capacity {
				s.log.Warn("blockstore: recovered blocks exceed the directory quota", "dir", d.path, "used", d.committed, "quota", d.capacity)
			}
		}
	}
	s.log.Info("blockstore: recovered blocks", "count", len(s.blocks))
	return nil
}

// Format deletes the block data (committed and temporary) of every tier
// directory of cfg, leaving the directories themselves in place.
func Format(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, t := range cfg.Tiers {
		for _, d := range t.Dirs {
			for _, sub := range []string{committedDirName, tempDirName} {
				if err := os.RemoveAll(filepath.Join(d.Path, sub)); err != nil {
					return fmt.Errorf("blockstore: format %s: %w", d.Path, err)
				}
			}
		}
	}
	return nil
}

// Tiers returns the tier aliases, fastest first.
func (s *Store) Tiers() []string {
	out := make([]string, len(s.tiers))
	for i, t := range s.tiers {
		out[i] = t.alias
	}
	return out
}

func (s *Store) tierByAlias(alias string) (*tier, error) {
	if alias == "" {
		return s.tiers[0], nil
	}
	for _, t := range s.tiers {
		if t.alias == alias {
			return t, nil
		}
	}
	return nil, fmt.Errorf("blockstore: unknown tier %q (have %v): %w", alias, s.Tiers(), rpcstatus.ErrInvalidArgument)
}

// Get describes a committed block.
func (s *Store) Get(id int64) (BlockMeta, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[id]
	if !ok || b.removing {
		return BlockMeta{}, false
	}
	return s.metaLocked(b), true
}

func (s *Store) metaLocked(b *block) BlockMeta {
	return BlockMeta{ID: b.id, Length: b.length, Tier: b.dir.tier.alias, Path: b.dir.blockPath(b.id), Pinned: b.pinned}
}

// Has reports whether a committed block is present.
func (s *Store) Has(id int64) bool {
	_, ok := s.Get(id)
	return ok
}

func notFound(id int64) error {
	return fmt.Errorf("blockstore: block %d: %w", id, rpcstatus.ErrNotFound)
}

// BlockReader reads a committed block. The block is not evicted, moved or
// removed until Close.
type BlockReader struct {
	f       *os.File
	length  int64
	meta    BlockMeta
	release func()
	once    sync.Once
}

// ReadAt implements io.ReaderAt.
func (r *BlockReader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Map maps [start, end) of the block file read-only, so it can be sent
// without first being copied into a buffer. The mapping outlives Close and
// even the block's removal (committed blocks are never modified in place);
// unmap releases it, after which data must not be touched.
func (r *BlockReader) Map(start, end int64) (data []byte, unmap func() error, err error) {
	if start < 0 || end > r.length || start >= end {
		return nil, nil, fmt.Errorf("blockstore: map [%d, %d) of block %d of %d bytes: %w", start, end, r.meta.ID, r.length, rpcstatus.ErrInvalidArgument)
	}
	page := int64(os.Getpagesize())
	base := start &^ (page - 1)
	m, err := unix.Mmap(int(r.f.Fd()), base, int(end-base), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, nil, fmt.Errorf("blockstore: map block %d: %w", r.meta.ID, err)
	}
	return m[start-base:], func() error { return unix.Munmap(m) }, nil
}

// WriteRangeTo writes n bytes of the block from offset start to w. When w is
// a TCP connection the kernel sends them straight from the file (sendfile).
// It moves the reader's file offset, so it must not run concurrently with
// itself; ReadAt is unaffected.
func (r *BlockReader) WriteRangeTo(w io.Writer, start, n int64) (int64, error) {
	if start < 0 || n < 0 || start > r.length || n > r.length-start {
		return 0, fmt.Errorf("blockstore: range [%d, %d+%d) of block %d of %d bytes: %w", start, start, n, r.meta.ID, r.length, rpcstatus.ErrInvalidArgument)
	}
	if _, err := r.f.Seek(start, io.SeekStart); err != nil {
		return 0, fmt.Errorf("blockstore: seek block %d: %w", r.meta.ID, err)
	}
	sent, err := io.Copy(w, &io.LimitedReader{R: r.f, N: n})
	if err == nil && sent < n {
		err = fmt.Errorf("blockstore: block %d file ended at %d of %d bytes: %w", r.meta.ID, start+sent, start+n, io.ErrUnexpectedEOF)
	}
	return sent, err
}

// Length is the block length.
func (r *BlockReader) Length() int64 { return r.length }

// Meta describes the block as it was when the reader was opened.
func (r *BlockReader) Meta() BlockMeta { return r.meta }

// Close releases the read lock.
func (r *BlockReader) Close() error {
	var err error
	r.once.Do(func() {
		err = r.f.Close()
		r.release()
	})
	return err
}

// Reader opens a committed block for reading and marks it recently used.
func (s *Store) Reader(id int64) (*BlockReader, error) {
	s.mu.Lock()
	b, ok := s.blocks[id]
	if !ok || b.removing {
		s.mu.Unlock()
		return nil, notFound(id)
	}
	b.locks++
	s.touchLocked(b)
	meta := s.metaLocked(b)
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.unlockBlockLocked(b)
	}
	f, err := os.Open(meta.Path)
	if err != nil {
		release()
		return nil, fmt.Errorf("blockstore: open block %d: %w", id, err)
	}
	return &BlockReader{f: f, length: b.length, meta: meta, release: release}, nil
}

func (s *Store) touchLocked(b *block) {
	s.clock++
	b.access = s.clock
}

func (s *Store) unlockBlockLocked(b *block) {
	b.locks--
	if b.locks == 0 && b.removing {
		s.dropLocked(b, "deferred remove")
	}
}

// Lock takes a read lock on a committed block for short-circuit access and
// returns its meta and a lock id for Unlock. A positive lease lets
// ExpireLocks release the lock once it passes.
func (s *Store) Lock(id int64, lease time.Duration) (BlockMeta, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[id]
	if !ok || b.removing {
		return BlockMeta{}, 0, notFound(id)
	}
	b.locks++
	s.touchLocked(b)
	s.lockSeq++
	rec := &lockRec{blockID: id}
	if lease > 0 {
		rec.expires = time.Now().Add(lease)
	}
	s.locks[s.lockSeq] = rec
	return s.metaLocked(b), s.lockSeq, nil
}

// Unlock releases a lock taken by Lock.
func (s *Store) Unlock(lockID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.locks[lockID]
	if !ok {
		return fmt.Errorf("blockstore: lock %d: %w", lockID, rpcstatus.ErrNotFound)
	}
	return s.releaseLockLocked(lockID, rec)
}

// UnlockBlock releases a lock taken by Lock, checking that it is on blockID.
func (s *Store) UnlockBlock(blockID, lockID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.locks[lockID]
	if !ok || rec.blockID != blockID {
		return fmt.Errorf("blockstore: lock %d on block %d: %w", lockID, blockID, rpcstatus.ErrNotFound)
	}
	return s.releaseLockLocked(lockID, rec)
}

func (s *Store) releaseLockLocked(lockID int64, rec *lockRec) error {
	delete(s.locks, lockID)
	if b, ok := s.blocks[rec.blockID]; ok {
		s.unlockBlockLocked(b)
	}
	return nil
}

// LockCount is the number of short-circuit locks held.
func (s *Store) LockCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.locks)
}

// ExpireLocks releases the short-circuit locks whose lease passed before now
// and returns how many it released.
func (s *Store) ExpireLocks(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, rec := range s.locks {
		if !rec.expires.IsZero() && now.After(rec.expires) {
			s.log.Warn("blockstore: short-circuit lock lease expired", "block", rec.blockID, "lock", id)
			_ = s.releaseLockLocked(id, rec)
			n++
		}
	}
	return n
}

// Remove deletes a committed block. If it is locked, the removal happens when
// the last lock is released and the block is invisible meanwhile.
func (s *Store) Remove(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[id]
	if !ok || b.removing {
		return notFound(id)
	}
	if b.locks > 0 {
		b.removing = true
		return nil
	}
	s.dropLocked(b, "remove")
	return nil
}

// dropLocked deletes a block's file and forgets it, recording the removal.
func (s *Store) dropLocked(b *block, why string) {
	if err := os.Remove(b.dir.blockPath(b.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("blockstore: remove block file", "block", b.id, "err", err)
	}
	b.dir.committed -= b.length
	delete(s.blocks, b.id)
	s.recordLocked(b.id, false)
	s.log.Debug("blockstore: block removed", "block", b.id, "why", why)
}

func (s *Store) recordLocked(id int64, added bool) {
	s.changeSq++
	s.changes[id] = &change{added: added, seq: s.changeSq}
}

// SetPinned pins or unpins a committed block; pinned blocks are not evicted.
func (s *Store) SetPinned(id int64, pinned bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[id]
	if !ok {
		return notFound(id)
	}
	b.pinned = pinned
	return nil
}

// Promote moves a block to the top tier (CACHE_PROMOTE). It is a no-op when
// the block is already there; it fails with ErrFailedPrecondition when the
// block is locked by someone else and with ErrResourceExhausted when the top
// tier has no room.
func (s *Store) Promote(id int64) error {
	return s.Move(id, s.tiers[0].alias)
}

// Move moves an unlocked block to the tier with the given alias.
func (s *Store) Move(id int64, alias string) error {
	t, err := s.tierByAlias(alias)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[id]
	if !ok || b.removing {
		return notFound(id)
	}
	if b.dir.tier == t {
		s.touchLocked(b)
		return nil
	}
	if b.locks > 0 {
		return fmt.Errorf("blockstore: block %d is locked: %w", id, rpcstatus.ErrFailedPrecondition)
	}
	// Keep the block from being chosen for eviction while we make room for it.
	b.locks++
	d := s.allocDirLocked(t, b.length, true)
	s.unlockBlockLocked(b)
	switch {
	case s.blocks[id] != b:
		return notFound(id)
	case b.locks > 0:
		return fmt.Errorf("blockstore: block %d is locked: %w", id, rpcstatus.ErrFailedPrecondition)
	case b.dir.tier == t:
		return nil
	case d == nil:
		return fmt.Errorf("blockstore: no room for block %d (%d bytes) in tier %s: %w", id, b.length, t.alias, rpcstatus.ErrResourceExhausted)
	}
	from := b.dir.tier.level
	switch err := s.moveLocked(b, d); {
	case errors.Is(err, errBlockGone):
		return notFound(id)
	case errors.Is(err, errBlockBusy):
		return fmt.Errorf("blockstore: block %d was locked while moving: %w", id, rpcstatus.ErrFailedPrecondition)
	case err != nil:
		return err
	}
	s.touchLocked(b)
	if t.level < from {
		s.stats.Promotions++
	}
	s.checkWatermarkLocked(t)
	return nil
}

// allocDirLocked finds a directory in t with need free bytes, evicting when
// evict is set. It returns nil when there is no room.
func (s *Store) allocDirLocked(t *tier, need int64, evict bool) *dir {
	if !slices.ContainsFunc(t.dirs, func(d *dir) bool { return d.free() >= need }) {
		// Spares go before anything is refused or evicted.
		for _, d := range t.dirs {
			s.dropSpareLocked(d)
		}
	}
	var best *dir
	for _, d := range t.dirs {
		if d.free() >= need && (best == nil || d.free() > best.free()) {
			best = d
		}
	}
	if best != nil || !evict {
		return best
	}
	// Try the directories with the most evictable room first.
	dirs := append([]*dir(nil), t.dirs...)
	sort.Slice(dirs, func(i, j int) bool {
		return dirs[i].free()+s.evictableLocked(dirs[i]) > dirs[j].free()+s.evictableLocked(dirs[j])
	})
	for _, d := range dirs {
		if d.capacity < need || d.free()+s.evictableLocked(d) < need {
			continue
		}
		if s.freeSpaceLocked(d, need) {
			return d
		}
	}
	return nil
}

func (s *Store) evictableLocked(d *dir) int64 {
	var n int64
	for _, b := range s.blocks {
		if b.dir == d && b.locks == 0 && !b.pinned {
			n += b.length
		}
	}
	return n
}

// candidatesLocked returns the evictable blocks of the given directories,
// least recently used first.
func (s *Store) candidatesLocked(in func(*dir) bool) []*block {
	var c []*block
	for _, b := range s.blocks {
		if in(b.dir) && b.locks == 0 && !b.pinned && !b.removing {
			c = append(c, b)
		}
	}
	sort.Slice(c, func(i, j int) bool { return c[i].access < c[j].access })
	return c
}

// evictableNowLocked re-checks a candidate after s.mu may have been released.
func (s *Store) evictableNowLocked(b *block) bool {
	return s.blocks[b.id] == b && b.locks == 0 && !b.pinned && !b.removing
}

// freeSpaceLocked evicts from d until it has need free bytes. s.mu may be
// released and reacquired while blocks are copied to the next tier.
func (s *Store) freeSpaceLocked(d *dir, need int64) bool {
	if d.free() >= need {
		return true
	}
	if s.dropSpareLocked(d) && d.free() >= need {
		return true
	}
	for _, b := range s.candidatesLocked(func(x *dir) bool { return x == d }) {
		if !s.evictableNowLocked(b) || b.dir != d {
			continue
		}
		s.evictLocked(b)
		if d.free() >= need {
			return true
		}
	}
	return d.free() >= need
}

// checkWatermarkLocked evicts from t down to its low watermark once its
// usage passes the high watermark.
func (s *Store) checkWatermarkLocked(t *tier) {
	capacity := float64(t.capacity())
	if float64(t.used()) <= t.high*capacity {
		return
	}
	for _, d := range t.dirs {
		s.dropSpareLocked(d)
	}
	if float64(t.used()) <= t.high*capacity {
		return
	}
	target := int64(t.low * capacity)
	s.log.Debug("blockstore: tier above high watermark", "tier", t.alias, "used", t.used(), "capacity", t.capacity())
	for _, b := range s.candidatesLocked(func(x *dir) bool { return x.tier == t }) {
		if t.used() <= target {
			break
		}
		if !s.evictableNowLocked(b) || b.dir.tier != t {
			continue
		}
		s.evictLocked(b)
	}
	if t.level+1 < len(s.tiers) {
		s.checkWatermarkLocked(s.tiers[t.level+1])
	}
}

// evictLocked moves b to the next tier, or drops it when there is none or
// the next tier has no room. It leaves b alone if it got locked meanwhile
// (s.mu is released while a block is copied).
func (s *Store) evictLocked(b *block) {
	lvl := b.dir.tier.level
	if lvl+1 < len(s.tiers) {
		b.locks++ // not a candidate while we make room below
		d := s.allocDirLocked(s.tiers[lvl+1], b.length, true)
		s.unlockBlockLocked(b)
		if !s.evictableNowLocked(b) {
			return // removed or locked meanwhile
		}
		if d != nil {
			switch err := s.moveLocked(b, d); {
			case err == nil:
				s.stats.Evictions++
				s.stats.EvictedBytes += b.length
				s.log.Debug("blockstore: evicted block to lower tier", "block", b.id, "tier", d.tier.alias)
				return
			case errors.Is(err, errBlockGone), errors.Is(err, errBlockBusy):
				return
			default:
				s.log.Warn("blockstore: move during eviction failed; dropping block", "block", b.id, "err", err)
				if !s.evictableNowLocked(b) {
					return
				}
			}
		}
	}
	s.stats.Evictions++
	s.stats.EvictedBytes += b.length
	s.stats.DroppedBlocks++
	s.dropLocked(b, "evict")
}

var (
	errBlockGone = errors.New("blockstore: block removed during move")
	errBlockBusy = errors.New("blockstore: block locked during move")
)

// moveLocked copies b into d (which has room), renames it into place and
// removes the source; the block is recorded as added on its new tier. s.mu is
// released during the copy: the destination space is reserved and the block
// is locked meanwhile. If the block was removed or locked by someone else
// during the copy, the copy is discarded and errBlockGone or errBlockBusy
// returned.
func (s *Store) moveLocked(b *block, d *dir) error {
	src := b.dir.blockPath(b.id)
	tmpDir := filepath.Join(d.path, tempDirName, moveDirName)
	tmp := filepath.Join(tmpDir, strconv.FormatInt(b.id, 10)+"."+strconv.FormatUint(s.nextMoveSeqLocked(), 10))
	d.reserved += b.length
	b.locks++
	s.mu.Unlock()
	err := os.MkdirAll(tmpDir, 0o755)
	if err == nil {
		err = copyFile(src, tmp)
	}
	if s.hookMoveCopied != nil {
		s.hookMoveCopied(b.id)
	}
	s.mu.Lock()
	d.reserved -= b.length
	s.unlockBlockLocked(b)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("blockstore: move block %d: %w", b.id, diskErr(err))
	}
	if s.blocks[b.id] != b {
		_ = os.Remove(tmp)
		return errBlockGone
	}
	if b.locks > 0 || b.removing {
		_ = os.Remove(tmp)
		return errBlockBusy
	}
	dst := d.blockPath(b.id)
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("blockstore: move block %d: %w", b.id, err)
	}
	_ = syncDir(filepath.Dir(dst))
	if err := os.Remove(src); err != nil {
		s.log.Warn("blockstore: remove moved block source", "path", src, "err", err)
	}
	b.dir.committed -= b.length
	d.committed += b.length
	b.dir = d
	s.recordLocked(b.id, true)
	return nil
}

func (s *Store) nextMoveSeqLocked() uint64 {
	s.moveSeq++
	return s.moveSeq
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// diskErr marks out-of-space errors from the disk as ErrResourceExhausted.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", rpcstatus.ErrResourceExhausted, err)
	}
	return err
}

// TierUsage is the capacity and usage of one tier.
type TierUsage struct {
	Alias    string
	Capacity int64
	Used     int64
	Blocks   int
}

// Usage reports every tier, fastest first.
func (s *Store) Usage() []TierUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usageLocked()
}

func (s *Store) usageLocked() []TierUsage {
	out := make([]TierUsage, len(s.tiers))
	for i, t := range s.tiers {
		out[i] = TierUsage{Alias: t.alias, Capacity: t.capacity(), Used: t.used()}
	}
	for _, b := range s.blocks {
		out[b.dir.tier.level].Blocks++
	}
	return out
}

// Stats returns the cumulative counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// BlockCount is the number of committed blocks.
func (s *Store) BlockCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.blocks)
}

// Report is a full block report for registration.
type Report struct {
	Tiers   []TierUsage
	Blocks  map[string][]int64 // tier alias -> block ids (sorted)
	Lengths map[int64]int64
	upToSeq uint64
}

// FullReport describes every committed block. After the master accepted it,
// pass it to AckReport so the changes it covers are not reported again.
func (s *Store) FullReport() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Report{Tiers: s.usageLocked(), Blocks: map[string][]int64{}, Lengths: map[int64]int64{}, upToSeq: s.changeSq}
	for _, t := range s.tiers {
		r.Blocks[t.alias] = []int64{}
	}
	for _, b := range s.blocks {
		if b.removing {
			continue
		}
		r.Blocks[b.dir.tier.alias] = append(r.Blocks[b.dir.tier.alias], b.id)
		r.Lengths[b.id] = b.length
	}
	for _, ids := range r.Blocks {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	return r
}

// AckReport forgets the changes a full report accepted by the master covered.
func (s *Store) AckReport(r Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.changes {
		if c.seq <= r.upToSeq {
			delete(s.changes, id)
		}
	}
}

// Delta is what changed since the last acknowledged heartbeat.
type Delta struct {
	Added   map[string][]int64 // tier alias -> block ids
	Lengths map[int64]int64    // lengths of the added blocks
	Removed []int64
	seqs    map[int64]uint64
}

// Delta returns the blocks added (committed, cached or moved) and removed
// since the last Ack. It does not clear them: call Ack once the master has
// accepted the heartbeat carrying them.
func (s *Store) Delta() Delta {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Delta{Added: map[string][]int64{}, Lengths: map[int64]int64{}, seqs: map[int64]uint64{}}
	for id, c := range s.changes {
		if c.added {
			b, ok := s.blocks[id]
			if !ok {
				continue
			}
			d.Added[b.dir.tier.alias] = append(d.Added[b.dir.tier.alias], id)
			d.Lengths[id] = b.length
		} else {
			d.Removed = append(d.Removed, id)
		}
		d.seqs[id] = c.seq
	}
	for _, ids := range d.Added {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	sort.Slice(d.Removed, func(i, j int) bool { return d.Removed[i] < d.Removed[j] })
	return d
}

// Ack forgets the changes of d that have not changed again since.
func (s *Store) Ack(d Delta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, seq := range d.seqs {
		if c, ok := s.changes[id]; ok && c.seq == seq {
			delete(s.changes, id)
		}
	}
}
