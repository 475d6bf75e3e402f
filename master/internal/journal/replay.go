package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	cpLast := st.lastSeq
	for i, seg := range logs {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		if !seg.open() && seg.end-1 <= cpLast {
			continue // wholly covered by the checkpoint
		}
		if seg.open() && i != len(logs)-1 {
			j.log.Warn("journal: open log is not the last log", "file", seg.path)
		}
		if seg.start > st.lastSeq+1 {
			return nil, fmt.Errorf("%w: gap: log %s starts at seq %d, expected %d", ErrCorrupt, seg.path, seg.start, st.lastSeq+1)
		}
		if err := j.readLog(ctx, seg, cpLast, st, sm); err != nil {
			return nil, err
		}
	}
	return st, nil
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
				j.log.Warn("journal: dropping corrupt tail of open log",
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
