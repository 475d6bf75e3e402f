package journal

import "time"

// hooks are test failpoints and counters, in the manner of etcd's
// failpoints. A nil hook does nothing. They are per Journal; there is no
// global state.
type hooks struct {
	// wrapLog wraps every log file the writer creates (name is its Storage
	// name), to inject failures.
	wrapLog func(name string, f LogFile) LogFile
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

func (h *hooks) wrap(name string, f LogFile) LogFile {
	if h.wrapLog != nil {
		return h.wrapLog(name, f)
	}
	return f
}

func (h *hooks) timeNow() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// syncFile fsyncs f between the beforeSync and afterSync failpoints.
func (h *hooks) syncFile(f LogFile) error {
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
