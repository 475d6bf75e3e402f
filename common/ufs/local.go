package ufs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// tempMarker is part of the name of files being written; List hides them.
const tempMarker = ".alluxio-tmp-"

// NewLocal returns the backend for a local (or mounted: NFS, GlusterFS)
// directory tree. Paths are absolute local paths or file:// URIs. Files are
// written to a temporary name in the target directory and renamed into
// place on Close after fsync, so readers never see a partial file.
func NewLocal() UnderFileSystem {
	return &local{}
}

// NewRegistry returns a registry with the built-in backends: the local one
// under the schemes "" and "file", and HDFS under "hdfs" (see NewHDFS; the
// registry's HDFS backends share one NameNode connection per cluster and user).
func NewRegistry() *Registry {
	r := &Registry{}
	f := func(context.Context, *url.URL, map[string]string) (UnderFileSystem, error) {
		return NewLocal(), nil
	}
	r.Register("", f)
	r.Register("file", f)
	r.Register("hdfs", (&hdfsPool{}).factory)
	return r
}

type local struct {
	names sync.Map // uid/gid string -> name, "u"/"g" prefixed
}

// localPath maps an absolute path or file:// URI to a clean local path.
func localPath(p string) (string, error) {
	if strings.HasPrefix(p, "file:") {
		u, err := ParseURI(p)
		if err != nil {
			return "", err
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("ufs: %q names host %q; the local UFS only reads this host", p, u.Host)
		}
		p = u.Path
	}
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("ufs: path %q is not absolute", p)
	}
	return filepath.Clean(p), nil
}

// wrap turns an os error into one wrapping ErrNotFound or ErrExists.
func wrap(op, p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("ufs: %s %s: %w", op, p, ErrNotFound)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("ufs: %s %s: %w", op, p, ErrExists)
	}
	return fmt.Errorf("ufs: %s %s: %w", op, p, err)
}

// syncDir fsyncs a directory so a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil // some file systems cannot sync directories
	}
	return err
}

func (l *local) Create(ctx context.Context, path string, opts CreateOptions) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := localPath(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if opts.CreateParent {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, wrap("create", p, err)
		}
	} else if st, err := os.Stat(dir); err != nil {
		return nil, wrap("create", p, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("ufs: create %s: parent is not a directory", p)
	}
	if !opts.Overwrite {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("ufs: create %s: %w", p, ErrExists)
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+tempMarker+"*")
	if err != nil {
		return nil, wrap("create", p, err)
	}
	mode := fs.FileMode(opts.Mode & 0o7777)
	if mode == 0 {
		mode = 0o644
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, wrap("create", p, err)
	}
	return &localWriter{f: f, target: p, overwrite: opts.Overwrite}, nil
}

type localWriter struct {
	f         *os.File
	target    string
	overwrite bool
	done      bool
}

func (w *localWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("ufs: write %s: writer is closed", w.target)
	}
	return w.f.Write(b)
}

func (w *localWriter) Close() error {
	if w.done {
		return fmt.Errorf("ufs: close %s: writer is closed", w.target)
	}
	w.done = true
	tmp := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ufs: close %s: %w", w.target, err)
	}
	if w.overwrite {
		err = os.Rename(tmp, w.target)
	} else {
		// A hard link fails atomically if the target appeared meanwhile.
		err = os.Link(tmp, w.target)
		if err == nil || errors.Is(err, fs.ErrExist) {
			os.Remove(tmp)
		} else {
			// No hard links here: check, then rename.
			if _, serr := os.Lstat(w.target); serr == nil {
				err = fs.ErrExist
				os.Remove(tmp)
			} else {
				err = os.Rename(tmp, w.target)
			}
		}
	}
	if err != nil {
		os.Remove(tmp)
		return wrap("close", w.target, err)
	}
	if err := syncDir(filepath.Dir(w.target)); err != nil {
		return fmt.Errorf("ufs: close %s: sync directory: %w", w.target, err)
	}
	return nil
}

func (w *localWriter) Cancel() error {
	if w.done {
		return fmt.Errorf("ufs: cancel %s: writer is closed", w.target)
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ufs: cancel %s: %w", w.target, err)
	}
	return nil
}

func (l *local) Open(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := localPath(path)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("ufs: open %s: negative offset %d", p, offset)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, wrap("open", p, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = errors.New("is a directory")
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ufs: open %s: %w", p, err)
	}
	return f, nil
}

func (l *local) status(name string, fi fs.FileInfo) Status {
	s := Status{
		Name:    name,
		IsDir:   fi.IsDir(),
		ModTime: fi.ModTime(),
		Mode:    uint32(fi.Mode().Perm()),
	}
	if !s.IsDir {
		s.Length = fi.Size()
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Owner = l.name("u", st.Uid)
		s.Group = l.name("g", st.Gid)
	}
	return s
}

// name resolves a uid or gid to a name, caching the answer.
func (l *local) name(kind string, id uint32) string {
	key := kind + strconv.FormatUint(uint64(id), 10)
	if v, ok := l.names.Load(key); ok {
		return v.(string)
	}
	n := strconv.FormatUint(uint64(id), 10)
	if kind == "u" {
		if u, err := user.LookupId(n); err == nil {
			n = u.Username
		}
	} else if g, err := user.LookupGroupId(n); err == nil {
		n = g.Name
	}
	l.names.Store(key, n)
	return n
}

func (l *local) GetStatus(ctx context.Context, path string) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	p, err := localPath(path)
	if err != nil {
		return Status{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Status{}, wrap("status", p, err)
	}
	return l.status(filepath.Base(p), fi), nil
}

func (l *local) List(ctx context.Context, path string) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := localPath(path)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p) // sorted by name
	if err != nil {
		return nil, wrap("list", p, err)
	}
	out := make([]Status, 0, len(entries))
	for _, e := range entries {
		if strings.Contains(e.Name(), tempMarker) {
			continue
		}
		fi, err := os.Stat(filepath.Join(p, e.Name())) // follow symlinks
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile, or a dangling link
		}
		if err != nil {
			return nil, wrap("list", p, err)
		}
		out = append(out, l.status(e.Name(), fi))
	}
	return out, nil
}

func (l *local) Mkdirs(ctx context.Context, path string, mode uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := localPath(path)
	if err != nil {
		return err
	}
	m := fs.FileMode(mode & 0o7777)
	if m == 0 {
		m = 0o755
	}
	if err := os.MkdirAll(p, m); err != nil {
		return wrap("mkdirs", p, err)
	}
	return nil
}

func (l *local) Delete(ctx context.Context, path string, recursive bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := localPath(path)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return wrap("delete", p, err)
	}
	if recursive && fi.IsDir() {
		err = os.RemoveAll(p)
	} else {
		err = os.Remove(p)
		if fi.IsDir() && (errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)) {
			return fmt.Errorf("ufs: delete %s: %w", p, rpcstatus.ErrDirectoryNotEmpty)
		}
	}
	if err != nil {
		return wrap("delete", p, err)
	}
	return nil
}

func (l *local) Rename(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := localPath(src)
	if err != nil {
		return err
	}
	d, err := localPath(dst)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(s); err != nil {
		return wrap("rename", s, err)
	}
	if err := RenameNoReplace(s, d); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("ufs: rename %s to %s: %w", s, d, ErrExists)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ufs: rename %s to %s: parent of destination: %w", s, d, ErrNotFound)
		}
		return fmt.Errorf("ufs: rename %s to %s: %w", s, d, err)
	}
	if err := syncDir(filepath.Dir(d)); err != nil {
		return fmt.Errorf("ufs: rename %s to %s: sync directory: %w", s, d, err)
	}
	if filepath.Dir(s) != filepath.Dir(d) {
		if err := syncDir(filepath.Dir(s)); err != nil {
			return fmt.Errorf("ufs: rename %s to %s: sync directory: %w", s, d, err)
		}
	}
	return nil
}

func (l *local) Close() error { return nil }
