package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by Open to zero Config fields (Alluxio's defaults).
const (
	DefaultLogSizeBytesMax         = 10 << 20
	DefaultCheckpointPeriodEntries = 2000000
	// DefaultFlushDelay bounds how long an appended entry that no caller
	// Flushes stays buffered before the writer flushes it by itself.
	DefaultFlushDelay = 20 * time.Millisecond
)

// Sentinel errors callers may branch on (with errors.Is).
var (
	// ErrNotFormatted: the journal folder has not been formatted (see Format).
	ErrNotFormatted = errors.New("journal: not formatted")
	// ErrStaleEpoch: StartWriting was given an epoch not greater than every
	// epoch already in the journal.
	ErrStaleEpoch = errors.New("journal: stale epoch")
	// ErrWriting: the journal already has an active Writer in this process.
	ErrWriting = errors.New("journal: already writing")
	// ErrCorrupt: a record, log or checkpoint failed validation.
	ErrCorrupt = errors.New("journal: corrupt")
	// ErrReplayNeeded: StartWriting found the journal different from what
	// this Journal last replayed (another writer appended since, or this
	// process's writer broke); Replay again, then StartWriting.
	ErrReplayNeeded = errors.New("journal: replay needed")
	// ErrClosed: the Writer was closed.
	ErrClosed = errors.New("journal: writer closed")
	// ErrFenced: the writer's open log no longer has its name: a newer term
	// (StartWriting elsewhere) renamed it to seal it. The writer is broken;
	// entries whose Flush returned ErrFenced may or may not be in the
	// journal's history (the outcome is unknown, never acknowledged).
	ErrFenced = errors.New("journal: fenced: the open log was sealed by a newer term")
)

// ReplayResult describes what Replay applied.
type ReplayResult struct {
	// LastSeq is the sequence number of the last applied entry (0 if none).
	// A writer started next continues at LastSeq+1.
	LastSeq int64
	// LastEpoch is the highest epoch found in the journal (records and
	// checkpoint); StartWriting needs an epoch greater than it.
	LastEpoch int64
	// Entries is the number of entries given to Apply, checkpoint entries
	// included.
	Entries int64
	// CheckpointSeq is the last sequence number covered by the checkpoint
	// that was loaded (its name's end minus one), or 0 if none was.
	CheckpointSeq int64
}

// Journal is one master's journal in a journal folder. Its methods are safe
// for concurrent use; at most one Writer is active at a time.
type Journal struct {
	cfg   Config
	log   *slog.Logger
	st    Storage
	dir   string // Dir()
	root  string // Storage name of FileSystemMaster/v1
	logs  string // and of its logs/, checkpoints/ and .tmp/
	cps   string
	tmp   string
	hooks hooks
	// flushDelay: see writer.flushDelay; 0 turns background flushes off.
	flushDelay time.Duration
	mu         sync.Mutex
	state      *scanState // result of the last scan, with the listing it saw
	writer     *writer    // active writer, if any
	tail       *logCursor // CatchUp's position: the log it reads, kept across calls
	// Known progress, used by NeedsCheckpoint and Checkpoint.
	highSeq  int64 // highest seq replayed or appended
	maxEpoch int64 // highest epoch seen or written
	fence    int64 // highest NewTermEntry epoch seen or written
	cpEnd    int64 // latest checkpoint's end (exclusive); -1 = not yet read
	// applied is the last seq the owner's state machine holds, known once
	// Replay ran or a writer closed cleanly (-1 = unknown: the writer broke).
	applied      int64
	appliedKnown bool
	// syncs counts the fsyncs of open logs by this Journal's writers
	// (flush rounds and rotations), for Syncs.
	syncs atomic.Int64
}

// Syncs is how many times this Journal's writers have fsynced an open log
// (a group-commit round or a rotation): with the sequence number, it tells
// how many entries share an fsync.
func (j *Journal) Syncs() int64 { return j.syncs.Load() }

// Open validates cfg and returns a Journal for cfg.Storage, or, if that is
// nil, for the local directory cfg.Folder. It does not touch the storage:
// the folder need not exist or be formatted yet. Zero LogSizeBytesMax and
// CheckpointPeriodEntries take Alluxio's defaults. A Storage given in cfg
// stays the caller's to close.
func Open(cfg Config) (*Journal, error) {
	if cfg.Folder == "" && cfg.Storage == nil {
		return nil, errors.New("journal: config: empty folder")
	}
	if cfg.LogSizeBytesMax < 0 {
		return nil, fmt.Errorf("journal: config: negative log size max %d", cfg.LogSizeBytesMax)
	}
	if cfg.CheckpointPeriodEntries < 0 {
		return nil, fmt.Errorf("journal: config: negative checkpoint period %d", cfg.CheckpointPeriodEntries)
	}
	if cfg.LogSizeBytesMax == 0 {
		cfg.LogSizeBytesMax = DefaultLogSizeBytesMax
	}
	if cfg.CheckpointPeriodEntries == 0 {
		cfg.CheckpointPeriodEntries = DefaultCheckpointPeriodEntries
	}
	st := cfg.Storage
	if st == nil {
		var err error
		if st, err = NewLocalStorage(cfg.Folder); err != nil {
			return nil, fmt.Errorf("journal: config: %w", err)
		}
		cfg.Folder = st.URI()
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	root := path.Join(masterName, version)
	dir := where(st, root)
	if ls, ok := st.(*localStorage); ok {
		dir = filepath.Join(ls.root, masterName, version)
	}
	return &Journal{
		cfg:   cfg,
		log:   lg.With("component", "journal"),
		st:    st,
		dir:   dir,
		root:  root,
		logs:  path.Join(root, logsDir),
		cps:   path.Join(root, checkpointsDir),
		tmp:   path.Join(root, tmpDir),
		cpEnd: -1,

		flushDelay: DefaultFlushDelay,
	}, nil
}

// Dir returns the journal's versioned directory,
// <folder>/FileSystemMaster/v1, which holds logs/, checkpoints/ and .tmp/
// (a local path, or the Storage's URI joined with the names).
func (j *Journal) Dir() string { return j.dir }

// Storage returns the storage the journal lives in.
func (j *Journal) Storage() Storage { return j.st }

// Format wipes <folder>/FileSystemMaster and any earlier format marker,
// creates FileSystemMaster/v1/{logs,checkpoints,.tmp} and writes the marker
// file <folder>/_format_<unix millis>. Other files in folder are kept.
func Format(folder string) error {
	st, err := NewLocalStorage(folder)
	if err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	return format(context.Background(), st, &hooks{})
}

// FormatStorage is Format on the folder st is.
func FormatStorage(ctx context.Context, st Storage) error {
	return format(ctx, st, &hooks{})
}

func format(ctx context.Context, st Storage, h *hooks) error {
	if err := st.Mkdirs(ctx, ""); err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	if err := st.Delete(ctx, masterName); err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	markers, err := formatMarkers(ctx, st)
	if err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	for _, m := range markers {
		if err := st.Delete(ctx, m); err != nil {
			return fmt.Errorf("journal: format: %w", err)
		}
	}
	root := path.Join(masterName, version)
	for _, d := range []string{logsDir, checkpointsDir, tmpDir} {
		if err := st.Mkdirs(ctx, path.Join(root, d)); err != nil {
			return fmt.Errorf("journal: format: %w", err)
		}
	}
	marker := formatPrefix + strconv.FormatInt(h.timeNow().UnixMilli(), 10)
	f, err := st.Create(ctx, marker)
	if err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	if err := f.Sync(); err != nil {
		closeQuietly(f)
		return fmt.Errorf("journal: format: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: format: %w", err)
	}
	return nil
}

// IsFormatted reports whether folder holds a format marker and the journal
// directories. A missing folder is not formatted (and not an error).
func IsFormatted(folder string) (bool, error) {
	st, err := NewLocalStorage(folder)
	if err != nil {
		return false, err
	}
	return IsFormattedStorage(context.Background(), st)
}

// IsFormattedStorage is IsFormatted on the folder st is.
func IsFormattedStorage(ctx context.Context, st Storage) (bool, error) {
	markers, err := formatMarkers(ctx, st)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(markers) == 0 {
		return false, nil
	}
	root := path.Join(masterName, version)
	for _, d := range []string{logsDir, checkpointsDir} {
		fi, err := st.Stat(ctx, path.Join(root, d))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !fi.IsDir {
			return false, nil
		}
	}
	return true, nil
}

func formatMarkers(ctx context.Context, st Storage) ([]string, error) {
	ents, err := st.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, fi := range ents {
		if n := fi.Name; strings.HasPrefix(n, formatPrefix) && !fi.IsDir {
			if _, err := strconv.ParseInt(n[len(formatPrefix):], 10, 64); err == nil {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// checkFormatted returns ErrNotFormatted unless logs/ and checkpoints/ exist.
func (j *Journal) checkFormatted(ctx context.Context) error {
	for _, d := range []string{j.logs, j.cps} {
		fi, err := j.st.Stat(ctx, d)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir) {
			return fmt.Errorf("%w: %s missing", ErrNotFormatted, where(j.st, d))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// NeedsCheckpoint reports whether lastSeq is CheckpointPeriodEntries or more
// past the latest checkpoint. It reads the checkpoint directory only the
// first time (later checkpoints by this Journal update its knowledge).
func (j *Journal) NeedsCheckpoint(lastSeq int64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cpEnd < 0 {
		end := int64(0)
		if cps, err := listSegments(context.Background(), j.st, j.cps); err == nil {
			for _, c := range cps {
				if c.start == 0 && c.end > end {
					end = c.end
				}
			}
		}
		j.cpEnd = end
	}
	covered := j.cpEnd - 1 // last seq in the checkpoint
	if covered < 0 {
		covered = 0
	}
	return lastSeq-covered >= j.cfg.CheckpointPeriodEntries
}

// RecoverOpenLogs takes every open log (and every log left half-sealed)
// away from whoever may still be writing it, in place: Storage.Recover, so
// that readers can read it to its durable end. Only a master that holds the
// leadership may call it (it fences the previous term's writer, as
// StartWriting would a moment later). A new leader uses it when catching up
// fails on a log it cannot read: on HDFS the last block of a log whose
// writer died together with a DataNode stays unreadable (a replica waiting
// to be recovered) until lease recovery runs. Local storage: a no-op.
func (j *Journal) RecoverOpenLogs(ctx context.Context) (recovered int, err error) {
	logs, err := listSegments(ctx, j.st, j.logs)
	if err != nil {
		return 0, fmt.Errorf("journal: list logs: %w", err)
	}
	for _, s := range logs {
		if !s.open() && !s.sealing {
			continue
		}
		if _, err := j.st.Recover(ctx, s.name); err != nil {
			return recovered, fmt.Errorf("journal: recover %s: %w", s.path, err)
		}
		recovered++
	}
	return recovered, nil
}

// NewestCheckpoint returns the last seq covered by the newest checkpoint in
// the folder, whoever wrote it (0 if there is none). It lists checkpoints/
// (one Storage.List); it does not validate the checkpoint.
func (j *Journal) NewestCheckpoint(ctx context.Context) (int64, error) {
	cps, err := listSegments(ctx, j.st, j.cps)
	if err != nil {
		return 0, fmt.Errorf("journal: list checkpoints: %w", err)
	}
	var newest int64
	for _, c := range cps {
		if c.start == 0 && !c.open() {
			newest = max(newest, c.end-1)
		}
	}
	return newest, nil
}

// Fingerprint names the logs and checkpoints in the folder with their sizes
// and file IDs. While it is unchanged there is nothing new for CatchUp to
// apply, so a standby may poll it (two Storage.List calls) instead.
func (j *Journal) Fingerprint(ctx context.Context) (string, error) {
	_, _, fp, err := j.listing(ctx)
	return fp, err
}

// closeQuietly closes c, for error paths where a close error adds nothing.
func closeQuietly(c io.Closer) { _ = c.Close() }

// wrapCtx checks ctx between units of work.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
