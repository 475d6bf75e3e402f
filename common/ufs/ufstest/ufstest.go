// Package ufstest is the conformance suite every under file system backend
// passes: local always, HDFS and S3 against real servers.
//
//	func TestConformance(t *testing.T) {
//		ufstest.Run(t, func(t *testing.T) (ufs.UnderFileSystem, string) {
//			return ufs.NewLocal(), t.TempDir()
//		})
//	}
package ufstest

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/ufs"
)

// Run runs the suite. newUFS returns a backend and an empty directory (a
// path or URI the backend accepts, which may not exist yet) for one subtest;
// it may register cleanups on t.
func Run(t *testing.T, newUFS func(t *testing.T) (u ufs.UnderFileSystem, root string)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"CreateVisibleOnlyAfterClose", testCreate},
		{"Cancel", testCancel},
		{"Overwrite", testOverwrite},
		{"OpenAtOffset", testOpenAtOffset},
		{"Status", testStatus},
		{"ListSorted", testList},
		{"Mkdirs", testMkdirs},
		{"Delete", testDelete},
		{"Rename", testRename},
		{"NotFound", testNotFound},
		{"OddNames", testOddNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, root := newUFS(t)
			s := &suite{u: u, root: strings.TrimRight(root, "/"), ctx: context.Background()}
			t.Cleanup(func() { u.Close() })
			if err := u.Mkdirs(s.ctx, s.path(""), 0o755); err != nil {
				t.Fatalf("Mkdirs(root): %v", err)
			}
			tt.fn(t, s)
		})
	}
}

type suite struct {
	u    ufs.UnderFileSystem
	root string
	ctx  context.Context
}

// path returns root/name, or root itself for "".
func (s *suite) path(name string) string {
	if name == "" {
		if s.root == "" {
			return "/"
		}
		return s.root
	}
	return s.root + "/" + name
}

func (s *suite) write(t *testing.T, name, data string, opts ufs.CreateOptions) {
	t.Helper()
	w, err := s.u.Create(s.ctx, s.path(name), opts)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatalf("Write(%s): %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%s): %v", name, err)
	}
}

func (s *suite) read(t *testing.T, name string, offset int64) string {
	t.Helper()
	r, err := s.u.Open(s.ctx, s.path(name), offset)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", name, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func (s *suite) names(t *testing.T, dir string) []string {
	t.Helper()
	st, err := s.u.List(s.ctx, s.path(dir))
	if err != nil {
		t.Fatalf("List(%s): %v", dir, err)
	}
	var out []string
	for _, x := range st {
		out = append(out, x.Name)
	}
	return out
}

func (s *suite) exists(t *testing.T, name string) bool {
	t.Helper()
	_, err := s.u.GetStatus(s.ctx, s.path(name))
	if errors.Is(err, ufs.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("GetStatus(%s): %v", name, err)
	}
	return true
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func testCreate(t *testing.T, s *suite) {
	w, err := s.u.Create(s.ctx, s.path("dir/f"), ufs.CreateOptions{CreateParent: true})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := io.WriteString(w, "hello"); err != nil {
		t.Fatal(err)
	}
	if s.exists(t, "dir/f") {
		t.Error("file visible before Close")
	}
	if n := s.names(t, "dir"); len(n) != 0 {
		t.Errorf("List before Close = %q, want empty", n)
	}
	if _, err := s.u.Open(s.ctx, s.path("dir/f"), 0); !errors.Is(err, ufs.ErrNotFound) {
		t.Errorf("Open before Close: err = %v, want ErrNotFound", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := s.read(t, "dir/f", 0); got != "hello" {
		t.Errorf("content = %q", got)
	}
	if n := s.names(t, "dir"); !slices.Equal(n, []string{"f"}) {
		t.Errorf("List after Close = %q", n)
	}
	s.write(t, "empty", "", ufs.CreateOptions{})
	if got := s.read(t, "empty", 0); got != "" {
		t.Errorf("empty file content = %q", got)
	}
}

func testCancel(t *testing.T, s *suite) {
	w, err := s.u.Create(s.ctx, s.path("f"), ufs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "discard me")
	if err := w.Cancel(); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if s.exists(t, "f") {
		t.Error("cancelled file exists")
	}
	if n := s.names(t, ""); len(n) != 0 {
		t.Errorf("List after Cancel = %q, want empty", n)
	}
	// Cancel leaves an existing file untouched.
	s.write(t, "g", "old", ufs.CreateOptions{})
	w, err = s.u.Create(s.ctx, s.path("g"), ufs.CreateOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "new")
	if err := w.Cancel(); err != nil {
		t.Fatal(err)
	}
	if got := s.read(t, "g", 0); got != "old" {
		t.Errorf("after cancelled overwrite: %q", got)
	}
}

func testOverwrite(t *testing.T, s *suite) {
	s.write(t, "f", "first", ufs.CreateOptions{})
	w, err := s.u.Create(s.ctx, s.path("f"), ufs.CreateOptions{})
	if err == nil {
		io.WriteString(w, "second")
		err = w.Close()
	}
	wantErr(t, "Create without Overwrite over a file", err, ufs.ErrExists)
	if got := s.read(t, "f", 0); got != "first" {
		t.Errorf("content after refused create = %q", got)
	}
	s.write(t, "f", "third", ufs.CreateOptions{Overwrite: true})
	if got := s.read(t, "f", 0); got != "third" {
		t.Errorf("content after overwrite = %q", got)
	}
}

func testOpenAtOffset(t *testing.T, s *suite) {
	s.write(t, "f", "0123456789", ufs.CreateOptions{})
	for _, c := range []struct {
		off  int64
		want string
	}{{0, "0123456789"}, {3, "3456789"}, {9, "9"}, {10, ""}} {
		if got := s.read(t, "f", c.off); got != c.want {
			t.Errorf("Open at %d = %q, want %q", c.off, got, c.want)
		}
	}
}

func testStatus(t *testing.T, s *suite) {
	s.write(t, "f", "12345", ufs.CreateOptions{})
	st, err := s.u.GetStatus(s.ctx, s.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "f" || st.IsDir || st.Length != 5 || st.ModTime.IsZero() {
		t.Errorf("file status = %+v", st)
	}
	if err := s.u.Mkdirs(s.ctx, s.path("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err = s.u.GetStatus(s.ctx, s.path("d"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "d" || !st.IsDir {
		t.Errorf("dir status = %+v", st)
	}
}

func testList(t *testing.T, s *suite) {
	for _, n := range []string{"c", "a", "b"} {
		s.write(t, n, n+n, ufs.CreateOptions{})
	}
	if err := s.u.Mkdirs(s.ctx, s.path("d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := s.u.List(s.ctx, s.path(""))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range st {
		got = append(got, x.Name)
		if x.IsDir != (x.Name == "d") {
			t.Errorf("%s: IsDir = %v", x.Name, x.IsDir)
		}
		if !x.IsDir && x.Length != 2 {
			t.Errorf("%s: Length = %d", x.Name, x.Length)
		}
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("List = %q, want [a b c d]", got)
	}
	if n := s.names(t, "d"); !slices.Equal(n, []string{"sub"}) {
		t.Errorf("List(d) = %q", n)
	}
	if n := s.names(t, "d/sub"); len(n) != 0 {
		t.Errorf("List(empty dir) = %q", n)
	}
}

func testMkdirs(t *testing.T, s *suite) {
	for i := 0; i < 2; i++ { // the second call finds them existing
		if err := s.u.Mkdirs(s.ctx, s.path("x/y/z"), 0o755); err != nil {
			t.Fatalf("Mkdirs #%d: %v", i+1, err)
		}
	}
	for _, p := range []string{"x", "x/y", "x/y/z"} {
		st, err := s.u.GetStatus(s.ctx, s.path(p))
		if err != nil || !st.IsDir {
			t.Errorf("%s: %+v, %v", p, st, err)
		}
	}
	s.write(t, "x/y/z/f", "f", ufs.CreateOptions{})
	if got := s.read(t, "x/y/z/f", 0); got != "f" {
		t.Errorf("content = %q", got)
	}
}

func testDelete(t *testing.T, s *suite) {
	s.write(t, "f", "x", ufs.CreateOptions{})
	if err := s.u.Delete(s.ctx, s.path("f"), false); err != nil {
		t.Fatalf("Delete(file): %v", err)
	}
	if s.exists(t, "f") {
		t.Error("deleted file exists")
	}
	if err := s.u.Mkdirs(s.ctx, s.path("empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.u.Delete(s.ctx, s.path("empty"), false); err != nil {
		t.Errorf("Delete(empty dir): %v", err)
	}
	s.write(t, "d/e/f", "x", ufs.CreateOptions{CreateParent: true})
	if err := s.u.Delete(s.ctx, s.path("d"), false); err == nil {
		t.Error("non-recursive Delete of a non-empty directory succeeded")
	}
	if got := s.read(t, "d/e/f", 0); got != "x" {
		t.Errorf("content after refused delete = %q", got)
	}
	if err := s.u.Delete(s.ctx, s.path("d"), true); err != nil {
		t.Fatalf("recursive Delete: %v", err)
	}
	if s.exists(t, "d") || s.exists(t, "d/e/f") {
		t.Error("recursively deleted tree exists")
	}
	wantErr(t, "Delete(missing)", s.u.Delete(s.ctx, s.path("missing"), false), ufs.ErrNotFound)
	wantErr(t, "Delete(missing, recursive)", s.u.Delete(s.ctx, s.path("missing"), true), ufs.ErrNotFound)
}

func testRename(t *testing.T, s *suite) {
	s.write(t, "a", "A", ufs.CreateOptions{})
	if err := s.u.Rename(s.ctx, s.path("a"), s.path("b")); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if s.exists(t, "a") {
		t.Error("source exists after rename")
	}
	if got := s.read(t, "b", 0); got != "A" {
		t.Errorf("renamed content = %q", got)
	}
	s.write(t, "c", "C", ufs.CreateOptions{})
	wantErr(t, "Rename onto an existing file", s.u.Rename(s.ctx, s.path("c"), s.path("b")), ufs.ErrExists)
	if s.read(t, "b", 0) != "A" || s.read(t, "c", 0) != "C" {
		t.Error("refused rename changed files")
	}
	wantErr(t, "Rename(missing)", s.u.Rename(s.ctx, s.path("missing"), s.path("x")), ufs.ErrNotFound)
	s.write(t, "d/f", "F", ufs.CreateOptions{CreateParent: true})
	if err := s.u.Mkdirs(s.ctx, s.path("into"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.u.Rename(s.ctx, s.path("d"), s.path("into/d2")); err != nil {
		t.Fatalf("Rename(dir): %v", err)
	}
	if got := s.read(t, "into/d2/f", 0); got != "F" || s.exists(t, "d") {
		t.Errorf("directory rename: content %q, source exists %v", got, s.exists(t, "d"))
	}
}

func testNotFound(t *testing.T, s *suite) {
	m := s.path("missing")
	_, err := s.u.GetStatus(s.ctx, m)
	wantErr(t, "GetStatus", err, ufs.ErrNotFound)
	_, err = s.u.Open(s.ctx, m, 0)
	wantErr(t, "Open", err, ufs.ErrNotFound)
	_, err = s.u.List(s.ctx, m)
	wantErr(t, "List", err, ufs.ErrNotFound)
	_, err = s.u.Open(s.ctx, s.path("missing/f"), 0)
	wantErr(t, "Open(missing/f)", err, ufs.ErrNotFound)
}

// testOddNames: names holding URL metacharacters ("%", "#", "?", ";", a
// space, non-ASCII) are file names like any other, when the root is a URI
// too: created, listed, read, renamed and deleted under their own names.
func testOddNames(t *testing.T, s *suite) {
	names := []string{"100%.txt", "%41", "x#y", "q?r=1", "semi;colon", "a b", "ünï"}
	for _, n := range names {
		s.write(t, n, "data of "+n, ufs.CreateOptions{})
	}
	if err := s.u.Mkdirs(s.ctx, s.path("dir%20#1"), 0o755); err != nil {
		t.Fatalf("Mkdirs(dir%%20#1): %v", err)
	}
	want := append(slices.Clone(names), "dir%20#1")
	slices.Sort(want)
	if got := s.names(t, ""); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	for _, n := range names {
		if got := s.read(t, n, 0); got != "data of "+n {
			t.Errorf("read %q = %q", n, got)
		}
		st, err := s.u.GetStatus(s.ctx, s.path(n))
		if err != nil || st.Name != n {
			t.Errorf("GetStatus(%q) = name %q, %v", n, st.Name, err)
		}
	}
	if err := s.u.Rename(s.ctx, s.path("x#y"), s.path("dir%20#1/50%?")); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if got := s.read(t, "dir%20#1/50%?", 0); got != "data of x#y" {
		t.Errorf("read renamed = %q", got)
	}
	if s.exists(t, "x") || s.exists(t, "x#y") {
		t.Errorf("x#y (or x) still exists after the rename")
	}
	if err := s.u.Delete(s.ctx, s.path("100%.txt"), false); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if s.exists(t, "100%.txt") {
		t.Errorf("100%%.txt exists after Delete")
	}
}
