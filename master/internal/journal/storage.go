package journal

import (
	"context"
	"io"
	"time"
)

// Storage is the folder the journal lives in: a local (or mounted) directory,
// or an HDFS directory (deploy/hdfs/JOURNAL-ON-HDFS.md). Every file operation
// of the journal goes through it. Names are slash-separated and relative to
// the journal folder ("FileSystemMaster/v1/logs/0x1-0x7fffffffffffffff");
// the name "" is the folder itself (Mkdirs("") creates it, List("") lists
// it).
//
// Errors for a missing name wrap fs.ErrNotExist, for an existing one
// fs.ErrExist; every error names the folder's URI and the name.
type Storage interface {
	// URI names the folder in messages ("/var/journal", "hdfs://nn:8020/j").
	URI() string
	// Create makes a new file for writing, failing with fs.ErrExist if name
	// exists (local: O_CREATE|O_EXCL, and the directory is synced; HDFS:
	// create without overwrite).
	Create(ctx context.Context, name string) (LogFile, error)
	// Open reads name from offset. The reader sees at least every byte
	// whose LogFile.Sync returned before Open was called; a tailing reader
	// that reaches EOF opens the file again to see later bytes.
	Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error)
	// Stat describes one file or directory. The Size of a file being
	// written counts at least every byte whose LogFile.Sync returned before
	// Stat was called (a tailing reader Stats the open log to learn whether
	// there is anything new to Open and read).
	Stat(ctx context.Context, name string) (FileInfo, error)
	// List describes the entries of a directory, in no particular order.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Mkdirs makes dir and its missing parents; an existing dir is no error.
	Mkdirs(ctx context.Context, dir string) error
	// Rename never replaces: it fails with fs.ErrExist if dst exists. It is
	// durable when it returns (local: the directories are synced).
	Rename(ctx context.Context, src, dst string) error
	// Delete removes a file, or a directory with everything under it. A
	// missing name is no error.
	Delete(ctx context.Context, name string) error
	// Recover takes name away from whoever may still be writing it and
	// returns its durable length: afterwards no write of an earlier LogFile
	// of name can add a byte to it. Local: returns the size (the rename and
	// the writer's fence check are the whole fence). HDFS: recoverLease,
	// polled until the NameNode reports the file closed.
	Recover(ctx context.Context, name string) (size int64, err error)
	// Truncate cuts a closed (or recovered) file to size, durably.
	Truncate(ctx context.Context, name string, size int64) error
	// Close releases the storage's connections.
	Close() error
}

// LogFile is a file being written. Writes may be buffered until Sync.
type LogFile interface {
	io.Writer
	// Sync returns once every byte written so far is durable and visible to
	// readers that Open the file afterwards (local: fsync; HDFS: the bytes
	// acknowledged by every DataNode of the pipeline and the length known
	// to the NameNode).
	Sync() error
	// ID identifies the file itself, not its name (local: the inode; HDFS:
	// the NameNode's file id). The writer's fence check compares it with
	// Storage.Stat of the open log's name.
	ID() uint64
	// Close syncs and closes the file.
	Close() error
}

// FileInfo describes one entry of a Storage.
type FileInfo struct {
	Name    string // base name
	Size    int64
	ModTime time.Time
	IsDir   bool
	ID      uint64 // as LogFile.ID
}
