package journal

import (
	"context"
	"log/slog"

	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// StateMachine is the master state that journal entries drive, in the manner
// of hashicorp/raft's FSM.
type StateMachine interface {
	// Apply applies one entry during replay. An error is fatal to replay.
	Apply(e *journalpb.JournalEntry) error
	// Reset empties the state before a checkpoint is loaded.
	Reset()
}

// Snapshotter writes a state as a sequence of entries that, applied in order
// to an empty state, rebuild it. It is given to Journal.Checkpoint.
type Snapshotter func(emit func(*journalpb.JournalEntry) error) error

// Config configures a journal.
type Config struct {
	// Folder is alluxio.master.journal.folder, a local (or mounted)
	// directory. It is used when Storage is nil.
	Folder string
	// Storage is the folder the journal lives in (e.g. on HDFS); nil means
	// NewLocalStorage(Folder).
	Storage Storage
	// LogSizeBytesMax rotates the open log past this size
	// (alluxio.master.journal.log.size.bytes.max).
	LogSizeBytesMax int64
	// CheckpointPeriodEntries is how many entries may follow the latest
	// checkpoint before the owner should write another one
	// (alluxio.master.journal.checkpoint.period.entries); see NeedsCheckpoint.
	CheckpointPeriodEntries int64
	Logger                  *slog.Logger
	// Leader optionally names this master (host:port); it is recorded in the
	// NewTermEntry that StartWriting writes.
	Leader string
}

// Writer appends entries for one leadership term. It is safe for concurrent use.
//
// Append assigns the next sequence number and the writer's epoch to e, and
// buffers it; callers that need entries in the same order as their state
// changes call Append while holding the lock that orders those changes.
// Flush blocks until every entry up to seq is durable (fsynced), sharing one
// fsync among concurrent callers. After every fsync, before any entry is
// reported durable, the writer checks that its open log still has its name
// (the fence check); if a newer term has renamed it to seal it, Flush
// returns an error wrapping ErrFenced and the entries it covered are
// indeterminate (never to be acknowledged). After any write, sync or fence
// failure the writer is broken: every later Append and Flush returns an
// error, since the in-memory state may be ahead of the journal.
//
// An entry that no caller Flushes is flushed in the background within
// DefaultFlushDelay of its Append, so standbys see it and a crash loses
// only that window; a background flush that fails breaks the writer like
// any Flush.
//
// Close flushes and closes the open log.
type Writer interface {
	Append(e *journalpb.JournalEntry) (seq int64, err error)
	Flush(ctx context.Context, seq int64) error
	Close() error
}
