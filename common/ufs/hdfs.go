package ufs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	hdfs "github.com/colinmarc/hdfs/v2"
)

// LeaseRecoverer is implemented by backends whose open files are guarded by
// a lease (HDFS). RecoverLease revokes the lease of whoever is writing path
// and closes the file at its last durable length; from then on the old
// writer's writes and its close fail. closed is true once the file is
// closed; false means recovery has started and the caller polls again.
type LeaseRecoverer interface {
	RecoverLease(ctx context.Context, path string) (closed bool, err error)
}

// closeRetryTimeout bounds how long Close retries while HDFS reports that
// the file's last block is still being replicated.
const closeRetryTimeout = 60 * time.Second

// hdfsLinger is how long a pooled connection stays open after its last user
// closed, so callers that open a backend per request (the worker's UFS
// reads) reuse one connection.
const hdfsLinger = time.Minute

// NewHDFS returns the backend for the HDFS that uri names
// ("hdfs://namenode:8020/base", or "hdfs://nameservice/base" for an HA
// nameservice of the Hadoop configuration), with its own NameNode
// connection that Close releases. props are mount properties (see
// HDFSUserProperty and the other HDFS*Property keys). It fails, naming the
// URI, when the NameNode cannot be reached within the dial and RPC timeouts
// or ctx's deadline. Paths given to its methods are hdfs:// URIs of the same
// authority or absolute paths.
//
// Files are written to a temporary name in the target directory and renamed
// into place on Close, so readers never see a partial file.
func NewHDFS(ctx context.Context, uri string, props map[string]string) (UnderFileSystem, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return openHDFS(ctx, nil, u, props)
}

// hdfsPool shares NameNode connections among the backends a Registry opens.
type hdfsPool struct {
	mu    sync.Mutex
	conns map[string]*hdfsConn
}

// hdfsConn is one HDFS client (one NameNode connection), reference counted.
type hdfsConn struct {
	pool   *hdfsPool // nil: not pooled
	key    string
	client *hdfs.Client
	nn     namenodeRPC
	refs   int // guarded by pool.mu
	idle   *time.Timer
	once   sync.Once
}

func (c *hdfsConn) close() {
	c.once.Do(func() { c.client.Close() })
}

func (p *hdfsPool) factory(ctx context.Context, u *url.URL, props map[string]string) (UnderFileSystem, error) {
	return openHDFS(ctx, p, u, props)
}

func openHDFS(ctx context.Context, pool *hdfsPool, u *url.URL, props map[string]string) (UnderFileSystem, error) {
	if u.Scheme != "hdfs" {
		return nil, fmt.Errorf("ufs: %s is not an hdfs:// URI", u.Redacted())
	}
	o, err := hdfsOptionsFor(u, props, os.Getenv)
	if err != nil {
		return nil, err
	}
	h := &hdfsFS{opts: o}
	if pool != nil {
		pool.mu.Lock()
		if c, ok := pool.conns[o.key()]; ok {
			c.refs++
			if c.idle != nil {
				c.idle.Stop()
				c.idle = nil
			}
			pool.mu.Unlock()
			h.conn = c
			return h, nil
		}
		pool.mu.Unlock()
	}
	c, err := connectHDFS(ctx, o, nil)
	if err != nil {
		return nil, err
	}
	c.refs = 1
	if pool != nil {
		c.pool, c.key = pool, o.key()
		pool.mu.Lock()
		if old, ok := pool.conns[c.key]; ok {
			// Another Open connected meanwhile: use its connection.
			old.refs++
			if old.idle != nil {
				old.idle.Stop()
				old.idle = nil
			}
			pool.mu.Unlock()
			c.close()
			c = old
		} else {
			if pool.conns == nil {
				pool.conns = make(map[string]*hdfsConn)
			}
			pool.conns[c.key] = c
			pool.mu.Unlock()
		}
	}
	h.conn = c
	return h, nil
}

// dialFunc dials a connection (NameNode or DataNode).
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// connectHDFS makes a client and checks that the NameNode answers;
// wrapDN, if not nil, wraps its DataNode dialer.
func connectHDFS(ctx context.Context, o hdfsOptions, wrapDN func(dialFunc) dialFunc) (*hdfsConn, error) {
	where := "hdfs://" + o.authority
	if len(o.addresses) > 1 || o.addresses[0] != o.authority {
		where += " (NameNodes " + strings.Join(o.addresses, ", ") + ")"
	}
	nnDial := timeoutDialer(o.dialTimeout, o.rpcTimeout)
	dnDial := (&net.Dialer{Timeout: o.dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	if wrapDN != nil {
		dnDial = wrapDN(dnDial)
	}
	c, err := doValue(ctx, func() (*hdfs.Client, error) {
		c, err := hdfs.NewClient(hdfs.ClientOptions{
			Addresses:           o.addresses,
			User:                o.user,
			UseDatanodeHostname: o.useDNHost,
			NamenodeDialFunc:    nnDial,
			DatanodeDialFunc:    dnDial,
		})
		if err != nil {
			return nil, err
		}
		// NewClient only dials; one call proves the NameNode answers.
		if _, err := c.ServerDefaults(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}, func(c *hdfs.Client) { c.Close() })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ufs: connect to %s as %s: %w", where, o.user, err)
		}
		return nil, fmt.Errorf("ufs: connect to %s as %s: NameNode unreachable: %v: %w", where, o.user, err, rpcstatus.ErrUnavailable)
	}
	nn, err := namenodeOf(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &hdfsConn{client: c, nn: nn}, nil
}

// timeoutDialer dials NameNodes within dialTimeout and bounds every read
// and write on the connection by rpcTimeout. The library keeps a connection
// after a failed read, and its next call would read a stale answer, so the
// first error sticks: every later read or write fails at once, which makes
// the library drop the connection and dial again.
func timeoutDialer(dialTimeout, rpcTimeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &deadlineConn{Conn: c, timeout: rpcTimeout}, nil
	}
}

type deadlineConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	err     error
}

func (c *deadlineConn) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *deadlineConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if err := c.failed(); err != nil {
		return 0, err
	}
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(b)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.failed(); err != nil {
		return 0, err
	}
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Write(b)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

// do runs fn, returning early with ctx's error when ctx ends first (fn then
// finishes in the background, bounded by the RPC timeout).
func do(ctx context.Context, fn func() error) error {
	_, err := doValue(ctx, func() (struct{}, error) { return struct{}{}, fn() }, nil)
	return err
}

// doValue is do for a call that returns a resource; cleanup releases one
// that arrives after the caller gave up.
func doValue[T any](ctx context.Context, fn func() (T, error), cleanup func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if ctx.Done() == nil {
		return fn()
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil && cleanup != nil {
				cleanup(r.v)
			}
		}()
		return zero, ctx.Err()
	}
}

type hdfsFS struct {
	opts   hdfsOptions
	conn   *hdfsConn
	closed sync.Once
}

func (h *hdfsFS) Close() error {
	h.closed.Do(func() {
		c := h.conn
		if c.pool == nil {
			c.close()
			return
		}
		p := c.pool
		p.mu.Lock()
		defer p.mu.Unlock()
		c.refs--
		if c.refs > 0 {
			return
		}
		c.idle = time.AfterFunc(hdfsLinger, func() {
			p.mu.Lock()
			if c.refs > 0 || p.conns[c.key] != c {
				p.mu.Unlock()
				return
			}
			delete(p.conns, c.key)
			p.mu.Unlock()
			c.close()
		})
	})
	return nil
}

// path maps an hdfs:// URI of this backend's authority, or an absolute
// path, to a clean HDFS path.
func (h *hdfsFS) path(p string) (string, error) {
	if strings.Contains(p, "://") {
		u, err := ParseURI(p)
		if err != nil {
			return "", err
		}
		if u.Scheme != "hdfs" {
			return "", fmt.Errorf("ufs: %q is not an hdfs:// URI", p)
		}
		if u.Host != "" && !strings.EqualFold(u.Host, h.opts.authority) {
			return "", fmt.Errorf("ufs: %q names HDFS %s; this backend serves %s", p, u.Host, h.opts.authority)
		}
		p = u.Path
		if p == "" {
			p = "/"
		}
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("ufs: path %q is not absolute", p)
	}
	return path.Clean(p), nil
}

// uri names an HDFS path in messages.
func (h *hdfsFS) uri(p string) string { return "hdfs://" + h.opts.authority + p }

// wrap turns a library error into one wrapping ErrNotFound, ErrExists,
// rpcstatus.ErrDirectoryNotEmpty, rpcstatus.ErrPermissionDenied or
// rpcstatus.ErrUnavailable where it is one of those, naming the URI.
func (h *hdfsFS) wrap(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	where := h.uri(p)
	switch remoteException(err) {
	case "java.io.FileNotFoundException":
		return fmt.Errorf("ufs: %s %s: %w", op, where, ErrNotFound)
	case "org.apache.hadoop.fs.FileAlreadyExistsException":
		return fmt.Errorf("ufs: %s %s: %w", op, where, ErrExists)
	case "org.apache.hadoop.security.AccessControlException":
		return fmt.Errorf("ufs: %s %s: %w (as HDFS user %s)", op, where, rpcstatus.ErrPermissionDenied, h.opts.user)
	case "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException":
		return fmt.Errorf("ufs: %s %s: %w", op, where, rpcstatus.ErrDirectoryNotEmpty)
	case "org.apache.hadoop.ipc.StandbyException", "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
		"org.apache.hadoop.ipc.RetriableException",
		// Adding a block while the one before the last is not yet reported
		// by its DataNode, still refused after writeHDFSFile's retries.
		"org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException":
		return fmt.Errorf("ufs: %s %s: %v: %w", op, where, firstLine(err), rpcstatus.ErrUnavailable)
	case "":
	default:
		return fmt.Errorf("ufs: %s %s: %v", op, where, firstLine(err))
	}
	switch {
	case errors.Is(err, syscall.ENOTEMPTY): // before ErrExist, which ENOTEMPTY also matches
		return fmt.Errorf("ufs: %s %s: %w", op, where, rpcstatus.ErrDirectoryNotEmpty)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("ufs: %s %s: %w", op, where, ErrNotFound)
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("ufs: %s %s: %w", op, where, ErrExists)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("ufs: %s %s: %w (as HDFS user %s)", op, where, rpcstatus.ErrPermissionDenied, h.opts.user)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("ufs: %s %s: %w", op, where, err)
	case unreachable(err):
		return fmt.Errorf("ufs: %s %s: HDFS unreachable (NameNodes %s): %v: %w", op, where,
			strings.Join(h.opts.addresses, ", "), err, rpcstatus.ErrUnavailable)
	}
	return fmt.Errorf("ufs: %s %s: %w", op, where, err)
}

// unreachable reports whether err means the NameNode or a DataNode could
// not be reached or stopped answering.
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "no available namenodes")
}

// firstLine is the first line of a remote error (its message without the
// Java stack trace), with the first line of the exception's own message
// when it has one ("append call failed with ERROR_APPLICATION
// (java.io.IOException): Failed to APPEND_FILE ...").
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	var re hdfs.Error
	if errors.As(err, &re) && !strings.Contains(s, ": ") {
		m := re.Message()
		if i := strings.IndexByte(m, '\n'); i >= 0 {
			m = m[:i]
		}
		if m = strings.TrimSpace(m); m != "" {
			s += ": " + m
		}
	}
	return s
}

func (h *hdfsFS) stat(ctx context.Context, p string) (os.FileInfo, error) {
	return doValue(ctx, func() (os.FileInfo, error) { return h.conn.client.Stat(p) }, nil)
}

func (h *hdfsFS) Create(ctx context.Context, uri string, opts CreateOptions) (Writer, error) {
	p, err := h.path(uri)
	if err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, fmt.Errorf("ufs: create %s: is the root: %w", h.uri(p), ErrExists)
	}
	dir := path.Dir(p)
	if opts.CreateParent {
		if err := do(ctx, func() error { return h.conn.client.MkdirAll(dir, 0o755) }); err != nil {
			return nil, h.wrap("create", p, err)
		}
	} else if st, err := h.stat(ctx, dir); err != nil {
		return nil, h.wrap("create", p, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("ufs: create %s: parent is not a directory", h.uri(p))
	}
	if !opts.Overwrite {
		if _, err := h.stat(ctx, p); err == nil {
			return nil, fmt.Errorf("ufs: create %s: %w", h.uri(p), ErrExists)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, h.wrap("create", p, err)
		}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(p)+tempMarker+hex.EncodeToString(rnd[:]))
	fw, err := createHDFSFile(ctx, h.conn.client, tmp, os.FileMode(opts.Mode&0o7777), false, func() { h.conn.client.Remove(tmp) })
	if err != nil {
		return nil, h.wrap("create", p, err)
	}
	return &hdfsWriter{f: hdfsFileWrite{h: h, fw: fw, src: tmp, name: p}, overwrite: opts.Overwrite}, nil
}

// hdfsWriter writes the temporary file f.src and renames it to f.name
// (the target, which messages name) at Close.
type hdfsWriter struct {
	f         hdfsFileWrite
	overwrite bool
}

func (w *hdfsWriter) Write(b []byte) (int, error) { return w.f.write(b) }

// closeHDFSFile closes fw, the writer of src, retrying while HDFS
// replicates its blocks (the NameNode answers "not complete" until the
// DataNode has reported them), for at most closeRetryTimeout, waiting
// first firstDelay, doubling up to maxDelay. Retries resend the last block
// (see writerBlock).
func (h *hdfsFS) closeHDFSFile(fw *hdfs.FileWriter, src string, firstDelay, maxDelay time.Duration) error {
	last, fileID, err := writerBlock(fw)
	if err != nil {
		return err
	}
	fw.SetDeadline(time.Now().Add(h.opts.rpcTimeout))
	err = fw.Close()
	deadline := time.Now().Add(closeRetryTimeout)
	delay := firstDelay
	for hdfs.IsErrReplicating(err) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (for %v)", err, closeRetryTimeout)
		}
		time.Sleep(delay)
		delay = min(2*delay, maxDelay)
		done, cerr := h.complete(src, last, fileID)
		if cerr != nil {
			return cerr
		}
		if done {
			return nil
		}
	}
	return err
}

func (w *hdfsWriter) Close() error {
	if w.f.done {
		return fmt.Errorf("ufs: close %s: writer is closed", w.f.h.uri(w.f.name))
	}
	c := w.f.h.conn.client
	if err := w.f.close(10*time.Millisecond, time.Second); err != nil {
		c.Remove(w.f.src)
		return err
	}
	var err error
	if w.overwrite {
		err = c.Rename(w.f.src, w.f.name)
	} else {
		err = w.f.h.renameNoReplace(w.f.src, w.f.name)
	}
	if err != nil {
		c.Remove(w.f.src)
		return w.f.h.wrap("close", w.f.name, err)
	}
	return nil
}

func (w *hdfsWriter) Cancel() error {
	f := &w.f
	if f.done {
		return fmt.Errorf("ufs: cancel %s: writer is closed", f.h.uri(f.name))
	}
	f.done = true
	// Close ends the block stream and its goroutines; the bytes then go.
	f.fw.SetDeadline(time.Now().Add(f.h.opts.rpcTimeout))
	f.fw.Close()
	if err := f.h.conn.client.Remove(f.src); err != nil && !errors.Is(err, os.ErrNotExist) {
		return f.h.wrap("cancel", f.name, err)
	}
	return nil
}

// renameNoReplace renames src to dst, failing with os.ErrExist (through the
// NameNode's FileAlreadyExistsException) when dst exists, atomically.
func (h *hdfsFS) renameNoReplace(src, dst string) error {
	_, err := h.call("rename2", "Rename2", map[string]any{"src": src, "dst": dst, "overwriteDest": false})
	return err
}

func (h *hdfsFS) Open(ctx context.Context, uri string, offset int64) (io.ReadCloser, error) {
	p, err := h.path(uri)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("ufs: open %s: negative offset %d", h.uri(p), offset)
	}
	f, err := doValue(ctx, func() (*hdfs.FileReader, error) { return h.conn.client.Open(p) },
		func(f *hdfs.FileReader) { f.Close() })
	if err != nil {
		return nil, h.wrap("open", p, err)
	}
	if f.Stat().IsDir() {
		f.Close()
		return nil, fmt.Errorf("ufs: open %s: is a directory", h.uri(p))
	}
	if offset > 0 {
		if offset > f.Stat().Size() {
			offset = f.Stat().Size() // reads nothing, like a local file
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, h.wrap("open", p, err)
		}
	}
	return &hdfsReader{h: h, f: f, p: p}, nil
}

type hdfsReader struct {
	h *hdfsFS
	f *hdfs.FileReader
	p string
}

func (r *hdfsReader) Read(b []byte) (int, error) {
	r.f.SetDeadline(time.Now().Add(r.h.opts.rpcTimeout))
	n, err := r.f.Read(b)
	if err != nil && err != io.EOF {
		err = r.h.wrap("read", r.p, err)
	}
	return n, err
}

func (r *hdfsReader) Close() error { return r.f.Close() }

func hdfsStatus(name string, fi os.FileInfo) Status {
	s := Status{
		Name:    name,
		IsDir:   fi.IsDir(),
		ModTime: fi.ModTime(),
		Mode:    uint32(fi.Mode().Perm()),
	}
	if !s.IsDir {
		s.Length = fi.Size()
	}
	if hf, ok := fi.(*hdfs.FileInfo); ok {
		s.Owner = hf.Owner()
		s.Group = hf.OwnerGroup()
	}
	return s
}

func (h *hdfsFS) GetStatus(ctx context.Context, uri string) (Status, error) {
	p, err := h.path(uri)
	if err != nil {
		return Status{}, err
	}
	fi, err := h.stat(ctx, p)
	if err != nil {
		return Status{}, h.wrap("status", p, err)
	}
	return hdfsStatus(path.Base(p), fi), nil
}

func (h *hdfsFS) List(ctx context.Context, uri string) ([]Status, error) {
	p, err := h.path(uri)
	if err != nil {
		return nil, err
	}
	fis, err := doValue(ctx, func() ([]os.FileInfo, error) { return h.conn.client.ReadDir(p) }, nil)
	if err != nil {
		return nil, h.wrap("list", p, err)
	}
	out := make([]Status, 0, len(fis))
	for _, fi := range fis {
		if strings.Contains(fi.Name(), tempMarker) {
			continue
		}
		out = append(out, hdfsStatus(fi.Name(), fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (h *hdfsFS) Mkdirs(ctx context.Context, uri string, mode uint32) error {
	p, err := h.path(uri)
	if err != nil {
		return err
	}
	m := os.FileMode(mode & 0o7777)
	if m == 0 {
		m = 0o755
	}
	if err := do(ctx, func() error { return h.conn.client.MkdirAll(p, m) }); err != nil {
		return h.wrap("mkdirs", p, err)
	}
	return nil
}

func (h *hdfsFS) Delete(ctx context.Context, uri string, recursive bool) error {
	p, err := h.path(uri)
	if err != nil {
		return err
	}
	if p == "/" {
		return fmt.Errorf("ufs: delete %s: refusing to delete the root", h.uri(p))
	}
	err = do(ctx, func() error {
		if recursive {
			if _, err := h.conn.client.Stat(p); err != nil {
				return err
			}
			return h.conn.client.RemoveAll(p)
		}
		return h.conn.client.Remove(p)
	})
	return h.wrap("delete", p, err)
}

func (h *hdfsFS) Rename(ctx context.Context, src, dst string) error {
	s, err := h.path(src)
	if err != nil {
		return err
	}
	d, err := h.path(dst)
	if err != nil {
		return err
	}
	if _, err := h.stat(ctx, s); err != nil {
		return h.wrap("rename", s, err)
	}
	if err := do(ctx, func() error { return h.renameNoReplace(s, d) }); err != nil {
		if remoteException(err) == "java.io.FileNotFoundException" {
			return fmt.Errorf("ufs: rename %s to %s: parent of destination: %w", h.uri(s), h.uri(d), ErrNotFound)
		}
		return h.wrap("rename", s+" to "+h.uri(d), err)
	}
	return nil
}

// RecoverLease implements LeaseRecoverer with the NameNode's recoverLease
// call.
func (h *hdfsFS) RecoverLease(ctx context.Context, uri string) (bool, error) {
	p, err := h.path(uri)
	if err != nil {
		return false, err
	}
	closed, err := doValue(ctx, func() (bool, error) {
		resp, err := h.call("recoverLease", "RecoverLease", map[string]any{"src": p, "clientName": h.conn.client.Name()})
		if err != nil {
			return false, err
		}
		return boolField(resp, "result"), nil
	}, nil)
	if err != nil {
		return false, h.wrap("recover lease of", p, err)
	}
	return closed, nil
}
