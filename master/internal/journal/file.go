package journal

import (
	"os"
	"time"
)

// logFile is the part of *os.File the writer uses. Tests substitute
// implementations that fail on demand.
type logFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// hooks are test failpoints and counters, in the manner of etcd's
// failpoints. A nil hook does nothing. They are per Journal; there is no
// global state.
type hooks struct {
	// openFile replaces os.OpenFile for log files the writer creates.
	openFile func(name string, flag int, perm os.FileMode) (logFile, error)
	// beforeSync runs before every fsync of a log file; an error fails it.
	beforeSync func() error
	// afterSync runs after every successful fsync of a log file; an error
	// fails it as if the fsync had failed.
	afterSync func() error
	// beforeFence runs in StartWriting after the scan, before the open
	// logs are renamed (fenced).
	beforeFence func()
	// listed runs whenever CatchUp lists the logs directory.
	listed func()
	// now replaces time.Now (for the format marker and NewTermEntry).
	now func() time.Time
}

func (h *hooks) open(name string, flag int, perm os.FileMode) (logFile, error) {
	if h.openFile != nil {
		return h.openFile(name, flag, perm)
	}
	return os.OpenFile(name, flag, perm)
}

func (h *hooks) timeNow() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// syncFile fsyncs f between the beforeSync and afterSync failpoints.
func (h *hooks) syncFile(f logFile) error {
	if h.beforeSync != nil {
		if err := h.beforeSync(); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if h.afterSync != nil {
		return h.afterSync()
	}
	return nil
}
