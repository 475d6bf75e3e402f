package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"runtime"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// writeBufferSize is the in-memory buffer in front of the open log.
const writeBufferSize = 256 << 10

// StartWriting makes this Journal the writer of a new term with the given
// epoch, which must be greater than every epoch in the journal (ErrStaleEpoch
// otherwise, before anything on disk is touched). It uses what the last
// Replay (or, for a hot standby, CatchUp) learned if the journal is
// unchanged since, and otherwise validates the logs after the newest
// checkpoint itself.
//
// It then seals the previous term's open log, fencing its writer:
//
//  1. rename 0x<start>-0x7fffffffffffffff to 0x<start>-0x7fffffffffffffff.sealing
//     and fsync the directory: from here on the old writer's fence check
//     fails, so it acknowledges nothing it writes later;
//  2. read the renamed file again (it may have grown since the scan) to its
//     last valid record: every record that a fence check passed for lies
//     before it;
//  3. truncate after that record, fsync, and rename the file to
//     0x<start>-0x<lastSeq+1> (an open log without valid records is
//     removed instead); fsync the directory.
//
// If this Journal has replayed (or had a writer, or caught up) and the
// journal now ends at a different seq than the state machine it fed, it
// returns ErrReplayNeeded after sealing: call Replay (or, with the state
// machine this Journal has been feeding, CatchUp), then StartWriting again.
// A Journal that never replayed is not checked.
//
// Finally it creates the open log 0x<lastSeq+1>-0x7fffffffffffffff
// (create-if-absent) and writes, durably, a NewTermEntry{epoch, leader,
// time} as the term's first entry, which fences records of older epochs
// that might follow it. The state machine sees that entry on replay like
// any other.
func (j *Journal) StartWriting(ctx context.Context, epoch int64) (Writer, error) {
	if epoch <= 0 {
		return nil, fmt.Errorf("journal: start writing: epoch %d must be positive", epoch)
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.writer != nil {
		return nil, ErrWriting
	}
	if err := j.checkFormatted(ctx); err != nil {
		return nil, err
	}
	var st *scanState
	for attempt := 0; ; attempt++ {
		var err error
		if st, err = j.writeScan(ctx); err != nil {
			return nil, err
		}
		j.learn(st)
		if epoch <= j.maxEpoch {
			return nil, fmt.Errorf("%w: epoch %d, journal has epoch %d", ErrStaleEpoch, epoch, j.maxEpoch)
		}
		err = j.fenceOpenLogs(ctx, st)
		if err == nil {
			break
		}
		// An open log was renamed (rotated by its still running writer)
		// between the scan and the fence: scan again.
		j.state = nil
		j.closeTail()
		if !errors.Is(err, fs.ErrNotExist) || attempt >= maxRelists {
			return nil, err
		}
	}
	j.state = nil
	j.closeTail()
	lastSeq := st.lastSeq
	if len(st.open) > 0 {
		var st2 *scanState
		var err error
		if st.openNotLast {
			// Read everything again as the sealer: the fenced logs are
			// .sealing now, which only the sealer reads (a plain scan would
			// stop at the first and take it for empty).
			limits := make(map[string]int64, len(st.open))
			for _, o := range st.open {
				limits[o.seg.name] = o.seg.size
			}
			st2, err = j.sealScan(ctx, limits)
			if err == nil && len(st2.open) == 0 {
				err = fmt.Errorf("%w: open logs vanished while sealing", ErrReplayNeeded)
			}
		} else {
			st2, err = j.rereadOpen(ctx, st)
		}
		if err != nil {
			return nil, err
		}
		j.learn(st2)
		for _, o := range st2.open {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
			if err := j.seal(ctx, o); err != nil {
				return nil, err
			}
		}
		lastSeq = st2.lastSeq
		if epoch <= j.maxEpoch {
			return nil, fmt.Errorf("%w: epoch %d, journal has epoch %d", ErrStaleEpoch, epoch, j.maxEpoch)
		}
	}
	if j.appliedKnown && j.applied != lastSeq {
		return nil, fmt.Errorf("%w: journal ends at seq %d, state machine at %d", ErrReplayNeeded, lastSeq, j.applied)
	}
	next := lastSeq + 1
	w := &writer{j: j, epoch: epoch, maxSize: j.cfg.LogSizeBytesMax, next: next, durable: lastSeq,
		log: j.log.With("epoch", epoch), flushDelay: j.flushDelay}
	if err := w.createLog(ctx, next); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %v (another writer created it)", ErrReplayNeeded, err)
		}
		return nil, err
	}
	seq, err := w.Append(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_NewTerm{NewTerm: &journalpb.NewTermEntry{
		Epoch: epoch, Leader: j.cfg.Leader, TimeMs: j.hooks.timeNow().UnixMilli(),
	}}})
	if err == nil {
		err = w.Flush(ctx, seq)
	}
	if err != nil {
		w.closeFile()
		return nil, err
	}
	j.writer = w
	j.maxEpoch = epoch
	j.fence = epoch
	j.highSeq = max(j.highSeq, seq)
	j.log.Info("journal writer started", "epoch", epoch, "first_seq", next, "file", w.path)
	return w, nil
}

// writeScan returns what StartWriting needs to know about the journal. It
// reuses the last Replay's scan if the journal is unchanged since; else, if
// this Journal's state machine position is known (after Replay, CatchUp or
// its own writer), it reads only the logs past that position (a hot standby
// taking over reads little more than the open log); else it validates the
// logs after the newest checkpoint. Called with j.mu held.
func (j *Journal) writeScan(ctx context.Context) (*scanState, error) {
	logs, _, fp, err := j.listing(ctx)
	if err != nil {
		return nil, err
	}
	if st := j.state; st != nil && st.listing == fp {
		return st, nil
	}
	if j.appliedKnown && j.applied >= 0 {
		st := &scanState{scanPos: scanPos{lastSeq: j.applied, maxEpoch: j.maxEpoch, fence: j.fence}, listing: fp}
		err := j.readLogs(ctx, logs, st, nil)
		if err == nil && st.reach >= j.applied {
			return st, nil
		}
		if err != nil && !errors.Is(err, errGap) {
			return nil, err
		}
		// Logs before the position were deleted by a checkpoint, or the
		// journal does not reach the position: read it all.
	}
	return j.scan(ctx, nil, false)
}

// fenceOpenLogs renames every open log of st to its .sealing name (step 1
// of sealing), then takes each away from its writer with Storage.Recover,
// which also fixes its length. Renaming comes first: recovering first would
// leave a window in which a deposed writer could reopen the log by its name.
// Called with j.mu held.
func (j *Journal) fenceOpenLogs(ctx context.Context, st *scanState) error {
	if j.hooks.beforeFence != nil {
		j.hooks.beforeFence()
	}
	for i := range st.open {
		o := &st.open[i]
		if o.seg.sealing {
			continue // fenced by an earlier StartWriting that did not finish
		}
		dst := o.seg.name + sealingSuffix
		if err := j.st.Rename(ctx, o.seg.name, dst); err != nil {
			return fmt.Errorf("journal: seal: fence: %w", err)
		}
		j.log.Info("journal: fenced open log", "file", where(j.st, dst))
		o.seg.name, o.seg.path, o.seg.sealing = dst, where(j.st, dst), true
	}
	for i := range st.open {
		o := &st.open[i]
		size, err := j.st.Recover(ctx, o.seg.name)
		if err != nil {
			return fmt.Errorf("journal: seal: recover: %w", err)
		}
		o.seg.size = size
	}
	return nil
}

// rereadOpen reads st's fenced open logs again from the position before the
// first of them (step 2 of sealing), each up to the length Recover
// returned: bytes past it were written after the fence and are no history.
// Called with j.mu held.
func (j *Journal) rereadOpen(ctx context.Context, st *scanState) (*scanState, error) {
	first := st.open[0]
	st2 := &scanState{scanPos: first.before, cpEnd: st.cpEnd, sealer: true}
	for _, o := range st.open {
		c := newCursor(o.seg, first.from, st2)
		c.limit = o.seg.size
		err := j.readFrom(ctx, c, st2, nil)
		if err != nil {
			return nil, err
		}
		st2.open = append(st2.open, openLogState{seg: o.seg, validEnd: c.off, lastSeq: c.fileLast, before: c.before, from: c.from})
	}
	return st2, nil
}

// seal completes a fenced (.sealing) open log (step 3 of sealing): it cuts
// the file after its last valid record and renames it to its true end.
func (j *Journal) seal(ctx context.Context, o openLogState) error {
	if o.lastSeq == 0 {
		if o.validEnd > 0 || o.seg.size > 0 {
			j.log.Warn("journal: removing open log without applicable records", "file", o.seg.path, "bytes", o.seg.size)
		}
		if err := j.st.Delete(ctx, o.seg.name); err != nil {
			return fmt.Errorf("journal: seal: %w", err)
		}
		return nil
	}
	info, err := j.st.Stat(ctx, o.seg.name)
	if err != nil {
		return fmt.Errorf("journal: seal: %w", err)
	}
	if info.Size > o.validEnd {
		j.log.Warn("journal: truncating open log after its last valid record",
			"file", o.seg.path, "offset", o.validEnd, "bytes", info.Size-o.validEnd)
		if err := j.st.Truncate(ctx, o.seg.name, o.validEnd); err != nil {
			return fmt.Errorf("journal: seal: %w", err)
		}
	}
	dst := path.Join(j.logs, segName(o.seg.start, o.lastSeq+1))
	if err := j.st.Rename(ctx, o.seg.name, dst); err != nil {
		return fmt.Errorf("journal: seal: %w", err)
	}
	j.log.Info("journal: sealed open log", "file", where(j.st, dst))
	return nil
}

// fileHandle is one open log file; closed is guarded by writer.fsyncMu.
type fileHandle struct {
	f      LogFile
	closed bool
}

// writer implements Writer.
//
// Lock order: Journal.mu > writer.mu > writer.fsyncMu > writer.syncMu.
// Flush's leader holds none of them while it waits for another.
type writer struct {
	j       *Journal
	epoch   int64
	maxSize int64
	log     *slog.Logger

	mu     sync.Mutex // guards the fields below
	h      *fileHandle
	bw     *bufio.Writer
	name   string // current open log (Storage name)
	path   string // the same, for messages
	start  int64  // first seq of the current open log
	size   int64  // bytes written to it, buffered included
	next   int64  // next seq to assign
	closed bool
	buf    []byte
	frame  []byte
	// flushDelay bounds how long an appended entry that nobody Flushes
	// stays buffered: the first Append after a flush arms flushTimer.
	flushDelay time.Duration
	flushTimer *time.Timer
	flushArmed bool

	fsyncMu sync.Mutex // keeps rotation from closing a file during its fsync

	syncMu  sync.Mutex // guards the group-commit state below
	durable int64      // every seq <= durable is fsynced
	syncing bool       // a Flush leader is writing and syncing
	round   chan struct{}
	// waiters counts the Flush calls in progress; peak is about the most
	// seen at once lately (see lingerFor); lastSync is how long the last
	// round's write and sync took.
	waiters  int
	peak     int
	lastSync time.Duration
	// A lingering Flush leader waits on lingerCh, which the Flush call
	// that brings waiters to lingerTarget closes.
	lingerCh     chan struct{}
	lingerTarget int

	errMu sync.Mutex
	err   error // set once: the writer is broken
}

func (w *writer) brokenErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// fail breaks the writer with err (the first failure wins).
func (w *writer) fail(err error) error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = fmt.Errorf("journal: writer broken: %w", err)
		w.log.Error("journal writer broken", "error", err.Error())
	}
	return w.err
}

// createLog creates the open log starting at start. Called with w.mu held
// (or before w is shared).
func (w *writer) createLog(ctx context.Context, start int64) error {
	name := path.Join(w.j.logs, segName(start, openEnd))
	f, err := w.j.st.Create(ctx, name)
	if err != nil {
		return fmt.Errorf("journal: create log: %w", err)
	}
	f = w.j.hooks.wrap(name, f)
	w.h = &fileHandle{f: f}
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, writeBufferSize)
	} else {
		w.bw.Reset(f)
	}
	w.name, w.path, w.start, w.size = name, where(w.j.st, name), start, 0
	return nil
}

// closeFile closes the current file without flushing (error paths).
func (w *writer) closeFile() {
	w.fsyncMu.Lock()
	defer w.fsyncMu.Unlock()
	if w.h != nil && !w.h.closed {
		w.h.closed = true
		closeQuietly(w.h.f)
	}
}

func (w *writer) lastAppended() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.next - 1
}

// Append implements Writer.
func (w *writer) Append(e *journalpb.JournalEntry) (int64, error) {
	if e == nil {
		return 0, errors.New("journal: append: nil entry")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.brokenErr(); err != nil {
		return 0, err
	}
	if w.closed {
		return 0, ErrClosed
	}
	seq := w.next
	e.SequenceNumber, e.Epoch = seq, w.epoch
	var err error
	if w.buf, err = (proto.MarshalOptions{}).MarshalAppend(w.buf[:0], e); err != nil {
		return 0, fmt.Errorf("journal: append: marshal: %w", err)
	}
	if len(w.buf) > maxRecordSize {
		return 0, fmt.Errorf("journal: append: entry of %d bytes exceeds %d", len(w.buf), maxRecordSize)
	}
	w.frame = appendRecord(w.frame[:0], w.buf)
	if w.size > 0 && w.size+int64(len(w.frame)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return 0, w.fail(err)
		}
	}
	if _, err := w.bw.Write(w.frame); err != nil {
		return 0, w.fail(err)
	}
	w.size += int64(len(w.frame))
	w.next++
	if w.flushDelay > 0 && !w.flushArmed {
		w.flushArmed = true
		if w.flushTimer == nil {
			w.flushTimer = time.AfterFunc(w.flushDelay, w.autoFlush)
		} else {
			w.flushTimer.Reset(w.flushDelay)
		}
	}
	return seq, nil
}

// autoFlush makes durable, in the background, entries appended without a
// Flush (e.g. bookkeeping entries whose callers do not wait): without it
// they would stay in the buffer, unseen by standbys, until the next Flush.
// A failure breaks the writer as any Flush failure does.
func (w *writer) autoFlush() {
	w.mu.Lock()
	w.flushArmed = false
	last, closed := w.next-1, w.closed
	w.mu.Unlock()
	if closed || w.brokenErr() != nil || w.durableSeq() >= last {
		return
	}
	if err := w.Flush(context.Background(), last); err != nil {
		w.log.Debug("journal: background flush failed", "error", err.Error())
	}
}

// rotate completes the current log (flush, sync, fence check, close,
// rename to its true end) and creates the next open log. Called with w.mu
// held.
func (w *writer) rotate() error {
	ctx := context.Background()
	if err := w.bw.Flush(); err != nil {
		return err
	}
	w.fsyncMu.Lock()
	err := w.j.hooks.syncFile(w.h.f)
	w.j.syncs.Add(1)
	if err == nil {
		// A new leader may have fenced the log: then nothing may be
		// reported durable, and a deposed writer must not rename the file.
		err = checkFence(ctx, w.j.st, w.name, w.h.f.ID())
	}
	w.h.closed = true
	if cerr := w.h.f.Close(); err == nil {
		err = cerr
	}
	w.fsyncMu.Unlock()
	if err != nil {
		return err
	}
	w.markDurable(w.next - 1)
	done := path.Join(w.j.logs, segName(w.start, w.next))
	if err := w.j.st.Rename(ctx, w.name, done); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s renamed during rotation", ErrFenced, w.path)
		}
		return err
	}
	w.log.Debug("journal log completed", "file", where(w.j.st, done))
	if err := w.createLog(ctx, w.next); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// A new leader sealed up to here and started its own log.
			return fmt.Errorf("%w: %v", ErrFenced, err)
		}
		return err
	}
	return nil
}

func (w *writer) durableSeq() int64 {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	return w.durable
}

func (w *writer) markDurable(seq int64) {
	w.syncMu.Lock()
	w.durable = max(w.durable, seq)
	w.syncMu.Unlock()
}

// Flush implements Writer with group commit: the first caller to find no
// sync in progress becomes the leader; it flushes the buffer and fsyncs
// once for everything appended so far, while later callers wait for that
// round (or the next) to cover their seq.
func (w *writer) Flush(ctx context.Context, seq int64) error {
	if last := w.lastAppended(); seq > last {
		return fmt.Errorf("journal: flush: seq %d was not appended (last %d)", seq, last)
	}
	w.syncMu.Lock()
	w.waiters++
	w.peak = max(w.peak, w.waiters)
	if w.lingerCh != nil && w.waiters >= w.lingerTarget {
		close(w.lingerCh)
		w.lingerCh = nil
	}
	w.syncMu.Unlock()
	defer func() {
		w.syncMu.Lock()
		w.waiters--
		w.syncMu.Unlock()
	}()
	for {
		w.syncMu.Lock()
		if err := w.brokenErr(); err != nil {
			w.syncMu.Unlock()
			return err
		}
		if w.durable >= seq {
			w.syncMu.Unlock()
			return nil
		}
		if err := ctx.Err(); err != nil {
			w.syncMu.Unlock()
			return fmt.Errorf("journal: flush: %w", err)
		}
		if w.syncing {
			ch := w.round
			w.syncMu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return fmt.Errorf("journal: flush: %w", ctx.Err())
			}
		}
		ch := make(chan struct{})
		w.syncing, w.round = true, ch
		w.syncMu.Unlock()

		// Let goroutines that are ready to run (handlers about to append)
		// go first, so this round carries their entries too: each round
		// costs a write, an fsync and a fence check whatever it carries.
		// On an idle master nothing else is runnable and this returns at
		// once.
		runtime.Gosched()
		w.linger(ctx)
		t0 := time.Now()
		err := w.syncOnce()

		w.syncMu.Lock()
		w.syncing = false
		w.lastSync = time.Since(t0)
		close(ch)
		w.syncMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// maxLinger bounds how long a Flush leader waits for more entries.
var maxLinger = 500 * time.Microsecond // a variable so tests can lengthen it

// lingerFor returns how long a Flush leader should wait before its round
// for more Flush calls to join it, and how many Flush calls in progress end
// the wait. A round costs about the same CPU (a write, an fdatasync, a
// fence check) whatever it carries, and a call that arrives just after a
// round started waits for that round and the next. So when fewer calls
// are in progress than lately (peak: others are likely on their way) the
// leader waits up to half the last round's duration, at most maxLinger,
// for the peak to be reached. A lone writer never waits. Each wait that
// ends short of the peak lowers it by one, so it follows a falling load.
// Called with syncMu held.
func (w *writer) lingerFor() (time.Duration, int) {
	if w.waiters >= w.peak {
		return 0, 0
	}
	return min(w.lastSync/2, maxLinger), w.peak
}

// linger waits as lingerFor says.
func (w *writer) linger(ctx context.Context) {
	w.syncMu.Lock()
	d, target := w.lingerFor()
	if d <= 0 {
		w.syncMu.Unlock()
		return
	}
	ch := make(chan struct{})
	w.lingerCh, w.lingerTarget = ch, target
	w.syncMu.Unlock()
	t := time.NewTimer(d)
	reached := false
	select {
	case <-ch:
		reached = true
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	w.syncMu.Lock()
	if w.lingerCh == ch {
		w.lingerCh = nil
	}
	if !reached && w.waiters < w.peak {
		w.peak--
	}
	w.syncMu.Unlock()
}

// syncOnce writes the buffer and fsyncs the open log, checks the fence,
// then marks every seq appended before the write durable.
func (w *writer) syncOnce() error {
	w.mu.Lock()
	if err := w.brokenErr(); err != nil {
		w.mu.Unlock()
		return err
	}
	target := w.next - 1
	err := w.bw.Flush()
	h, name := w.h, w.name
	w.mu.Unlock()
	if err != nil {
		return w.fail(err)
	}
	w.fsyncMu.Lock()
	rotated := h.closed // rotation has synced, checked and marked it
	if !rotated {
		err = w.j.hooks.syncFile(h.f)
		w.j.syncs.Add(1)
		if err == nil {
			// The fence check: every byte written before it is in the
			// history if path still names our file (a new leader renames
			// the log before reading it to seal it).
			err = checkFence(context.Background(), w.j.st, name, h.f.ID())
		}
	}
	w.fsyncMu.Unlock()
	if err != nil {
		return w.fail(err)
	}
	if rotated {
		return w.brokenErr()
	}
	w.markDurable(target)
	return nil
}

// Close implements Writer: it flushes, fsyncs and closes the open log, which
// keeps its open name until the next StartWriting seals it. Close is
// idempotent; it releases the Journal for another StartWriting even when
// the writer is broken.
func (w *writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	last := w.next - 1
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
	w.mu.Unlock()

	err := w.Flush(context.Background(), last)
	w.fsyncMu.Lock()
	if !w.h.closed {
		w.h.closed = true
		if cerr := w.h.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("journal: close: %w", cerr)
		}
	}
	w.fsyncMu.Unlock()

	j := w.j
	j.mu.Lock()
	if j.writer == w {
		j.writer = nil
	}
	j.highSeq = max(j.highSeq, last)
	j.state = nil
	j.applied, j.appliedKnown = last, true
	if w.brokenErr() != nil {
		j.applied = -1 // the state machine may be ahead of the journal
	}
	j.mu.Unlock()
	w.log.Info("journal writer closed", "last_seq", last)
	return err
}
