package client

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/alluxio-go/alluxio/common/pathutil"
)

// IOFS adapts a FileSystem to io/fs: it implements fs.FS, fs.StatFS and
// fs.ReadDirFS. Names are unrooted slash paths ("a/b.txt", "." for the root)
// resolved under Root.
type IOFS struct {
	fsys *FileSystem
	// ctx bounds every call made through the adapter, since fs.FS methods
	// take no context.
	ctx  context.Context
	root string
}

var (
	_ fs.FS        = (*IOFS)(nil)
	_ fs.StatFS    = (*IOFS)(nil)
	_ fs.ReadDirFS = (*IOFS)(nil)
)

// NewIOFS returns an fs.FS of the tree under root (an absolute Alluxio path,
// "/" for everything). ctx bounds every operation made through it.
func NewIOFS(ctx context.Context, fsys *FileSystem, root string) (*IOFS, error) {
	r, err := cleanPath(root)
	if err != nil {
		return nil, err
	}
	return &IOFS{fsys: fsys, ctx: ctx, root: r}, nil
}

func (a *IOFS) resolve(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return a.root, nil
	}
	return pathutil.Join(a.root, name), nil
}

func pathErr(op, name string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		err = errors.Join(fs.ErrNotExist, err)
	case errors.Is(err, ErrPermissionDenied):
		err = errors.Join(fs.ErrPermission, err)
	case errors.Is(err, ErrAlreadyExists):
		err = errors.Join(fs.ErrExist, err)
	case errors.Is(err, ErrInvalidArgument):
		err = errors.Join(fs.ErrInvalid, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Open opens a file or directory.
func (a *IOFS) Open(name string) (fs.File, error) {
	p, err := a.resolve("open", name)
	if err != nil {
		return nil, err
	}
	st, err := a.fsys.GetStatus(a.ctx, p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	info := fileInfo{st: st, name: baseName(name)}
	if st.IsDir {
		return &dirFile{a: a, name: name, path: p, info: info}, nil
	}
	r, err := a.fsys.OpenFile(a.ctx, p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &file{FileReader: r, info: info}, nil
}

// Stat describes a file or directory.
func (a *IOFS) Stat(name string) (fs.FileInfo, error) {
	p, err := a.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	st, err := a.fsys.GetStatus(a.ctx, p)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return fileInfo{st: st, name: baseName(name)}, nil
}

// ReadDir lists a directory sorted by name.
func (a *IOFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := a.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	return a.readDir(name, p)
}

func (a *IOFS) readDir(name, p string) ([]fs.DirEntry, error) {
	st, err := a.fsys.GetStatus(a.ctx, p)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	if !st.IsDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	list, err := a.fsys.ListStatus(a.ctx, p)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	out := make([]fs.DirEntry, 0, len(list))
	for _, s := range list {
		out = append(out, fs.FileInfoToDirEntry(fileInfo{st: s, name: s.Name}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func baseName(name string) string {
	if name == "." {
		return "."
	}
	return name[strings.LastIndexByte(name, '/')+1:]
}

// fileInfo is an fs.FileInfo of a URIStatus; Sys returns the *URIStatus.
type fileInfo struct {
	st   *URIStatus
	name string
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.st.Length }
func (i fileInfo) Mode() fs.FileMode  { return i.st.FileMode() }
func (i fileInfo) ModTime() time.Time { return i.st.ModificationTime }
func (i fileInfo) IsDir() bool        { return i.st.IsDir }
func (i fileInfo) Sys() any           { return i.st }

type file struct {
	*FileReader
	info fileInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }

type dirFile struct {
	a       *IOFS
	name    string
	path    string
	info    fileInfo
	entries []fs.DirEntry
	listed  bool
	closed  bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

func (d *dirFile) Close() error {
	d.closed = true
	return nil
}

// ReadDir follows fs.ReadDirFile: n > 0 returns at most n entries and io.EOF
// at the end; n <= 0 returns the rest.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if !d.listed {
		e, err := d.a.readDir(d.name, d.path)
		if err != nil {
			return nil, err
		}
		d.entries, d.listed = e, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
