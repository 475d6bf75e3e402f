package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/alluxio-go/alluxio/common/ufs"
)

// localStorage is a Storage on a local (or mounted) directory.
type localStorage struct {
	root string // absolute
}

// NewLocalStorage returns the Storage of the local (or mounted) directory
// dir (a path or a file:// URI), which need not exist yet. Creations, renames and deletions sync the
// directories they change; LogFile.Sync is fdatasync (fsync off Linux),
// which covers the growing size of an appended file.
func NewLocalStorage(dir string) (Storage, error) {
	if dir == "" {
		return nil, errors.New("journal: local storage: empty folder")
	}
	if scheme, rest, ok := strings.Cut(dir, "://"); ok && !strings.ContainsRune(scheme, '/') {
		if scheme != "file" {
			return nil, fmt.Errorf("journal: local storage: folder %q is not local (open it with its scheme's Storage)", dir)
		}
		dir = "/" + strings.TrimLeft(rest, "/")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: local storage: folder %q: %w", dir, err)
	}
	return &localStorage{root: abs}, nil
}

func (s *localStorage) URI() string { return s.root }

// path maps a slash-separated name to a path under the root. Names that
// would leave the root are refused.
func (s *localStorage) path(name string) (string, error) {
	if strings.Contains(name, "..") {
		for _, el := range strings.Split(name, "/") {
			if el == ".." {
				return "", fmt.Errorf("journal: local storage %s: bad name %q", s.root, name)
			}
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(name)), nil
}

func (s *localStorage) wrap(op, name string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	if errors.As(err, &pe) || errors.As(err, &le) {
		return fmt.Errorf("journal: %s: %w", op, err) // names the full path already
	}
	return fmt.Errorf("journal: %s %s: %w", op, filepath.Join(s.root, filepath.FromSlash(name)), err)
}

func (s *localStorage) Create(ctx context.Context, name string) (LogFile, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, s.wrap("create", name, err)
	}
	info, err := f.Stat()
	if err == nil {
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		closeQuietly(f)
		_ = os.Remove(p)
		return nil, s.wrap("create", name, err)
	}
	return &localFile{f: f, id: fileID(info)}, nil
}

func (s *localStorage) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, s.wrap("open", name, err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			closeQuietly(f)
			return nil, s.wrap("open", name, err)
		}
	}
	return f, nil
}

func infoOf(fi fs.FileInfo) FileInfo {
	return FileInfo{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir(), ID: fileID(fi)}
}

func (s *localStorage) Stat(ctx context.Context, name string) (FileInfo, error) {
	p, err := s.path(name)
	if err != nil {
		return FileInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return FileInfo{}, s.wrap("stat", name, err)
	}
	return infoOf(fi), nil
}

func (s *localStorage) List(ctx context.Context, dir string) ([]FileInfo, error) {
	p, err := s.path(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, s.wrap("list", dir, err)
	}
	out := make([]FileInfo, 0, len(ents))
	for _, de := range ents {
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while listing
		}
		if err != nil {
			return nil, s.wrap("list", dir, err)
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, infoOf(fi))
	}
	return out, nil
}

func (s *localStorage) Mkdirs(ctx context.Context, dir string) error {
	p, err := s.path(dir)
	if err != nil {
		return err
	}
	// Sync the new directories' parents, deepest first, up to the first
	// one that existed.
	var created []string
	for d := p; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return s.wrap("mkdirs", dir, err)
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return s.wrap("mkdirs", dir, err)
		}
	}
	return nil
}

func (s *localStorage) Rename(ctx context.Context, src, dst string) error {
	ps, err := s.path(src)
	if err != nil {
		return err
	}
	pd, err := s.path(dst)
	if err != nil {
		return err
	}
	if err := ufs.RenameNoReplace(ps, pd); err != nil {
		return s.wrap("rename", src, err)
	}
	if err := syncDir(filepath.Dir(pd)); err != nil {
		return s.wrap("rename", dst, err)
	}
	if filepath.Dir(ps) != filepath.Dir(pd) {
		if err := syncDir(filepath.Dir(ps)); err != nil {
			return s.wrap("rename", src, err)
		}
	}
	return nil
}

func (s *localStorage) Delete(ctx context.Context, name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if p == s.root {
		return fmt.Errorf("journal: delete %s: refusing to delete the journal folder", s.root)
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return s.wrap("delete", name, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.wrap("delete", name, err)
	}
	return nil
}

// Recover makes the file's bytes durable and returns its size: on a local
// folder the rename before it and the writer's fence check are the fence.
func (s *localStorage) Recover(ctx context.Context, name string) (int64, error) {
	p, err := s.path(name)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, s.wrap("recover", name, err)
	}
	defer closeQuietly(f)
	info, err := f.Stat()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return 0, s.wrap("recover", name, err)
	}
	return info.Size(), nil
}

func (s *localStorage) Truncate(ctx context.Context, name string, size int64) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return s.wrap("truncate", name, err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.wrap("truncate", name, err)
	}
	return nil
}

func (s *localStorage) Close() error { return nil }

// localFile is a LogFile on a local file opened for appending.
type localFile struct {
	f  *os.File
	id uint64

	mu    sync.Mutex
	dirty bool // written since the last Sync
}

func (l *localFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.dirty = true
	l.mu.Unlock()
	return l.f.Write(p)
}

func (l *localFile) Sync() error {
	l.mu.Lock()
	l.dirty = false
	l.mu.Unlock()
	if err := datasync(l.f); err != nil {
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
		return fmt.Errorf("journal: sync %s: %w", l.f.Name(), err)
	}
	return nil
}

func (l *localFile) ID() uint64 { return l.id }

// Close syncs the file if it was written since the last Sync, and closes it.
func (l *localFile) Close() error {
	l.mu.Lock()
	dirty := l.dirty
	l.mu.Unlock()
	var err error
	if dirty {
		err = l.Sync()
	}
	if cerr := l.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("journal: close: %w", cerr)
	}
	return err
}

// syncDir fsyncs a local directory so that renames and creations in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
