package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"

	"github.com/alluxio-go/alluxio/proto/journalpb"
	"google.golang.org/protobuf/proto"
)

// Checkpoint file framing: header | records | footer.
const (
	checkpointMagic = "ALXJCKP1" // 8-byte header
	footerMagic     = "ALXJCEND"
	// footer: magic(8) count(8) end(8) maxEpoch(8) fence(8) crc32c(4) over the first 40 bytes.
	footerSize = 44
)

type checkpointFooter struct {
	count    int64 // entries in the checkpoint
	end      int64 // exclusive end seq; equals the name's end
	maxEpoch int64 // highest epoch in the journal when it was written
	fence    int64 // highest NewTermEntry epoch at that time
}

func (f checkpointFooter) marshal() []byte {
	b := make([]byte, 0, footerSize)
	b = append(b, footerMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.count))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.end))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.maxEpoch))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.fence))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func unmarshalFooter(b []byte) (checkpointFooter, error) {
	if len(b) != footerSize || string(b[:8]) != footerMagic {
		return checkpointFooter{}, errors.New("bad footer magic")
	}
	if crc32.Checksum(b[:40], crcTable) != binary.LittleEndian.Uint32(b[40:]) {
		return checkpointFooter{}, errors.New("footer crc mismatch")
	}
	f := checkpointFooter{
		count:    int64(binary.LittleEndian.Uint64(b[8:])),
		end:      int64(binary.LittleEndian.Uint64(b[16:])),
		maxEpoch: int64(binary.LittleEndian.Uint64(b[24:])),
		fence:    int64(binary.LittleEndian.Uint64(b[32:])),
	}
	if f.count < 0 || f.end < 0 {
		return checkpointFooter{}, errors.New("bad footer values")
	}
	return f, nil
}

// readAt reads len(b) bytes of name at off.
func readAt(ctx context.Context, st Storage, name string, b []byte, off int64) error {
	rc, err := st.Open(ctx, name, off)
	if err != nil {
		return err
	}
	defer closeQuietly(rc)
	if _, err := io.ReadFull(rc, b); err != nil {
		return fmt.Errorf("journal: read %s at offset %d: %w", where(st, name), off, err)
	}
	return nil
}

// readFooter validates a checkpoint's header and footer.
func readFooter(ctx context.Context, st Storage, seg segment) (checkpointFooter, error) {
	size := seg.size
	if size < int64(len(checkpointMagic))+footerSize {
		return checkpointFooter{}, fmt.Errorf("%w checkpoint %s: short file (%d bytes)", ErrCorrupt, seg.path, size)
	}
	hdr := make([]byte, len(checkpointMagic))
	if err := readAt(ctx, st, seg.name, hdr, 0); err != nil {
		return checkpointFooter{}, err
	}
	if string(hdr) != checkpointMagic {
		return checkpointFooter{}, fmt.Errorf("%w checkpoint %s at offset 0: bad header magic", ErrCorrupt, seg.path)
	}
	b := make([]byte, footerSize)
	if err := readAt(ctx, st, seg.name, b, size-footerSize); err != nil {
		return checkpointFooter{}, err
	}
	ft, err := unmarshalFooter(b)
	if err != nil {
		return checkpointFooter{}, fmt.Errorf("%w checkpoint %s at offset %d: %v", ErrCorrupt, seg.path, size-footerSize, err)
	}
	if ft.end != seg.end {
		return checkpointFooter{}, fmt.Errorf("%w checkpoint %s: footer end %d does not match name", ErrCorrupt, seg.path, ft.end)
	}
	return ft, nil
}

// loadCheckpoint applies a checkpoint's entries to sm.
func (j *Journal) loadCheckpoint(ctx context.Context, seg segment, ft checkpointFooter, sm StateMachine) error {
	rc, err := j.st.Open(ctx, seg.name, int64(len(checkpointMagic)))
	if err != nil {
		return err
	}
	defer closeQuietly(rc)
	body := seg.size - footerSize - int64(len(checkpointMagic))
	rr := newRecordReader(io.LimitReader(rc, body), body)
	var count int64
	for {
		if count%1024 == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		payload, off, err := rr.next()
		if err == io.EOF {
			break
		}
		off += int64(len(checkpointMagic))
		if err != nil {
			if isFormatError(err) {
				return fmt.Errorf("%w record in %s at offset %d: %v", ErrCorrupt, seg.path, off, err)
			}
			return fmt.Errorf("journal: %s at offset %d: %w", seg.path, off, err)
		}
		e := &journalpb.JournalEntry{}
		if err := proto.Unmarshal(payload, e); err != nil {
			return fmt.Errorf("%w record in %s at offset %d: unmarshal: %v", ErrCorrupt, seg.path, off, err)
		}
		if err := sm.Apply(e); err != nil {
			return fmt.Errorf("journal: apply checkpoint entry %d from %s: %w", count, seg.path, err)
		}
		count++
	}
	if count != ft.count {
		return fmt.Errorf("%w checkpoint %s: %d entries, footer says %d", ErrCorrupt, seg.path, count, ft.count)
	}
	return nil
}

// loadNewestCheckpoint finds the newest valid checkpoint, resets sm and
// loads it into sm (if sm is not nil), and sets st accordingly. An invalid
// checkpoint is skipped with a warning in favour of an older one.
func (j *Journal) loadNewestCheckpoint(ctx context.Context, cps []segment, st *scanState, sm StateMachine) error {
	for i := len(cps) - 1; i >= 0; i-- {
		seg := cps[i]
		if seg.start != 0 || seg.open() {
			continue
		}
		ft, err := readFooter(ctx, j.st, seg)
		if err == nil && sm != nil && st.validateCheckpoint {
			err = j.loadCheckpoint(ctx, seg, ft, funcSM(func(*journalpb.JournalEntry) error { return nil }))
		}
		if err == nil && sm != nil {
			sm.Reset()
			err = j.loadCheckpoint(ctx, seg, ft, sm)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				return err
			}
			j.log.Warn("journal: skipping invalid checkpoint", "file", seg.path, "error", err.Error())
			continue
		}
		st.cpEnd = seg.end
		st.lastSeq = max(seg.end-1, 0)
		st.maxEpoch = ft.maxEpoch
		st.fence = ft.fence
		if sm != nil {
			st.entries = ft.count
		}
		return nil
	}
	if sm != nil {
		sm.Reset()
	}
	return nil
}

// Checkpoint writes the state snap describes, which must be the state after
// applying every entry up to lastSeq, as checkpoint 0x0-0x<lastSeq+1>
// (written in .tmp, fsynced and renamed). It then deletes the older
// checkpoints and the completed logs it wholly covers. Checkpoint sets the
// SequenceNumber and Epoch of every emitted entry to 0. If a checkpoint
// covering lastSeq already exists, Checkpoint does nothing.
//
// Checkpoint may run while a Writer is active (the leader) or after Replay
// (a standby); lastSeq may not exceed what this Journal has replayed or
// appended. With an active Writer, Checkpoint first flushes up to lastSeq.
func (j *Journal) Checkpoint(ctx context.Context, lastSeq int64, snap Snapshotter) error {
	if snap == nil {
		return errors.New("journal: checkpoint: nil snapshotter")
	}
	if err := j.checkFormatted(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	high, maxEpoch, fence, w := j.highSeq, j.maxEpoch, j.fence, j.writer
	j.mu.Unlock()
	if w != nil {
		// A leader's state may include appended entries not yet durable:
		// make them durable first, so a checkpoint never covers an entry
		// the logs could lose.
		if last := w.lastAppended(); lastSeq > high && lastSeq <= last {
			if err := w.Flush(ctx, lastSeq); err != nil {
				return fmt.Errorf("journal: checkpoint: %w", err)
			}
		}
		high = max(high, w.durableSeq())
	}
	if lastSeq < 0 || lastSeq > high {
		return fmt.Errorf("journal: checkpoint: seq %d outside the journal (last seq %d)", lastSeq, high)
	}
	end := lastSeq + 1
	cps, err := listSegments(ctx, j.st, j.cps)
	if err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	for _, c := range cps {
		if c.start == 0 && c.end >= end {
			if _, err := readFooter(ctx, j.st, c); err == nil {
				return nil
			}
		}
	}
	tmpName, tmp, err := j.createTemp(ctx, segName(0, end))
	if err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			closeQuietly(tmp)
			_ = j.st.Delete(context.WithoutCancel(ctx), tmpName)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := bw.WriteString(checkpointMagic); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	var count int64
	var buf, frame []byte
	emit := func(e *journalpb.JournalEntry) error {
		if count%1024 == 0 {
			if err := ctxErr(ctx); err != nil {
				return err
			}
		}
		e.SequenceNumber, e.Epoch = 0, 0
		var err error
		if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], e); err != nil {
			return fmt.Errorf("journal: checkpoint: marshal: %w", err)
		}
		if len(buf) == 0 || len(buf) > maxRecordSize {
			return fmt.Errorf("journal: checkpoint: entry of %d bytes", len(buf))
		}
		frame = appendRecord(frame[:0], buf)
		if _, err := bw.Write(frame); err != nil {
			return fmt.Errorf("journal: checkpoint: %w", err)
		}
		count++
		return nil
	}
	if err := snap(emit); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	ft := checkpointFooter{count: count, end: end, maxEpoch: maxEpoch, fence: fence}
	if _, err := bw.Write(ft.marshal()); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	keep = true // closed below, whatever happens
	if err := tmp.Close(); err != nil {
		_ = j.st.Delete(context.WithoutCancel(ctx), tmpName)
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	final := path.Join(j.cps, segName(0, end))
	err = j.st.Rename(ctx, tmpName, final)
	if errors.Is(err, fs.ErrExist) {
		// An invalid checkpoint of the same name (a valid one would have
		// ended Checkpoint above): replace it.
		if err = j.st.Delete(ctx, final); err == nil {
			err = j.st.Rename(ctx, tmpName, final)
		}
	}
	if err != nil {
		_ = j.st.Delete(context.WithoutCancel(ctx), tmpName)
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	j.mu.Lock()
	j.cpEnd = max(j.cpEnd, end)
	j.mu.Unlock()
	j.log.Info("journal checkpoint written", "file", where(j.st, final), "entries", count)

	// Garbage: older checkpoints and completed logs wholly covered.
	for _, c := range cps {
		if c.end < end || (c.end == end && c.name != final) {
			if err := j.st.Delete(ctx, c.name); err != nil {
				return fmt.Errorf("journal: checkpoint: remove old checkpoint: %w", err)
			}
		}
	}
	logs, err := listSegments(ctx, j.st, j.logs)
	if err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	for _, l := range logs {
		if !l.open() && l.end <= end {
			if err := j.st.Delete(ctx, l.name); err != nil {
				return fmt.Errorf("journal: checkpoint: remove covered log: %w", err)
			}
		}
	}
	return nil
}

// createTemp creates a new file in .tmp/ whose name starts with prefix.
func (j *Journal) createTemp(ctx context.Context, prefix string) (string, LogFile, error) {
	for i := 0; ; i++ {
		name := path.Join(j.tmp, fmt.Sprintf("%s.%d.%d.tmp", prefix, j.hooks.timeNow().UnixNano(), i))
		f, err := j.st.Create(ctx, name)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		return name, f, err
	}
}
