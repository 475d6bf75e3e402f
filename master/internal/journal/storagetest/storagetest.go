// Package storagetest is the conformance suite of journal.Storage: every
// backend (local, HDFS) runs it, so the journal can rely on the guarantees
// its interface documents.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// Options describe what a backend guarantees beyond the common contract.
type Options struct {
	// RecoverFences: after Rename and Recover, a write or Sync through a
	// LogFile created before them fails or adds no byte to the file (HDFS:
	// lease recovery). The local backend relies on the writer's fence check
	// instead.
	RecoverFences bool
}

// Run runs the suite. newStorage returns an empty folder's Storage for one
// sub-test (the folder may not exist yet); Run closes it.
func Run(t *testing.T, newStorage func(t *testing.T) journal.Storage, opts Options) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, s journal.Storage)
	}{
		{"MkdirsAndList", testMkdirsAndList},
		{"CreateExclusive", testCreateExclusive},
		{"SyncThenRead", testSyncThenRead},
		{"OpenAtOffsetWhileWriting", testOpenWhileWriting},
		{"StatAndID", testStatAndID},
		{"RenameNoReplace", testRenameNoReplace},
		{"Delete", testDelete},
		{"RecoverAndTruncate", testRecoverAndTruncate},
		{"Missing", testMissing},
	}
	if opts.RecoverFences {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, ctx context.Context, s journal.Storage)
		}{"RecoverFencesWriter", testRecoverFences})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStorage(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			ctx := context.Background()
			if err := s.Mkdirs(ctx, ""); err != nil {
				t.Fatalf("mkdirs of the folder: %v", err)
			}
			tc.fn(t, ctx, s)
		})
	}
}

func write(t *testing.T, ctx context.Context, s journal.Storage, name string, data []byte) journal.LogFile {
	t.Helper()
	f, err := s.Create(ctx, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync %s: %v", name, err)
	}
	return f
}

func writeClosed(t *testing.T, ctx context.Context, s journal.Storage, name string, data []byte) {
	t.Helper()
	if err := write(t, ctx, s, name, data).Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

func read(t *testing.T, ctx context.Context, s journal.Storage, name string, off int64) []byte {
	t.Helper()
	rc, err := s.Open(ctx, name, off)
	if err != nil {
		t.Fatalf("open %s at %d: %v", name, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s at %d: %v", name, off, err)
	}
	return b
}

func names(t *testing.T, ctx context.Context, s journal.Storage, dir string) []string {
	t.Helper()
	ents, err := s.List(ctx, dir)
	if err != nil {
		t.Fatalf("list %q: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name
		if e.IsDir {
			n += "/"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func testMkdirsAndList(t *testing.T, ctx context.Context, s journal.Storage) {
	if err := s.Mkdirs(ctx, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdirs(ctx, "a/b"); err != nil {
		t.Fatalf("mkdirs of an existing dir: %v", err)
	}
	writeClosed(t, ctx, s, "a/f", []byte("x"))
	if got := strings.Join(names(t, ctx, s, "a"), ","); got != "b/,f" {
		t.Fatalf("list a = %s, want b/,f", got)
	}
	if got := strings.Join(names(t, ctx, s, ""), ","); got != "a/" {
		t.Fatalf("list of the folder = %s, want a/", got)
	}
	if got := names(t, ctx, s, "a/b/c"); len(got) != 0 {
		t.Fatalf("list of an empty dir = %v", got)
	}
	fi, err := s.Stat(ctx, "a/b")
	if err != nil || !fi.IsDir || fi.Name != "b" {
		t.Fatalf("stat a/b = %+v, %v", fi, err)
	}
}

func testCreateExclusive(t *testing.T, ctx context.Context, s journal.Storage) {
	writeClosed(t, ctx, s, "f", []byte("first"))
	f, err := s.Create(ctx, "f")
	if !errors.Is(err, fs.ErrExist) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("second create: %v, want fs.ErrExist", err)
	}
	if !strings.Contains(err.Error(), "f") {
		t.Errorf("error %q does not name the file", err)
	}
	if got := read(t, ctx, s, "f", 0); string(got) != "first" {
		t.Fatalf("after a refused create: %q", got)
	}
}

func testSyncThenRead(t *testing.T, ctx context.Context, s journal.Storage) {
	f := write(t, ctx, s, "log", []byte("hello "))
	if got := read(t, ctx, s, "log", 0); string(got) != "hello " {
		t.Fatalf("read after sync: %q", got)
	}
	if _, err := f.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ctx, s, "log", 0); string(got) != "hello world" {
		t.Fatalf("read after close: %q", got)
	}
	if got := read(t, ctx, s, "log", 6); string(got) != "world" {
		t.Fatalf("read at offset 6: %q", got)
	}
	fi, err := s.Stat(ctx, "log")
	if err != nil || fi.Size != 11 || fi.IsDir || fi.Name != "log" {
		t.Fatalf("stat = %+v, %v", fi, err)
	}
}

// testOpenWhileWriting is the tailing reader: it opens the open log at its
// offset again after each Sync and sees exactly the new bytes.
func testOpenWhileWriting(t *testing.T, ctx context.Context, s journal.Storage) {
	f, err := s.Create(ctx, "open")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []byte
	var off int64
	for i := 0; i < 5; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		all = append(all, chunk...)
		fi, err := s.Stat(ctx, "open")
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size < int64(len(all)) {
			t.Fatalf("round %d: stat size %d after sync of %d bytes", i, fi.Size, len(all))
		}
		got := read(t, ctx, s, "open", off)
		if !bytes.Equal(got, all[off:]) {
			t.Fatalf("round %d: read %d bytes at %d, want %d", i, len(got), off, len(all)-int(off))
		}
		off = int64(len(all))
	}
}

func testStatAndID(t *testing.T, ctx context.Context, s journal.Storage) {
	f := write(t, ctx, s, "a", []byte("1"))
	defer f.Close()
	g := write(t, ctx, s, "b", []byte("22"))
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	fa, err := s.Stat(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	fb, err := s.Stat(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if fa.ID != f.ID() {
		t.Fatalf("Stat(a).ID %d != LogFile.ID %d", fa.ID, f.ID())
	}
	if fa.ID == fb.ID {
		t.Fatalf("two files share ID %d", fa.ID)
	}
	if err := s.Rename(ctx, "a", "c"); err != nil {
		t.Fatal(err)
	}
	fc, err := s.Stat(ctx, "c")
	if err != nil || fc.ID != f.ID() {
		t.Fatalf("after rename: stat = %+v, %v; want ID %d", fc, err, f.ID())
	}
	ents, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name == "c" && (e.ID != f.ID() || e.Size != 1) {
			t.Fatalf("listed %+v, want ID %d size 1", e, f.ID())
		}
	}
	// A new file under the old name is another file.
	h := write(t, ctx, s, "a", nil)
	defer h.Close()
	if fa2, err := s.Stat(ctx, "a"); err != nil || fa2.ID == f.ID() {
		t.Fatalf("new file under an old name: %+v, %v (old ID %d)", fa2, err, f.ID())
	}
}

func testRenameNoReplace(t *testing.T, ctx context.Context, s journal.Storage) {
	writeClosed(t, ctx, s, "src", []byte("src"))
	writeClosed(t, ctx, s, "dst", []byte("dst"))
	err := s.Rename(ctx, "src", "dst")
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("rename onto an existing file: %v, want fs.ErrExist", err)
	}
	if got := read(t, ctx, s, "dst", 0); string(got) != "dst" {
		t.Fatalf("dst replaced: %q", got)
	}
	if got := read(t, ctx, s, "src", 0); string(got) != "src" {
		t.Fatalf("src changed: %q", got)
	}
	if err := s.Mkdirs(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "src", "d/moved"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ctx, s, "d/moved", 0); string(got) != "src" {
		t.Fatalf("moved: %q", got)
	}
	if err := s.Rename(ctx, "src", "again"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rename of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func testDelete(t *testing.T, ctx context.Context, s journal.Storage) {
	writeClosed(t, ctx, s, "f", []byte("x"))
	if err := s.Mkdirs(ctx, "d/e"); err != nil {
		t.Fatal(err)
	}
	writeClosed(t, ctx, s, "d/e/g", []byte("y"))
	if err := s.Delete(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "d"); err != nil {
		t.Fatalf("recursive delete: %v", err)
	}
	if err := s.Delete(ctx, "missing"); err != nil {
		t.Fatalf("delete of a missing name: %v", err)
	}
	if got := names(t, ctx, s, ""); len(got) != 0 {
		t.Fatalf("left after delete: %v", got)
	}
}

func testRecoverAndTruncate(t *testing.T, ctx context.Context, s journal.Storage) {
	f := write(t, ctx, s, "log", []byte("0123456789"))
	if err := s.Rename(ctx, "log", "log.sealing"); err != nil {
		t.Fatal(err)
	}
	size, err := s.Recover(ctx, "log.sealing")
	if err != nil {
		t.Fatal(err)
	}
	if size != 10 {
		t.Fatalf("recovered size %d, want 10 (every synced byte)", size)
	}
	_ = f.Close() // may fail: the file was taken away
	if err := s.Truncate(ctx, "log.sealing", 4); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ctx, s, "log.sealing", 0); string(got) != "0123" {
		t.Fatalf("after truncate: %q", got)
	}
	if fi, err := s.Stat(ctx, "log.sealing"); err != nil || fi.Size != 4 {
		t.Fatalf("stat after truncate: %+v, %v", fi, err)
	}
	if err := s.Rename(ctx, "log.sealing", "0x1-0x5"); err != nil {
		t.Fatal(err)
	}
	// Recover of a closed file returns its size.
	writeClosed(t, ctx, s, "closed", []byte("abc"))
	if size, err := s.Recover(ctx, "closed"); err != nil || size != 3 {
		t.Fatalf("recover of a closed file: %d, %v", size, err)
	}
}

func testRecoverFences(t *testing.T, ctx context.Context, s journal.Storage) {
	f := write(t, ctx, s, "log", []byte("synced"))
	defer f.Close()
	if err := s.Rename(ctx, "log", "log.sealing"); err != nil {
		t.Fatal(err)
	}
	size, err := s.Recover(ctx, "log.sealing")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := f.Write([]byte("late"))
	serr := f.Sync()
	if werr == nil && serr == nil {
		t.Errorf("write and sync after recover both succeeded")
	}
	if fi, err := s.Stat(ctx, "log.sealing"); err != nil || fi.Size != size {
		t.Fatalf("after a fenced write: %+v, %v; want size %d", fi, err, size)
	}
	if got := read(t, ctx, s, "log.sealing", 0); string(got) != "synced" {
		t.Fatalf("content %q", got)
	}
}

func testMissing(t *testing.T, ctx context.Context, s journal.Storage) {
	if _, err := s.Stat(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("stat of a missing file: %v", err)
	}
	if _, err := s.Open(ctx, "nope", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of a missing file: %v", err)
	}
	if _, err := s.List(ctx, "nodir"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("list of a missing dir: %v", err)
	}
	if _, err := s.Create(ctx, "nodir/f"); err == nil {
		// Some backends create parents; that is allowed.
		if _, err := s.Stat(ctx, "nodir/f"); err != nil {
			t.Fatalf("create in a missing dir succeeded but stat fails: %v", err)
		}
	}
	if _, err := s.Recover(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("recover of a missing file: %v", err)
	}
	if err := s.Truncate(ctx, "nope", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("truncate of a missing file: %v", err)
	}
}
