package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// maxRelists bounds how often one read lists the logs again because an open
// log was renamed (rotated or sealed) or a log deleted while it read.
const maxRelists = 16

// scanPos is a reader's position in the history.
type scanPos struct {
	lastSeq  int64 // last applied seq
	maxEpoch int64 // highest epoch seen
	fence    int64 // highest NewTermEntry epoch applied
}

// apply advances p past the applicable entry e.
func (p *scanPos) apply(e *journalpb.JournalEntry) {
	p.lastSeq = e.GetSequenceNumber()
	p.maxEpoch = max(p.maxEpoch, e.GetEpoch())
	if nt := e.GetNewTerm(); nt != nil {
		p.fence = max(p.fence, e.GetEpoch(), nt.GetEpoch())
		p.maxEpoch = max(p.maxEpoch, nt.GetEpoch())
	}
}

// openLogState is what a scan learned about one open log.
type openLogState struct {
	seg      segment
	validEnd int64   // offset just past the last valid record
	lastSeq  int64   // last valid (applied or covered) seq in this file; 0 if none
	before   scanPos // reader position before this file's first record
	from     int64   // seqs <= from at the start of the file were covered
	unread   bool    // a .sealing log that was not read (only the sealer reads it)
}

// scanState is the result of reading the journal.
type scanState struct {
	scanPos
	entries int64
	cpEnd   int64 // end (exclusive) of the loaded checkpoint; 0 if none
	open    []openLogState
	listing string // fingerprint of the directory listing scanned
	tailing bool   // CatchUp: a partial open-log tail is routine
	// sealer: StartWriting's read of logs it renamed to .sealing: read them,
	// without the fence check (nobody else renames them), each up to its
	// length in limits (what Storage.Recover returned), if there.
	sealer bool
	limits map[string]int64
	// openNotLast: a completed log follows an open log (left by a crash).
	openNotLast bool
	// reach is the highest seq the journal is known to hold (applied,
	// covered by the checkpoint, or read and skipped as already applied).
	reach int64
	// validateCheckpoint: read the checkpoint once without applying before
	// loading it, so that a corrupt one applies nothing (Dump).
	validateCheckpoint bool
}

// listing returns the logs, checkpoints and a fingerprint of both.
func (j *Journal) listing(ctx context.Context) (logs, cps []segment, fp string, err error) {
	if logs, err = listSegments(ctx, j.st, j.logs); err != nil {
		return nil, nil, "", fmt.Errorf("journal: list logs: %w", err)
	}
	if cps, err = listSegments(ctx, j.st, j.cps); err != nil {
		return nil, nil, "", fmt.Errorf("journal: list checkpoints: %w", err)
	}
	var b strings.Builder
	for _, s := range append(append([]segment(nil), logs...), cps...) {
		b.WriteString(s.name)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(s.size, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(s.id, 10))
		b.WriteByte(';')
	}
	return logs, cps, b.String(), nil
}

// Replay rebuilds sm from the journal: it resets sm, loads the newest valid
// checkpoint and applies every later log entry in sequence order. See the
// package documentation for how corruption and fenced records are handled.
// Replay does not modify the disk; a corrupt tail of the open log is only
// skipped (StartWriting truncates it).
func (j *Journal) Replay(ctx context.Context, sm StateMachine) (ReplayResult, error) {
	if sm == nil {
		return ReplayResult{}, errors.New("journal: replay: nil state machine")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.writer != nil {
		return ReplayResult{}, fmt.Errorf("%w: cannot replay while writing", ErrWriting)
	}
	j.closeTail()
	st, err := j.scan(ctx, sm, false)
	if err != nil {
		j.applied, j.appliedKnown = -1, true // sm is in an unknown state
		return ReplayResult{}, err
	}
	j.state = st
	j.learn(st)
	j.applied, j.appliedKnown = st.lastSeq, true
	res := ReplayResult{LastSeq: st.lastSeq, LastEpoch: st.maxEpoch, Entries: st.entries}
	if st.cpEnd > 0 {
		res.CheckpointSeq = st.cpEnd - 1
	}
	j.log.Info("journal replayed", "last_seq", res.LastSeq, "last_epoch", res.LastEpoch,
		"entries", res.Entries, "checkpoint_seq", res.CheckpointSeq)
	return res, nil
}

// Dump calls fn for every entry of the journal in cfg.Folder, in the order
// Replay would apply them: the newest valid checkpoint's entries first
// (sequence_number and epoch 0), then the log entries after it with the
// fencing rules applied (fenced records, bytes past a sealed log's end and a
// torn open-log tail are not passed to fn). It needs no StateMachine and
// does not modify the journal; a corrupt checkpoint is validated before any
// of its entries reach fn. An error from fn stops Dump and is returned
// wrapped. Each entry passed to fn is freshly allocated; fn may keep it.
func Dump(ctx context.Context, cfg Config, fn func(*journalpb.JournalEntry) error) error {
	if fn == nil {
		return errors.New("journal: dump: nil function")
	}
	j, err := Open(cfg)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.scan(ctx, funcSM(fn), true)
	return err
}

// funcSM adapts a function to StateMachine for Dump.
type funcSM func(*journalpb.JournalEntry) error

func (f funcSM) Apply(e *journalpb.JournalEntry) error { return f(e) }
func (funcSM) Reset()                                  {}

// learn records st's progress in j. Called with j.mu held.
func (j *Journal) learn(st *scanState) {
	j.highSeq = max(j.highSeq, st.lastSeq)
	j.maxEpoch = max(j.maxEpoch, st.maxEpoch)
	j.fence = max(j.fence, st.fence)
	j.cpEnd = max(j.cpEnd, st.cpEnd)
}

// scan reads the journal. With sm nil it only validates the logs after the
// newest checkpoint (using its footer) to learn the last seq, epochs and the
// state of the open log. Called with j.mu held.
func (j *Journal) scan(ctx context.Context, sm StateMachine, validateCheckpoint bool) (*scanState, error) {
	if err := j.checkFormatted(ctx); err != nil {
		return nil, err
	}
	logs, cps, fp, err := j.listing(ctx)
	if err != nil {
		return nil, err
	}
	return j.scanInto(ctx, logs, cps, &scanState{listing: fp, validateCheckpoint: validateCheckpoint}, sm)
}

// sealScan is the sealer's own read of the whole journal (StartWriting, when
// an open log is not the last log): scan, reading the .sealing logs it has
// fenced, each up to the length Recover returned (limits, by name). Called
// with j.mu held.
func (j *Journal) sealScan(ctx context.Context, limits map[string]int64) (*scanState, error) {
	logs, cps, fp, err := j.listing(ctx)
	if err != nil {
		return nil, err
	}
	return j.scanInto(ctx, logs, cps, &scanState{listing: fp, sealer: true, limits: limits}, nil)
}

func (j *Journal) scanInto(ctx context.Context, logs, cps []segment, st *scanState, sm StateMachine) (*scanState, error) {
	if err := j.loadNewestCheckpoint(ctx, cps, st, sm); err != nil {
		return nil, err
	}
	st.reach = st.lastSeq
	if err := j.readLogs(ctx, logs, st, sm); err != nil {
		return nil, err
	}
	return st, nil
}

// errGap marks a missing range of seqs between files.
var errGap = errors.New("gap")

// errDiverged: a tailing reader applied records that are not in the history
// (it must not happen; it means a reader or writer broke the protocol).
var errDiverged = errors.New("diverged")

// readLogs applies the records of logs with seq above st.lastSeq. If an open
// log is renamed (rotated, or fenced by a new leader) or a log deleted while
// it reads, it lists the logs again and continues after what it applied.
func (j *Journal) readLogs(ctx context.Context, logs []segment, st *scanState, sm StateMachine) error {
	from := st.lastSeq
	for attempt := 0; ; attempt++ {
		err := j.readLogsOnce(ctx, logs, from, st, sm)
		// A gap may be a listing that missed a log being renamed (a
		// directory read is not atomic): list again before believing it.
		if err == nil || attempt >= maxRelists || !(errors.Is(err, ErrFenced) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, errGap)) {
			return err
		}
		var fp string
		if logs, _, fp, err = j.listing(ctx); err != nil {
			return err
		}
		st.listing, st.open, st.openNotLast = fp, nil, false
		from = st.lastSeq
	}
}

func (j *Journal) readLogsOnce(ctx context.Context, logs []segment, from int64, st *scanState, sm StateMachine) error {
	for i, seg := range logs {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		if !seg.open() && seg.end-1 <= st.lastSeq {
			st.reach = max(st.reach, seg.end-1)
			continue // wholly covered by the checkpoint (or already applied)
		}
		if seg.open() && i != len(logs)-1 {
			j.log.Warn("journal: open log is not the last log", "file", seg.path)
			st.openNotLast = true
		}
		if seg.start > st.lastSeq+1 {
			return fmt.Errorf("%w: %w: log %s starts at seq %d, expected %d", ErrCorrupt, errGap, seg.path, seg.start, st.lastSeq+1)
		}
		if seg.sealing && !st.sealer {
			// A new leader has fenced this log and is sealing it: what it
			// holds past the seal's read point is not history, so only the
			// sealer reads it. The journal ends here for now.
			j.log.Info("journal: stopping at a log being sealed", "file", seg.path)
			st.open = append(st.open, openLogState{seg: seg, before: st.scanPos, from: from, unread: true})
			return nil
		}
		c := newCursor(seg, from, st)
		if limit, ok := st.limits[seg.name]; ok && seg.sealing && st.sealer {
			c.limit = limit
		}
		err := j.readFrom(ctx, c, st, sm)
		if err != nil {
			return err
		}
		if seg.open() {
			st.open = append(st.open, openLogState{seg: seg, validEnd: c.off, lastSeq: c.fileLast, before: c.before, from: c.from})
		}
	}
	return nil
}

// logCursor is a reader's position inside one log file. It holds no open
// stream: every read opens the file at off (a reader of a file being
// written sees only the length known when it opened it).
type logCursor struct {
	seg      segment
	id       uint64  // FileInfo.ID of the file (0: unknown)
	limit    int64   // read no byte at or past limit; -1: no limit
	off      int64   // offset of the next unconsumed record
	from     int64   // seqs <= from at the start of the file are covered
	before   scanPos // position before the file's first record
	fileLast int64   // last valid seq (applied or covered) in this file; 0 if none
}

func newCursor(seg segment, from int64, st *scanState) *logCursor {
	return &logCursor{seg: seg, id: seg.id, limit: -1, from: from, before: st.scanPos}
}

// readFrom reads c's file from c.off to its current end (or c.limit) and applies the
// applicable records to sm (if not nil) and st.
//
// A completed log is read up to the record with seq end-1; whatever follows
// is a deposed writer's tail and ignored. An open log's records are decoded
// first and applied only after the fence check (its name still names the
// file that was read), so a reader never applies a record written after a
// new leader fenced the log; if the check fails readFrom applies nothing
// and returns an error wrapping ErrFenced, and c.off is unchanged. A
// partial or corrupt open-log tail ends the read (c.off stays at it).
func (j *Journal) readFrom(ctx context.Context, c *logCursor, st *scanState, sm StateMachine) error {
	seg := c.seg
	open := seg.open()
	mustCheck := open && !st.sealer
	info, err := j.st.Stat(ctx, seg.name)
	if err != nil {
		if mustCheck && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s was renamed", ErrFenced, seg.path)
		}
		return err
	}
	if mustCheck && c.id != 0 && info.ID != c.id {
		return fmt.Errorf("%w: %s now names another file", ErrFenced, seg.path)
	}
	size := info.Size
	if c.limit >= 0 {
		size = min(size, c.limit)
	}
	if open && size <= c.off {
		// Nothing new (the idle standby's case): nothing to apply, so no
		// fence check beyond the Stat above.
		return nil
	}
	cur := st.scanPos
	off, fileLast := c.off, c.fileLast
	reach := st.reach
	var pending []*journalpb.JournalEntry
	if size > c.off {
		rc, err := j.st.Open(ctx, seg.name, c.off)
		if err != nil {
			if mustCheck && errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s was renamed", ErrFenced, seg.path)
			}
			return err
		}
		defer closeQuietly(rc)
		rr := newRecordReader(io.LimitReader(rc, size-c.off), size-c.off)
		rr.off = c.off
		for n := 1; ; n++ {
			if n%1024 == 0 {
				if err := ctxErr(ctx); err != nil {
					return err
				}
			}
			if !open && cur.lastSeq >= seg.end-1 {
				if off < size {
					j.log.Warn("journal: ignoring bytes past the end of a sealed log",
						"file", seg.path, "offset", off, "bytes", size-off)
				}
				break
			}
			payload, roff, err := rr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !isFormatError(err) {
					return fmt.Errorf("journal: %s at offset %d: %w", seg.path, roff, err)
				}
				if !open {
					return fmt.Errorf("%w record in %s at offset %d: %v", ErrCorrupt, seg.path, roff, err)
				}
				if errors.Is(err, errCRCMismatch) {
					// A complete record with a bad checksum followed by a
					// valid record is corruption, not a torn tail.
					if _, _, err2 := rr.next(); err2 == nil {
						return fmt.Errorf("%w record in %s at offset %d: %v (valid records follow)", ErrCorrupt, seg.path, roff, err)
					}
				}
				lvl := slog.LevelWarn
				if st.tailing {
					lvl = slog.LevelDebug // the writer may be mid-record
				}
				j.log.Log(ctx, lvl, "journal: dropping corrupt tail of open log",
					"file", seg.path, "offset", roff, "bytes", size-roff, "error", err.Error())
				break
			}
			e := &journalpb.JournalEntry{}
			if err := proto.Unmarshal(payload, e); err != nil {
				return fmt.Errorf("%w record in %s at offset %d: unmarshal: %v", ErrCorrupt, seg.path, roff, err)
			}
			seq := e.GetSequenceNumber()
			if seq <= c.from && cur.lastSeq == c.from {
				reach = max(reach, seq)
				off, fileLast = rr.off, max(fileLast, seq) // covered by the checkpoint or applied before
				continue
			}
			if e.GetEpoch() < cur.fence {
				j.log.Warn("journal: skipping fenced record", "file", seg.path, "offset", roff,
					"seq", seq, "epoch", e.GetEpoch(), "fence_epoch", cur.fence)
				off = rr.off
				continue
			}
			if seq != cur.lastSeq+1 {
				kind := "gap"
				if seq <= cur.lastSeq {
					kind = "duplicate"
				}
				return fmt.Errorf("%w: %s in %s at offset %d: seq %d, expected %d", ErrCorrupt, kind, seg.path, roff, seq, cur.lastSeq+1)
			}
			cur.apply(e)
			off, fileLast, reach = rr.off, seq, max(reach, seq)
			if open {
				pending = append(pending, e)
				continue
			}
			if sm != nil {
				if err := sm.Apply(e); err != nil {
					return fmt.Errorf("journal: apply seq %d from %s: %w", seq, seg.path, err)
				}
			}
			st.entries++
			st.scanPos = cur
			st.reach = reach
			c.off, c.fileLast = off, fileLast
		}
	}
	if !open {
		c.off = off
		st.reach = reach
		if cur.lastSeq < seg.end-1 {
			return fmt.Errorf("%w: log %s ends at seq %d (offset %d), its name says %d", ErrCorrupt, seg.path, cur.lastSeq, off, seg.end-1)
		}
		return nil
	}
	if mustCheck {
		if err := checkFence(ctx, j.st, seg.name, c.id); err != nil {
			return err
		}
	}
	for _, e := range pending {
		if sm != nil {
			if err := sm.Apply(e); err != nil {
				return fmt.Errorf("journal: apply seq %d from %s: %w", e.GetSequenceNumber(), seg.path, err)
			}
		}
		st.entries++
		st.scanPos.apply(e)
	}
	st.scanPos = cur // fence and epochs of skipped records
	st.reach = reach
	c.off, c.fileLast = off, fileLast
	return nil
}
