package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// CatchUp applies to sm, without resetting it, the entries appended since
// the last Replay or CatchUp of this Journal, including those in the open
// log (a hot standby calls it periodically, every few tens of
// milliseconds). Entries in the result counts the entries this call applied.
//
// It applies only whole records with a valid CRC, in sequence order, and
// never a record that is not part of the history: records read from the
// open log are applied only after the fence check (the log's name still
// names the file that was read; see the package documentation), a log that
// a new leader is sealing is not read until it is sealed, and a completed
// log is read only up to the seq its name ends at. A partial record at the
// end of the open log is left for a later call.
//
// CatchUp keeps its place (the log it reads, by file ID, and an offset)
// across calls: a call that finds nothing new costs one Storage.Stat; new
// bytes cost an Open at the offset and a Stat for the fence check. It lists the logs
// directory only when it moves to another log (rotation, a seal, the first
// call). It returns ErrReplayNeeded if this Journal has not replayed, or if
// a checkpoint has since deleted logs after the state machine's last seq.
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
	st := &scanState{scanPos: scanPos{lastSeq: j.applied, maxEpoch: j.maxEpoch, fence: j.fence}, tailing: true}
	err := j.tailLogs(ctx, st, sm)
	j.applied = st.lastSeq // what was applied stays applied
	j.learn(st)
	if err != nil {
		j.closeTail()
		if errors.Is(err, errGap) || errors.Is(err, errDiverged) {
			return ReplayResult{}, fmt.Errorf("%w: %v", ErrReplayNeeded, err)
		}
		if errors.Is(err, ErrNotFormatted) || errors.Is(err, fs.ErrNotExist) {
			if ferr := j.checkFormatted(ctx); ferr != nil {
				return ReplayResult{}, ferr
			}
		}
		return ReplayResult{}, err
	}
	j.state = nil
	return ReplayResult{LastSeq: st.lastSeq, LastEpoch: j.maxEpoch, Entries: st.entries, CheckpointSeq: max(j.cpEnd-1, 0)}, nil
}

// closeTail drops CatchUp's cursor. Called with j.mu held.
func (j *Journal) closeTail() {
	j.tail = nil
}

// tailLogs reads from CatchUp's cursor on, moving to the next log when one
// is done. Called with j.mu held.
func (j *Journal) tailLogs(ctx context.Context, st *scanState, sm StateMachine) error {
	for hops := 0; hops < 1<<20; hops++ {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		c := j.tail
		if c == nil || c.seg.sealing {
			nc, err := j.locate(ctx, st, c)
			if err != nil {
				return err
			}
			j.tail = nc
			if nc == nil || nc.seg.sealing {
				return nil // nothing to read yet, or waiting for a seal
			}
			c = nc
		}
		err := j.readFrom(ctx, c, st, sm)
		if errors.Is(err, ErrFenced) || errors.Is(err, fs.ErrNotExist) {
			// The open log was renamed: rotated by its writer, or fenced by
			// a new leader. Nothing read since the last check was applied;
			// find the file again under its new name. (Or a completed log
			// was deleted by a checkpoint: locate reports the gap.)
			nc, err := j.locate(ctx, st, c)
			if err != nil {
				return err
			}
			j.tail = nc
			if nc == nil {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		if c.seg.open() {
			return nil // at the end of the open log
		}
		j.tail = nil // a completed log read to its end: on to the next
	}
	return nil
}

// locate lists the logs and returns a cursor on the log holding the next
// seq (st.lastSeq+1): a completed log containing it, or an open (or
// sealing) log starting at or before it. If old is on the same file (same
// start, same FileInfo.ID, maybe renamed) it is reused with its offset. It
// returns nil if no log holds the next seq yet, and an
// error wrapping errGap if the logs after the next seq exist but it does
// not (a checkpoint deleted them).
func (j *Journal) locate(ctx context.Context, st *scanState, old *logCursor) (*logCursor, error) {
	next := st.lastSeq + 1
	for attempt := 0; ; attempt++ {
		if j.hooks.listed != nil {
			j.hooks.listed()
		}
		logs, err := listSegments(ctx, j.st, j.logs)
		if err != nil {
			return nil, fmt.Errorf("journal: list logs: %w", err)
		}
		var found *segment
		for i := range logs {
			s := &logs[i]
			if s.start <= next && (s.open() || next <= s.end-1) {
				found = s
				break
			}
		}
		if found == nil {
			gap := false
			for _, s := range logs {
				gap = gap || s.start > next
			}
			if gap && attempt < 3 {
				continue // the listing may have missed a log being renamed
			}
			if gap {
				return nil, fmt.Errorf("%w: no log holds seq %d", errGap, next)
			}
			return nil, nil
		}
		if old != nil && old.seg.start == found.start && old.id != 0 && old.id == found.id {
			old.seg = *found
			return old, nil
		}
		if old != nil && found.start > old.seg.start && found.start <= st.lastSeq {
			// The log we applied from was sealed before what we applied.
			return nil, fmt.Errorf("%w: applied seq %d from %s, but %s starts at %d", errDiverged, st.lastSeq, old.seg.path, found.path, found.start)
		}
		return newCursor(*found, st.lastSeq, st), nil
	}
}
