package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// openLogState is what a scan learned about one open log.
type openLogState struct {
	seg      segment
	validEnd int64 // offset just past the last valid record
	lastSeq  int64 // last applied seq in this file; 0 if none
}

// scanState is the result of reading the journal.
type scanState struct {
	lastSeq  int64
	maxEpoch int64
	fence    int64 // highest NewTermEntry epoch applied
	entries  int64
	cpEnd    int64 // end (exclusive) of the loaded checkpoint; 0 if none
	open     []openLogState
	listing  string // fingerprint of the directory listing scanned
	tailing  bool   // CatchUp: a partial open-log tail is routine
}

// listing returns the logs, checkpoints and a fingerprint of both.
func (j *Journal) listing() (logs, cps []segment, fp string, err error) {
	if logs, err = listSegments(j.logs); err != nil {
		return nil, nil, "", fmt.Errorf("journal: list logs: %w", err)
	}
	if cps, err = listSegments(j.cps); err != nil {
		return nil, nil, "", fmt.Errorf("journal: list checkpoints: %w", err)
	}
	var b strings.Builder
	for _, s := range append(append([]segment(nil), logs...), cps...) {
		b.WriteString(s.path)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(s.size, 10))
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
	st, err := j.scan(ctx, sm)
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
func (j *Journal) scan(ctx context.Context, sm StateMachine) (*scanState, error) {
	if err := j.checkFormatted(); err != nil {
		return nil, err
	}
	logs, cps, fp, err := j.listing()
	if err != nil {
		return nil, err
	}
	st := &scanState{listing: fp}
	if err := j.loadNewestCheckpoint(ctx, cps, st, sm); err != nil {
		return nil, err
	}
	if err := j.readLogs(ctx, logs, st, sm); err != nil {
		return nil, err
	}
	return st, nil
}

// errGap marks a missing range of seqs between files.
var errGap = errors.New("gap")

// readLogs applies the records of logs with seq above st.lastSeq.
func (j *Journal) readLogs(ctx context.Context, logs []segment, st *scanState, sm StateMachine) error {
	from := st.lastSeq
	for i, seg := range logs {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		if !seg.open() && seg.end-1 <= from {
			continue // wholly covered by the checkpoint (or already applied)
		}
		if seg.open() && i != len(logs)-1 {
			j.log.Warn("journal: open log is not the last log", "file", seg.path)
		}
		if seg.start > st.lastSeq+1 {
			return fmt.Errorf("%w: %w: log %s starts at seq %d, expected %d", ErrCorrupt, errGap, seg.path, seg.start, st.lastSeq+1)
		}
		if err := j.readLog(ctx, seg, from, st, sm); err != nil {
			return err
		}
	}
	return nil
}

// CatchUp applies to sm, without resetting it, the entries appended since
// the last Replay or CatchUp of this Journal, including those in the open
// log (a hot standby calls it periodically). A partial record at the end of
// the open log is left for a later call. Entries in the result counts the
// entries this call applied. It returns ErrReplayNeeded if this
// Journal has not replayed, or if a checkpoint has since deleted the logs
// after the state machine's last seq.
func (j *Journal) CatchUp(ctx context.Context, sm StateMachine) (ReplayResult, error) {
	if sm == nil {
		return ReplayResult{}, errors.New("journal: catch up: nil state machine")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.writer != nil {
		return ReplayResult{}, fmt.Errorf("%w: cannot catch up while writing", ErrWriting)
	}
	if !j.appliedKnown || j.applied < 0 {
		return ReplayResult{}, fmt.Errorf("%w: no successful replay to continue from", ErrReplayNeeded)
	}
	if err := j.checkFormatted(); err != nil {
		return ReplayResult{}, err
	}
	var err error
	var st *scanState
	for attempt := 0; attempt < 3; attempt++ {
		var logs []segment
		var fp string
		if logs, _, fp, err = j.listing(); err != nil {
			break
		}
		st = &scanState{listing: fp, lastSeq: j.applied, maxEpoch: j.maxEpoch, fence: j.fence, tailing: true}
		err = j.readLogs(ctx, logs, st, sm)
		j.applied = st.lastSeq // what was applied stays applied
		j.learn(st)
		if !errors.Is(err, fs.ErrNotExist) {
			break // a log renamed or deleted under us: list again
		}
	}
	if errors.Is(err, errGap) {
		return ReplayResult{}, fmt.Errorf("%w: %v", ErrReplayNeeded, err)
	}
	if err != nil {
		return ReplayResult{}, err
	}
	j.state = nil
	return ReplayResult{LastSeq: st.lastSeq, LastEpoch: j.maxEpoch, Entries: st.entries, CheckpointSeq: max(j.cpEnd-1, 0)}, nil
}

// readLog applies the records of one log file.
func (j *Journal) readLog(ctx context.Context, seg segment, cpLast int64, st *scanState, sm StateMachine) error {
	f, err := os.Open(seg.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer closeQuietly(f)
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	size := info.Size()
	rr := newRecordReader(f, size)
	var validEnd, fileLast int64
	n := 0
	for {
		if n++; n%1024 == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		payload, off, err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !isFormatError(err) {
				return fmt.Errorf("journal: %s at offset %d: %w", seg.path, off, err)
			}
			if !seg.open() && st.lastSeq >= seg.end-1 {
				// Bytes past a sealed log's end: a deposed writer's tail.
				j.log.Warn("journal: ignoring bytes past the end of a sealed log",
					"file", seg.path, "offset", off, "bytes", size-off, "error", err.Error())
				break
			}
			if seg.open() {
				if errors.Is(err, errCRCMismatch) {
					// A complete record with a bad checksum followed by a
					// valid record is corruption, not a torn tail.
					if _, _, err2 := rr.next(); err2 == nil {
						return fmt.Errorf("%w record in %s at offset %d: %v (valid records follow)", ErrCorrupt, seg.path, off, err)
					}
				}
				lvl := slog.LevelWarn
				if st.tailing {
					lvl = slog.LevelDebug // the writer may be mid-record
				}
				j.log.Log(ctx, lvl, "journal: dropping corrupt tail of open log",
					"file", seg.path, "offset", off, "bytes", size-off, "error", err.Error())
				break
			}
			return fmt.Errorf("%w record in %s at offset %d: %v", ErrCorrupt, seg.path, off, err)
		}
		e := &journalpb.JournalEntry{}
		if err := proto.Unmarshal(payload, e); err != nil {
			return fmt.Errorf("%w record in %s at offset %d: unmarshal: %v", ErrCorrupt, seg.path, off, err)
		}
		seq := e.GetSequenceNumber()
		if !seg.open() && seq >= seg.end && st.lastSeq >= seg.end-1 {
			j.log.Warn("journal: ignoring records past the end of a sealed log",
				"file", seg.path, "offset", off, "seq", seq, "epoch", e.GetEpoch())
			break
		}
		if seq <= cpLast && st.lastSeq == cpLast {
			validEnd = rr.off // covered by the checkpoint
			continue
		}
		if e.GetEpoch() < st.fence {
			j.log.Warn("journal: skipping fenced record", "file", seg.path, "offset", off,
				"seq", seq, "epoch", e.GetEpoch(), "fence_epoch", st.fence)
			validEnd = rr.off
			continue
		}
		if seq != st.lastSeq+1 {
			kind := "gap"
			if seq <= st.lastSeq {
				kind = "duplicate"
			}
			return fmt.Errorf("%w: %s in %s at offset %d: seq %d, expected %d", ErrCorrupt, kind, seg.path, off, seq, st.lastSeq+1)
		}
		if sm != nil {
			if err := sm.Apply(e); err != nil {
				return fmt.Errorf("journal: apply seq %d from %s: %w", seq, seg.path, err)
			}
		}
		st.entries++
		st.lastSeq = seq
		st.maxEpoch = max(st.maxEpoch, e.GetEpoch())
		if nt := e.GetNewTerm(); nt != nil {
			st.fence = max(st.fence, e.GetEpoch(), nt.GetEpoch())
			st.maxEpoch = max(st.maxEpoch, nt.GetEpoch())
		}
		validEnd = rr.off
		fileLast = seq
	}
	if seg.open() {
		st.open = append(st.open, openLogState{seg: segment{path: seg.path, start: seg.start, end: seg.end, size: size}, validEnd: validEnd, lastSeq: fileLast})
		return nil
	}
	if st.lastSeq < seg.end-1 {
		return fmt.Errorf("%w: log %s ends at seq %d (offset %d), its name says %d", ErrCorrupt, seg.path, st.lastSeq, validEnd, seg.end-1)
	}
	return nil
}
