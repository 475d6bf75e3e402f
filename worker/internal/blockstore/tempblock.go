package blockstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// CreateOptions are the options of CreateBlock.
type CreateOptions struct {
	// Tier is the alias of the tier to write to; "" means the top tier, falling
	// back to lower tiers when it has no room.
	Tier string
	// Reserve is the space to reserve up front; more is reserved as the block grows.
	Reserve int64
	// Pinned blocks are never evicted.
	Pinned bool
}

// TempBlock is a block being written. It is invisible to readers until Commit;
// Abort (or any failure followed by Abort) discards it.
type TempBlock struct {
	s       *Store
	id      int64
	session int64
	dir     *dir
	path    string
	pinned  bool

	mu       sync.Mutex
	f        *os.File
	written  int64
	reserved int64
	prealloc int64 // bytes allocated ahead in f (a spare), beyond its size
	done     bool
}

// ID is the block id.
func (t *TempBlock) ID() int64 { return t.id }

// Tier is the alias of the tier the block is being written to.
func (t *TempBlock) Tier() string { return t.dir.tier.alias }

// Written is the number of bytes written so far.
func (t *TempBlock) Written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written
}

// CreateBlock starts writing block id for a session. It fails with
// ErrAlreadyExists when the block is committed or being written, and with
// ErrResourceExhausted when no directory can hold the reservation.
func (s *Store) CreateBlock(session, id int64, opts CreateOptions) (*TempBlock, error) {
	if opts.Reserve < 0 {
		return nil, fmt.Errorf("blockstore: negative reservation %d: %w", opts.Reserve, rpcstatus.ErrInvalidArgument)
	}
	var tiers []*tier
	if opts.Tier == "" {
		tiers = s.tiers
	} else {
		t, err := s.tierByAlias(opts.Tier)
		if err != nil {
			return nil, err
		}
		tiers = []*tier{t}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.blocks[id]; ok {
		if b.removing {
			// Its file stays until the last lock goes; a new copy would share the path.
			return nil, fmt.Errorf("blockstore: block %d is being removed and still locked: %w", id, rpcstatus.ErrAlreadyExists)
		}
		return nil, fmt.Errorf("blockstore: block %d: %w", id, rpcstatus.ErrAlreadyExists)
	}
	if _, ok := s.temps[id]; ok {
		return nil, fmt.Errorf("blockstore: block %d is being written: %w", id, rpcstatus.ErrAlreadyExists)
	}
	// A block file allocated ahead in the preferred tier (spare.go).
	if opts.Reserve >= spareMin {
		if d, sp := s.takeSpareLocked(tiers[0], opts.Reserve, session, id); d != nil {
			t := &TempBlock{s: s, id: id, session: session, dir: d, path: sp.path, pinned: opts.Pinned, f: sp.f, reserved: sp.size, prealloc: sp.size}
			s.temps[id] = t
			s.refillSpareLocked(d, opts.Reserve)
			return t, nil
		}
	}
	var d *dir
	// Prefer a tier with free room, then make room by eviction, top down.
	for _, evict := range []bool{false, true} {
		for _, t := range tiers {
			if d = s.allocDirLocked(t, opts.Reserve, evict); d != nil {
				break
			}
		}
		if d != nil {
			break
		}
	}
	if d == nil {
		return nil, fmt.Errorf("blockstore: no room to reserve %d bytes for block %d: %w", opts.Reserve, id, rpcstatus.ErrResourceExhausted)
	}
	// Eviction may have released s.mu: check again that no one took the id.
	if _, ok := s.blocks[id]; ok {
		return nil, fmt.Errorf("blockstore: block %d: %w", id, rpcstatus.ErrAlreadyExists)
	}
	if _, ok := s.temps[id]; ok {
		return nil, fmt.Errorf("blockstore: block %d is being written: %w", id, rpcstatus.ErrAlreadyExists)
	}
	sdir := d.sessionDir(session)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, fmt.Errorf("blockstore: create block %d: %w", id, diskErr(err))
	}
	p := filepath.Join(sdir, strconv.FormatInt(id, 10))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("blockstore: create block %d: %w", id, diskErr(err))
	}
	d.reserved += opts.Reserve
	t := &TempBlock{s: s, id: id, session: session, dir: d, path: p, pinned: opts.Pinned, f: f, reserved: opts.Reserve}
	s.temps[id] = t
	s.refillSpareLocked(d, opts.Reserve)
	return t, nil
}

var errDone = errors.New("blockstore: block already committed or aborted")

// Write appends p, reserving more space (evicting in the block's directory if
// needed). On error the caller must Abort.
func (t *TempBlock) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, errDone
	}
	if need := t.written + int64(len(p)) - t.reserved; need > 0 {
		if err := t.s.reserveMore(t, need); err != nil {
			return 0, err
		}
		t.reserved += need
	}
	n, err := t.f.Write(p)
	t.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("blockstore: write block %d: %w", t.id, diskErr(err))
	}
	return n, nil
}

// WriteBuffers appends the concatenation of bufs with writev, saving the
// copy into one contiguous buffer that Write would need. Errors are as
// Write's.
func (t *TempBlock) WriteBuffers(bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, errDone
	}
	if need := t.written + int64(total) - t.reserved; need > 0 {
		if err := t.s.reserveMore(t, need); err != nil {
			return 0, err
		}
		t.reserved += need
	}
	n, err := writev(t.f, bufs)
	t.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("blockstore: write block %d: %w", t.id, diskErr(err))
	}
	return n, nil
}

// WriteFrom appends exactly n bytes read from r, reserving them first. When r
// is a TCP or Unix socket the kernel moves the bytes (splice) without a copy
// through user space. Fewer than n bytes (r ended or failed) is an error
// wrapping io.ErrUnexpectedEOF or r's error; the caller must then Abort.
func (t *TempBlock) WriteFrom(r io.Reader, n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("blockstore: write block %d: negative length %d: %w", t.id, n, rpcstatus.ErrInvalidArgument)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, errDone
	}
	if need := t.written + n - t.reserved; need > 0 {
		if err := t.s.reserveMore(t, need); err != nil {
			return 0, err
		}
		t.reserved += need
	}
	got, err := t.f.ReadFrom(&io.LimitedReader{R: r, N: n})
	t.written += got
	if got < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return got, fmt.Errorf("blockstore: write block %d: got %d of %d bytes: %w", t.id, got, n, err)
	}
	return got, nil
}

// writev writes bufs to f in order, retrying short writes.
func writev(f *os.File, bufs [][]byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	total := 0
	const iovMax = 1024
	for len(bufs) > 0 {
		batch := bufs[:min(len(bufs), iovMax)]
		var n int
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Writev(int(fd), batch)
			return werr != unix.EAGAIN
		}); err != nil {
			return total, err
		}
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return total, &os.PathError{Op: "writev", Path: f.Name(), Err: werr}
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
		total += n
		// Drop what was written, keeping a partly written buffer's tail.
		for n > 0 && len(bufs) > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
				continue
			}
			bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
			n = 0
		}
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
	}
	return total, nil
}

func (s *Store) reserveMore(t *TempBlock, need int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.freeSpaceLocked(t.dir, need) {
		return fmt.Errorf("blockstore: block %d needs %d more bytes but tier %s directory %s has %d free of %d and nothing more to evict: %w",
			t.id, need, t.dir.tier.alias, t.dir.path, t.dir.free(), t.dir.capacity, rpcstatus.ErrResourceExhausted)
	}
	t.dir.reserved += need
	return nil
}

// Commit makes the block durable and visible.
func (t *TempBlock) Commit() (BlockMeta, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return BlockMeta{}, errDone
	}
	if t.prealloc > t.written {
		// Release the pages allocated ahead that the block did not fill.
		if err := fallocate(t.f, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, t.written, t.prealloc-t.written); err != nil {
			return BlockMeta{}, fmt.Errorf("blockstore: commit block %d: %w", t.id, diskErr(err))
		}
	}
	if err := t.f.Sync(); err != nil {
		return BlockMeta{}, fmt.Errorf("blockstore: sync block %d: %w", t.id, diskErr(err))
	}
	if err := t.f.Close(); err != nil {
		return BlockMeta{}, fmt.Errorf("blockstore: close block %d: %w", t.id, diskErr(err))
	}
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	dst := t.dir.blockPath(t.id)
	if err := os.Rename(t.path, dst); err != nil {
		t.f = nil
		return BlockMeta{}, fmt.Errorf("blockstore: commit block %d: %w", t.id, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		s.log.Warn("blockstore: fsync block directory", "dir", filepath.Dir(dst), "err", err)
	}
	_ = os.Remove(filepath.Dir(t.path)) // the session directory, if empty
	t.done = true
	t.dir.reserved -= t.reserved
	t.dir.committed += t.written
	delete(s.temps, t.id)
	b := &block{id: t.id, length: t.written, dir: t.dir, pinned: t.pinned}
	s.touchLocked(b)
	s.blocks[t.id] = b
	s.stats.CommittedBytes += t.written
	s.recordLocked(t.id, true)
	meta := s.metaLocked(b)
	b.locks++ // the fresh block is not a candidate for its own watermark eviction
	s.checkWatermarkLocked(t.dir.tier)
	s.unlockBlockLocked(b)
	return meta, nil
}

// Abort discards the block. It is safe to call after a failed Commit and more
// than once.
func (t *TempBlock) Abort() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	t.done = true
	if t.f != nil {
		_ = t.f.Close()
	}
	err := os.Remove(t.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	_ = os.Remove(filepath.Dir(t.path))
	s := t.s
	s.mu.Lock()
	t.dir.reserved -= t.reserved
	delete(s.temps, t.id)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("blockstore: abort block %d: %w", t.id, err)
	}
	return nil
}
