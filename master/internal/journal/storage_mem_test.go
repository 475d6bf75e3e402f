package journal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// memStorage is an in-memory Storage with HDFS-like semantics, for tests:
// written bytes are visible only after Sync, a file being written is held
// by its writer until Close or Recover (Truncate refuses it meanwhile), and
// Recover fences the earlier writer (its later writes and syncs fail). It
// records every operation and fails any of them on demand.
type memStorage struct {
	mu     sync.Mutex
	files  map[string]*memNode // by clean name; "" is the folder
	nextID uint64
	ops    []string
	// fail, if set, is called before every operation ("create", "open",
	// "stat", "list", "mkdirs", "rename", "delete", "recover", "truncate",
	// "write", "sync"); an error fails the operation.
	fail func(op, name string) error
}

type memNode struct {
	id     uint64
	dir    bool
	data   []byte
	mod    time.Time
	gen    int  // bumped by Recover: writers of an older gen are fenced
	leased bool // a writer holds the file
}

func newMemStorage() *memStorage {
	return &memStorage{files: map[string]*memNode{"": {id: 1, dir: true}}, nextID: 1}
}

func (s *memStorage) URI() string { return "mem://journal" }

func memClean(name string) string {
	c := path.Clean("/" + name)
	return strings.TrimPrefix(c, "/")
}

func memParent(name string) string {
	p := path.Dir(name)
	if p == "." {
		return ""
	}
	return p
}

// begin records op and applies the failpoint. Called with s.mu held.
func (s *memStorage) begin(op, name string) error {
	s.ops = append(s.ops, op+" "+name)
	if s.fail != nil {
		if err := s.fail(op, name); err != nil {
			return fmt.Errorf("mem %s %s: %w", op, name, err)
		}
	}
	return nil
}

func (s *memStorage) perr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: s.URI() + "/" + name, Err: err}
}

// opLog returns the operations recorded so far.
func (s *memStorage) opLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...)
}

func (s *memStorage) Create(ctx context.Context, name string) (LogFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("create", name); err != nil {
		return nil, err
	}
	if p, ok := s.files[memParent(name)]; !ok || !p.dir {
		return nil, s.perr("create", name, fs.ErrNotExist)
	}
	if _, ok := s.files[name]; ok {
		return nil, s.perr("create", name, fs.ErrExist)
	}
	s.nextID++
	n := &memNode{id: s.nextID, mod: time.Now(), leased: true}
	s.files[name] = n
	return &memLog{s: s, n: n, gen: n.gen, name: name}, nil
}

func (s *memStorage) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("open", name); err != nil {
		return nil, err
	}
	n, ok := s.files[name]
	if !ok || n.dir {
		return nil, s.perr("open", name, fs.ErrNotExist)
	}
	b := []byte{}
	if offset < int64(len(n.data)) {
		b = append(b, n.data[offset:]...)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *memStorage) info(name string, n *memNode) FileInfo {
	return FileInfo{Name: path.Base("/" + name), Size: int64(len(n.data)), ModTime: n.mod, IsDir: n.dir, ID: n.id}
}

func (s *memStorage) Stat(ctx context.Context, name string) (FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("stat", name); err != nil {
		return FileInfo{}, err
	}
	n, ok := s.files[name]
	if !ok {
		return FileInfo{}, s.perr("stat", name, fs.ErrNotExist)
	}
	return s.info(name, n), nil
}

func (s *memStorage) List(ctx context.Context, dir string) ([]FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir = memClean(dir)
	if err := s.begin("list", dir); err != nil {
		return nil, err
	}
	if d, ok := s.files[dir]; !ok || !d.dir {
		return nil, s.perr("list", dir, fs.ErrNotExist)
	}
	var out []FileInfo
	for name, n := range s.files {
		if name != "" && memParent(name) == dir {
			out = append(out, s.info(name, n))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *memStorage) Mkdirs(ctx context.Context, dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir = memClean(dir)
	if err := s.begin("mkdirs", dir); err != nil {
		return err
	}
	var todo []string
	for d := dir; d != ""; d = memParent(d) {
		todo = append(todo, d)
	}
	for i := len(todo) - 1; i >= 0; i-- {
		d := todo[i]
		if n, ok := s.files[d]; ok {
			if !n.dir {
				return s.perr("mkdirs", d, fs.ErrExist)
			}
			continue
		}
		s.nextID++
		s.files[d] = &memNode{id: s.nextID, dir: true, mod: time.Now()}
	}
	return nil
}

func (s *memStorage) Rename(ctx context.Context, src, dst string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, dst = memClean(src), memClean(dst)
	if err := s.begin("rename", src+" "+dst); err != nil {
		return err
	}
	n, ok := s.files[src]
	if !ok {
		return s.perr("rename", src, fs.ErrNotExist)
	}
	if n.dir {
		return s.perr("rename", src, fmt.Errorf("directories are not renamed here"))
	}
	if _, ok := s.files[dst]; ok {
		return s.perr("rename", dst, fs.ErrExist)
	}
	if p, ok := s.files[memParent(dst)]; !ok || !p.dir {
		return s.perr("rename", dst, fs.ErrNotExist)
	}
	delete(s.files, src)
	s.files[dst] = n
	return nil
}

func (s *memStorage) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("delete", name); err != nil {
		return err
	}
	if name == "" {
		return s.perr("delete", name, fmt.Errorf("refusing to delete the folder"))
	}
	for n := range s.files {
		if n == name || strings.HasPrefix(n, name+"/") {
			delete(s.files, n)
		}
	}
	return nil
}

func (s *memStorage) Recover(ctx context.Context, name string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("recover", name); err != nil {
		return 0, err
	}
	n, ok := s.files[name]
	if !ok || n.dir {
		return 0, s.perr("recover", name, fs.ErrNotExist)
	}
	n.gen++
	n.leased = false
	return int64(len(n.data)), nil
}

func (s *memStorage) Truncate(ctx context.Context, name string, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = memClean(name)
	if err := s.begin("truncate", name); err != nil {
		return err
	}
	n, ok := s.files[name]
	if !ok || n.dir {
		return s.perr("truncate", name, fs.ErrNotExist)
	}
	if n.leased {
		return s.perr("truncate", name, fmt.Errorf("file is being written (recover it first)"))
	}
	if size < 0 || size > int64(len(n.data)) {
		return s.perr("truncate", name, fmt.Errorf("bad size %d of %d", size, len(n.data)))
	}
	n.data = n.data[:size]
	return nil
}

func (s *memStorage) Close() error { return nil }

// memLog is a memStorage file being written: bytes reach the file (and
// become visible) on Sync.
type memLog struct {
	s       *memStorage
	n       *memNode
	gen     int
	name    string
	pending []byte
	closed  bool
}

func (l *memLog) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if err := l.s.begin("write", l.name); err != nil {
		return 0, err
	}
	if l.closed || l.n.gen != l.gen {
		return 0, fmt.Errorf("mem write %s: lease lost", l.name)
	}
	l.pending = append(l.pending, p...)
	return len(p), nil
}

func (l *memLog) Sync() error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.syncLocked()
}

func (l *memLog) syncLocked() error {
	if err := l.s.begin("sync", l.name); err != nil {
		return err
	}
	if l.closed || l.n.gen != l.gen {
		return fmt.Errorf("mem sync %s: lease lost", l.name)
	}
	l.n.data = append(l.n.data, l.pending...)
	l.n.mod = time.Now()
	l.pending = l.pending[:0]
	return nil
}

func (l *memLog) ID() uint64 { return l.n.id }

func (l *memLog) Close() error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.closed {
		return nil
	}
	err := l.syncLocked()
	l.closed = true
	if l.n.gen == l.gen {
		l.n.leased = false
	}
	return err
}
