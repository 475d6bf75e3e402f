package journalstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// FenceXAttr is the extended attribute Recover sets on an HDFS log before
// it revokes the log's lease: an earlier LogFile of the log whose Sync then
// fails (its pipeline cut by the block recovery, its lease gone) reports
// journal.ErrFenced, even when the log kept its name.
const FenceXAttr = "user.alluxio.journal.recovered"

// Bounds of the HDFS storage's polls.
const (
	// recoverTimeout bounds Recover's wait for the NameNode to close the
	// file (lease recovery runs a block recovery on a DataNode, started at
	// its next heartbeat).
	recoverTimeout = 2 * time.Minute
	// truncateTimeout bounds Truncate's wait for its block recovery.
	truncateTimeout = 2 * time.Minute
)

// hdfsStorage is a journal.Storage on an HDFS directory.
type hdfsStorage struct {
	c    *ufs.HDFSClient
	root string // clean absolute HDFS path of the folder
	uri  string
	// recoverTimeout bounds one lease recovery (recoverTimeout by
	// default; tests shrink it).
	recoverTimeout time.Duration
}

// openHDFS connects to the HDFS of uri and checks that its folder can be
// written.
func openHDFS(ctx context.Context, uri string, props map[string]string) (*hdfsStorage, error) {
	c, err := ufs.DialHDFS(ctx, uri, props)
	if err != nil {
		return nil, fmt.Errorf("journalstore: journal folder %s: %w", uri, err)
	}
	root, err := c.Path(uri)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("journalstore: journal folder %s: %w", uri, err)
	}
	s := &hdfsStorage{c: c, root: root, uri: c.URI(root), recoverTimeout: recoverTimeout}
	if err := s.probe(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// probe makes the folder and creates and deletes a file in it.
func (s *hdfsStorage) probe(ctx context.Context) error {
	fail := func(err error) error {
		return fmt.Errorf("journalstore: journal folder %s is not usable as HDFS user %s: %w", s.uri, s.c.User(), err)
	}
	if err := s.c.Mkdirs(ctx, s.root, 0o755); err != nil {
		return fail(err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	probe := path.Join(s.root, ".probe-"+hex.EncodeToString(rnd[:]))
	w, err := s.c.Create(ctx, probe, 0o644)
	if err != nil {
		return fail(err)
	}
	err = w.Close()
	if derr := s.c.Delete(ctx, probe, false); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

func (s *hdfsStorage) URI() string { return s.uri }

func (s *hdfsStorage) Close() error { return s.c.Close() }

// path maps a slash-separated name relative to the folder to an HDFS path.
func (s *hdfsStorage) path(name string) (string, error) {
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("journalstore: %s: bad name %q", s.uri, name)
		}
	}
	return path.Join(s.root, name), nil
}

// sentinelError is err that also matches a sentinel of io/fs.
type sentinelError struct {
	err, sentinel error
}

func (e *sentinelError) Error() string   { return e.err.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.err, e.sentinel} }

// wrap prefixes err with the package and makes the HDFS backend's
// ErrNotFound and ErrExists match fs.ErrNotExist and fs.ErrExist, as
// journal.Storage requires. The backend's errors name the URI.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("journalstore: %w", sentinel(err))
}

// sentinel is wrap without the prefix, for messages that have one.
func sentinel(err error) error {
	switch {
	case errors.Is(err, ufs.ErrNotFound):
		return &sentinelError{err, fs.ErrNotExist}
	case errors.Is(err, ufs.ErrExists):
		return &sentinelError{err, fs.ErrExist}
	}
	return err
}

func (s *hdfsStorage) Create(ctx context.Context, name string) (journal.LogFile, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	w, err := s.c.CreateLog(ctx, p, 0o644)
	if err != nil {
		return nil, wrap(err)
	}
	return &hdfsLog{s: s, p: p, id: w.FileID(), w: w}, nil
}

func (s *hdfsStorage) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	r, err := s.c.Open(ctx, p, offset)
	if err != nil {
		return nil, wrap(err)
	}
	return &hdfsReader{s: s, p: p, off: offset, r: r}, nil
}

// hdfsReader reads a log, recovering it once if its last block cannot be
// read because its writer's pipeline died with a DataNode restart.
//
// After a DataNode restarts, the replica of a block that was being written
// is "waiting to be recovered" (RWR): the DataNode refuses to serve it
// ("Replica is not readable") until the file's lease is recovered. Only a
// DataNode restart makes such a replica, and it also ends the writer's
// pipeline for good (the library cannot rebuild a pipeline; the writer's
// next Sync fails), so no writer can add to the file any more. Without the
// recovery no master could read the open log, and a new leader catches up
// on it before it fences it: the cluster would never elect a working leader
// again. The reader therefore recovers the lease (as Recover does, without
// the mark: the writer is dead already, not fenced), which keeps every byte
// the DataNode acknowledged, and reads on from where it was.
type hdfsReader struct {
	s         *hdfsStorage
	p         string
	off       int64
	r         io.ReadCloser
	recovered bool
}

// unreadableReplica reports whether err is the DataNode's refusal to serve
// a replica waiting for recovery.
func unreadableReplica(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Replica is not readable") || strings.Contains(m, "ReplicaWaitingToBeRecovered")
}

func (r *hdfsReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.off += int64(n)
	if err == nil || err == io.EOF || r.recovered || !unreadableReplica(err) {
		return n, err
	}
	r.recovered = true
	r.r.Close()
	// The recovery is bounded once, by the storage's recover timeout
	// (poll); the reopen afterwards by the client's RPC timeout.
	ctx := context.Background()
	if perr := r.s.recoverLease(ctx, r.p); perr != nil {
		r.r = io.NopCloser(strings.NewReader(""))
		return n, fmt.Errorf("journalstore: read %s: %w (recovering the log's lease after it: %w)", r.s.c.URI(r.p), err, sentinel(perr))
	}
	nr, oerr := r.s.c.Open(ctx, r.p, r.off)
	if oerr != nil {
		r.r = io.NopCloser(strings.NewReader(""))
		return n, wrap(oerr)
	}
	r.r = nr
	if n > 0 {
		return n, nil
	}
	return r.Read(b)
}

func (r *hdfsReader) Close() error { return r.r.Close() }

func info(i ufs.HDFSFileInfo) journal.FileInfo {
	return journal.FileInfo{Name: i.Name, Size: i.Size, ModTime: i.ModTime, IsDir: i.IsDir, ID: i.FileID}
}

func (s *hdfsStorage) Stat(ctx context.Context, name string) (journal.FileInfo, error) {
	p, err := s.path(name)
	if err != nil {
		return journal.FileInfo{}, err
	}
	i, err := s.c.Stat(ctx, p)
	if err != nil {
		return journal.FileInfo{}, wrap(err)
	}
	return info(i), nil
}

func (s *hdfsStorage) List(ctx context.Context, dir string) ([]journal.FileInfo, error) {
	p, err := s.path(dir)
	if err != nil {
		return nil, err
	}
	is, err := s.c.List(ctx, p)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]journal.FileInfo, len(is))
	for k, i := range is {
		out[k] = info(i)
	}
	return out, nil
}

func (s *hdfsStorage) Mkdirs(ctx context.Context, dir string) error {
	p, err := s.path(dir)
	if err != nil {
		return err
	}
	return wrap(s.c.Mkdirs(ctx, p, 0o755))
}

func (s *hdfsStorage) Rename(ctx context.Context, src, dst string) error {
	sp, err := s.path(src)
	if err != nil {
		return err
	}
	dp, err := s.path(dst)
	if err != nil {
		return err
	}
	err = s.c.Rename(ctx, sp, dp)
	if err != nil && !errors.Is(err, ufs.ErrExists) && !errors.Is(err, ufs.ErrNotFound) {
		// rename2 onto a directory is a plain IOException: it exists too.
		if _, serr := s.c.Stat(ctx, dp); serr == nil {
			err = &sentinelError{err, fs.ErrExist}
		}
	}
	return wrap(err)
}

func (s *hdfsStorage) Delete(ctx context.Context, name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if p == s.root {
		return fmt.Errorf("journalstore: %s: refusing to delete the journal folder itself", s.uri)
	}
	if err := s.c.Delete(ctx, p, true); err != nil && !errors.Is(err, ufs.ErrNotFound) {
		return wrap(err)
	}
	return nil
}

// poll calls done until it reports true, backing off from 20 ms to 1 s,
// for at most limit: done gets a context that ends at the limit, so a call
// in progress then is cut short too. An error at the limit says so.
func poll(ctx context.Context, limit time.Duration, done func(ctx context.Context) (bool, error)) error {
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	timedOut := func(err error) error {
		if ctx.Err() == nil && pctx.Err() != nil {
			return fmt.Errorf("not done within %v: %w", limit, err)
		}
		return err
	}
	delay := 20 * time.Millisecond
	for {
		ok, err := done(pctx)
		if err != nil {
			return timedOut(err)
		}
		if ok {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-pctx.Done():
			t.Stop()
			return timedOut(pctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// Recover marks the file (FenceXAttr), so that an earlier LogFile of it
// reports its failure as journal.ErrFenced, then revokes its lease and waits until the NameNode reports
// it closed: its length is then final.
func (s *hdfsStorage) Recover(ctx context.Context, name string) (int64, error) {
	p, err := s.path(name)
	if err != nil {
		return 0, err
	}
	if err := s.c.SetXAttr(ctx, p, FenceXAttr, "1"); err != nil {
		return 0, wrap(err)
	}
	if err := s.recoverLease(ctx, p); err != nil {
		return 0, fmt.Errorf("journalstore: recover lease of %s: %w", s.c.URI(p), sentinel(err))
	}
	i, err := s.c.Stat(ctx, p)
	if err != nil {
		return 0, wrap(err)
	}
	return i.Size, nil
}

// recoverLease revokes the lease of p's writer and waits until the NameNode
// reports p closed, for at most s.recoverTimeout in all.
func (s *hdfsStorage) recoverLease(ctx context.Context, p string) error {
	return poll(ctx, s.recoverTimeout, func(ctx context.Context) (bool, error) { return s.c.RecoverLease(ctx, p) })
}

// Truncate cuts the closed file to size; when the cut is inside a block the
// NameNode recovers that block first, and Truncate waits until the file is
// closed again.
func (s *hdfsStorage) Truncate(ctx context.Context, name string, size int64) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	done, err := s.c.Truncate(ctx, p, size)
	if err != nil {
		return wrap(err)
	}
	if done {
		return nil
	}
	if err := poll(ctx, truncateTimeout, func(ctx context.Context) (bool, error) { return s.c.IsFileClosed(ctx, p) }); err != nil {
		return fmt.Errorf("journalstore: truncate %s: %w", s.c.URI(p), sentinel(err))
	}
	return nil
}

// hdfsLog is a LogFile on HDFS: one HDFS file kept open (one pipeline,
// one lease) from Create to Close; Sync is an hflush (every DataNode of the
// pipeline acknowledged every byte) followed by the NameNode's fsync with
// the last block's length, so Stat and a new Open see every synced byte.
type hdfsLog struct {
	s  *hdfsStorage
	p  string
	id uint64

	mu     sync.Mutex
	w      *ufs.HDFSLogWriter // nil after a failure or Close
	err    error              // sticky: the first failure
	closed bool
}

func (l *hdfsLog) ID() uint64 { return l.id }

// fail records the first failure; the log is unusable afterwards. A
// failure of a log that was sealed (renamed away, or recovered) by another
// writer wraps journal.ErrFenced.
func (l *hdfsLog) fail(err error) error {
	if l.w != nil {
		l.w.Abort() // cuts the pipeline; the file stays as synced
		l.w = nil
	}
	if l.err == nil {
		l.err = l.fenced(err)
	}
	return l.err
}

// fenced wraps err with journal.ErrFenced if the log's name no longer holds
// its file or the file carries Recover's mark.
func (l *hdfsLog) fenced(err error) error {
	if errors.Is(err, journal.ErrFenced) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	i, serr := l.s.c.Stat(ctx, l.p)
	switch {
	case errors.Is(serr, ufs.ErrNotFound):
		return fmt.Errorf("%w: %s is gone: %w", journal.ErrFenced, l.s.c.URI(l.p), err)
	case serr != nil:
		return err
	case i.FileID != l.id:
		return fmt.Errorf("%w: %s holds another file: %w", journal.ErrFenced, l.s.c.URI(l.p), err)
	}
	if attrs, aerr := l.s.c.XAttrs(ctx, l.p); aerr == nil {
		if _, ok := attrs[FenceXAttr]; ok {
			return fmt.Errorf("%w: %s was recovered by another writer: %w", journal.ErrFenced, l.s.c.URI(l.p), err)
		}
	}
	return err
}

func (l *hdfsLog) usable() error {
	if l.closed {
		return fmt.Errorf("journalstore: %s: log file is closed", l.s.c.URI(l.p))
	}
	return l.err
}

func (l *hdfsLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := l.w.Write(b)
	if err != nil {
		return n, l.fail(wrap(err))
	}
	return n, nil
}

func (l *hdfsLog) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	return l.sync()
}

func (l *hdfsLog) sync() error {
	if err := l.w.Hflush(); err != nil {
		return l.fail(wrap(err))
	}
	return nil
}

func (l *hdfsLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.usable()
	}
	l.closed = true
	if l.err != nil {
		return l.err
	}
	w := l.w
	l.w = nil
	if err := w.Close(); err != nil {
		l.err = l.fenced(wrap(err))
		return l.err
	}
	return nil
}
