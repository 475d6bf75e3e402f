// Package storagetest is the one conformance suite of journal.Storage: every
// backend (the local directory, HDFS, the journal's in-memory test storage)
// runs it, so the journal can rely on the guarantees its interface
// documents. Backend differences are Options, never separate suites.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// Options describe what a backend guarantees beyond the common contract,
// and how the suite gets a second handle on a folder.
type Options struct {
	// RecoverFences: after Recover, an earlier LogFile of the file adds no
	// byte to it, whether the file was renamed first or not, and its next
	// Write+Sync or Close fails (HDFS: lease recovery). Without it (a local
	// directory) the bytes may land and the writer's fence check is the
	// only fence: after the sealing rename, Stat of its old name fails or
	// shows another ID (checked for every backend).
	RecoverFences bool
	// Reopen opens another, independent handle on the folder of s, as
	// another process (the next leader, a standby tailing the log) would;
	// the suite closes it. Nil: the suite uses s itself as the other
	// handle (an in-memory storage has no second handle).
	Reopen func(t *testing.T, s journal.Storage) journal.Storage
	// CreateMakesParents: Create in a missing directory may succeed
	// (making it). Without it, such a Create must fail.
	CreateMakesParents bool
	// NoEscape: the backend has no filesystem under it to escape from (an
	// in-memory test storage), so a name such as "../x" need not be
	// refused.
	NoEscape bool
}

type testFunc func(t *testing.T, s journal.Storage, again func() journal.Storage, o Options)

// Run runs the suite. newStorage returns an empty folder's Storage for one
// sub-test (the folder may not exist yet); Run closes it.
func Run(t *testing.T, newStorage func(t *testing.T) journal.Storage, opts Options) {
	tests := []struct {
		name string
		fn   testFunc
	}{
		{"List", testList},
		{"CreateExclusive", testCreateExclusive},
		{"SyncThenReadFromAnotherHandle", testSyncThenRead},
		{"OpenAtOffsetWhileWriting", testOpenAtOffsetWhileWriting},
		{"TailingReaderReopens", testTailingReader},
		{"IDStable", testIDStable},
		{"RenameNeverReplaces", testRenameNoReplace},
		{"Delete", testDelete},
		{"RecoverAfterSealingRename", testRecoverAfterRename},
		{"RecoverIdleWriter", testRecoverIdleWriter},
		{"Truncate", testTruncate},
		{"MissingNames", testMissing},
		{"WriteAfterClose", testWriteAfterClose},
		{"BadNames", testBadNames},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStorage(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			mkdirs(t, s, "") // the folder need not exist before
			again := func() journal.Storage {
				if opts.Reopen == nil {
					return noClose{s}
				}
				return opts.Reopen(t, s)
			}
			tc.fn(t, s, again, opts)
		})
	}
}

// noClose is the storage itself as its "other handle": closing it is a
// no-op, Run closes the storage.
type noClose struct{ journal.Storage }

func (noClose) Close() error { return nil }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func create(t *testing.T, s journal.Storage, name string) journal.LogFile {
	t.Helper()
	f, err := s.Create(ctxT(t), name)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	return f
}

func write(t *testing.T, f journal.LogFile, data string) {
	t.Helper()
	if n, err := f.Write([]byte(data)); err != nil || n != len(data) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(data), n, err)
	}
}

func sync(t *testing.T, f journal.LogFile) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// writeFile creates name with data, synced and closed.
func writeFile(t *testing.T, s journal.Storage, name, data string) {
	t.Helper()
	f := create(t, s, name)
	write(t, f, data)
	if err := f.Close(); err != nil {
		t.Fatalf("Close(%s): %v", name, err)
	}
}

func read(t *testing.T, s journal.Storage, name string, off int64) string {
	t.Helper()
	r, err := s.Open(ctxT(t), name, off)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", name, off, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s from %d: %v", name, off, err)
	}
	return string(b)
}

func stat(t *testing.T, s journal.Storage, name string) journal.FileInfo {
	t.Helper()
	fi, err := s.Stat(ctxT(t), name)
	if err != nil {
		t.Fatalf("Stat(%s): %v", name, err)
	}
	return fi
}

func mkdirs(t *testing.T, s journal.Storage, dir string) {
	t.Helper()
	if err := s.Mkdirs(ctxT(t), dir); err != nil {
		t.Fatalf("Mkdirs(%q): %v", dir, err)
	}
}

func listNames(t *testing.T, s journal.Storage, dir string) []string {
	t.Helper()
	ents, err := s.List(ctxT(t), dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
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

func wantNotExist(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: err = %v, want one wrapping fs.ErrNotExist", what, err)
	}
}

func testList(t *testing.T, s journal.Storage, _ func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	mkdirs(t, s, "d/sub/c")
	mkdirs(t, s, "d/sub") // existing: no error
	writeFile(t, s, "d/x", "1")
	writeFile(t, s, "d/y", "22")
	open := create(t, s, "d/open")
	write(t, open, "333")
	sync(t, open)
	defer open.Close()
	fis, err := s.List(ctx, "d")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	sort.Slice(fis, func(i, j int) bool { return fis[i].Name < fis[j].Name })
	var got []string
	for _, fi := range fis {
		if fi.IsDir {
			fi.Size = 0 // a directory's size is the backend's business
		}
		got = append(got, fmt.Sprintf("%s:%d:%v", fi.Name, fi.Size, fi.IsDir))
		if fi.ID == 0 {
			t.Errorf("List entry %s has ID 0", fi.Name)
		}
	}
	want := []string{"open:3:false", "sub:0:true", "x:1:false", "y:2:false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if got := strings.Join(listNames(t, s, ""), ","); got != "d/" {
		t.Fatalf("List of the folder = %s, want d/", got)
	}
	if got := listNames(t, s, "d/sub/c"); len(got) != 0 {
		t.Fatalf("List of an empty directory = %v", got)
	}
	if fi := stat(t, s, "d/sub"); !fi.IsDir || fi.Name != "sub" {
		t.Fatalf("Stat(d/sub) = %+v, want the directory sub", fi)
	}
	_, err = s.List(ctx, "nope")
	wantNotExist(t, "List of a missing directory", err)
}

func testCreateExclusive(t *testing.T, s journal.Storage, _ func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	mkdirs(t, s, "logs")
	f := create(t, s, "logs/a")
	write(t, f, "first")
	sync(t, f)
	if _, err := s.Create(ctx, "logs/a"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create of an open file: err = %v, want fs.ErrExist", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, "logs/a")
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of a closed file: err = %v, want fs.ErrExist", err)
	} else if !strings.Contains(err.Error(), "logs/a") {
		t.Errorf("the error of a refused Create %q does not name the file", err)
	}
	if got := read(t, s, "logs/a", 0); got != "first" {
		t.Errorf("content after refused Creates = %q, want %q", got, "first")
	}
}

func testSyncThenRead(t *testing.T, s journal.Storage, again func() journal.Storage, _ Options) {
	other := again()
	defer other.Close()
	f := create(t, s, "log")
	write(t, f, "hello ")
	sync(t, f)
	if got := read(t, other, "log", 0); got != "hello " {
		t.Fatalf("another handle reads %q after Sync, want %q", got, "hello ")
	}
	write(t, f, "wor")
	write(t, f, "ld")
	sync(t, f)
	if got := read(t, other, "log", 0); got != "hello world" {
		t.Fatalf("another handle reads %q after the second Sync, want %q", got, "hello world")
	}
	if fi := stat(t, other, "log"); fi.Size != 11 {
		t.Errorf("Stat size after Sync = %d, want 11", fi.Size)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, other, "log", 6); got != "world" {
		t.Fatalf("read at offset 6 after Close: %q", got)
	}
	if fi := stat(t, other, "log"); fi.Size != 11 || fi.IsDir || fi.Name != "log" {
		t.Fatalf("Stat after Close = %+v", fi)
	}
}

func testOpenAtOffsetWhileWriting(t *testing.T, s journal.Storage, again func() journal.Storage, _ Options) {
	other := again()
	defer other.Close()
	f := create(t, s, "log")
	defer f.Close()
	write(t, f, "0123456789")
	sync(t, f)
	write(t, f, "abc") // not synced: a reader may or may not see it
	// Stat covers every synced byte of a file being written (CatchUp reads
	// [offset, Size) of the open log).
	if n := stat(t, other, "log").Size; n < 10 || n > 13 {
		t.Fatalf("Stat size of a file being written = %d, want 10 (synced) to 13", n)
	}
	got := read(t, other, "log", 4)
	if !strings.HasPrefix(got, "456789") || !strings.HasPrefix("456789abc", got) {
		t.Fatalf("Open at 4 of a file being written reads %q, want 456789 and perhaps a prefix of abc", got)
	}
	if got := read(t, other, "log", 10); !strings.HasPrefix("abc", got) {
		t.Fatalf("Open at the synced end reads %q, want a prefix of abc", got)
	}
	sync(t, f)
	if got := read(t, other, "log", 4); got != "456789abc" {
		t.Fatalf("Open at 4 after Sync reads %q, want 456789abc", got)
	}
}

// testTailingReader is the standby: after each Sync it Stats the open log,
// opens it again at its offset and reads to EOF, and sees exactly the new
// bytes. The records grow so that the later ones cross buffer sizes.
func testTailingReader(t *testing.T, s journal.Storage, again func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	other := again()
	defer other.Close()
	f := create(t, s, "log")
	defer f.Close()
	var want, seen bytes.Buffer
	for i := range 5 {
		rec := fmt.Sprintf("record-%d;", i) + strings.Repeat(string(rune('a'+i)), 1000*(i+1))
		write(t, f, rec)
		sync(t, f)
		want.WriteString(rec)
		if n := stat(t, other, "log").Size; n < int64(want.Len()) {
			t.Fatalf("round %d: Stat size %d after Sync of %d bytes", i, n, want.Len())
		}
		r, err := other.Open(ctx, "log", int64(seen.Len()))
		if err != nil {
			t.Fatalf("tail open at %d: %v", seen.Len(), err)
		}
		if _, err := io.Copy(&seen, r); err != nil {
			t.Fatalf("tail read: %v", err)
		}
		r.Close()
		if !bytes.Equal(seen.Bytes(), want.Bytes()) {
			t.Fatalf("after %d synced records the tailer has %d bytes, want %d (or they differ)", i+1, seen.Len(), want.Len())
		}
	}
}

func testIDStable(t *testing.T, s journal.Storage, again func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	other := again()
	defer other.Close()
	f := create(t, s, "log")
	defer f.Close()
	id := f.ID()
	if id == 0 {
		t.Fatal("ID() = 0")
	}
	if got := stat(t, other, "log").ID; got != id {
		t.Fatalf("Stat.ID = %d, LogFile.ID = %d", got, id)
	}
	for i := range 3 {
		write(t, f, "x")
		sync(t, f)
		if f.ID() != id {
			t.Fatalf("ID changed across Sync %d: %d -> %d", i, id, f.ID())
		}
		if got := stat(t, other, "log").ID; got != id {
			t.Fatalf("Stat.ID after Sync %d = %d, want %d", i, got, id)
		}
	}
	g := create(t, s, "other")
	defer g.Close()
	if g.ID() == id {
		t.Fatalf("two files share ID %d", id)
	}
	if got := stat(t, other, "other").ID; got == id {
		t.Fatalf("Stat of two files gives one ID %d", id)
	}
	if err := s.Rename(ctx, "log", "log.sealing"); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, other, "log.sealing").ID; got != id {
		t.Fatalf("ID after rename = %d, want %d", got, id)
	}
	fis, err := other.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fis {
		if e.Name == "log.sealing" && (e.ID != id || e.Size != 3) {
			t.Fatalf("listed %+v, want ID %d size 3", e, id)
		}
	}
	// A new file under the old name is another file.
	h := create(t, s, "log")
	defer h.Close()
	if got := stat(t, other, "log").ID; got == id {
		t.Fatalf("a new file under an old name has the old ID %d", id)
	}
}

func testRenameNoReplace(t *testing.T, s journal.Storage, _ func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	writeFile(t, s, "a", "aaa")
	writeFile(t, s, "b", "bb")
	if err := s.Rename(ctx, "a", "b"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename onto an existing file: err = %v, want fs.ErrExist", err)
	}
	if read(t, s, "a", 0) != "aaa" || read(t, s, "b", 0) != "bb" {
		t.Fatal("a refused Rename changed a file")
	}
	mkdirs(t, s, "dir")
	if err := s.Rename(ctx, "a", "dir"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename onto an existing directory: err = %v, want fs.ErrExist", err)
	}
	if err := s.Rename(ctx, "a", "dir/c"); err != nil {
		t.Fatalf("Rename(a, dir/c): %v", err)
	}
	_, err := s.Stat(ctx, "a")
	wantNotExist(t, "Stat of the old name after Rename", err)
	if got := read(t, s, "dir/c", 0); got != "aaa" {
		t.Fatalf("renamed file holds %q", got)
	}
	// An open log renamed away: its writer's fence check sees the name gone.
	f := create(t, s, "open")
	defer f.Close()
	write(t, f, "x")
	sync(t, f)
	if err := s.Rename(ctx, "open", "open.sealing"); err != nil {
		t.Fatalf("Rename of an open file: %v", err)
	}
	_, err = s.Stat(ctx, "open")
	wantNotExist(t, "Stat of an open log's old name", err)
	if got := stat(t, s, "open.sealing").ID; got != f.ID() {
		t.Fatalf("sealed log has ID %d, its writer %d", got, f.ID())
	}
}

func testDelete(t *testing.T, s journal.Storage, _ func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	mkdirs(t, s, "a/b/c")
	writeFile(t, s, "a/b/f", "x")
	writeFile(t, s, "a/b/c/g", "y")
	writeFile(t, s, "keep", "z")
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete of a tree: %v", err)
	}
	for _, n := range []string{"a", "a/b", "a/b/f", "a/b/c/g"} {
		_, err := s.Stat(ctx, n)
		wantNotExist(t, "Stat("+n+") after Delete", err)
	}
	if err := s.Delete(ctx, "keep"); err != nil {
		t.Fatalf("Delete of a file: %v", err)
	}
	_, err := s.Stat(ctx, "keep")
	wantNotExist(t, "Stat of a deleted file", err)
	if err := s.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete of a missing name: %v, want no error", err)
	}
	if got := listNames(t, s, ""); len(got) != 0 {
		t.Fatalf("left after Delete: %v", got)
	}
}

// writerStopped checks what an earlier writer of a recovered file can do:
// with RecoverFences nothing (an error, no byte added); in every case its
// fence check fails after a sealing rename.
func writerStopped(t *testing.T, s journal.Storage, f journal.LogFile, oldName, sealed string, size int64, content string, o Options) {
	t.Helper()
	ctx := ctxT(t)
	werr := func() error {
		if _, err := f.Write([]byte("LATE")); err != nil {
			return err
		}
		return f.Sync()
	}()
	cerr := f.Close()
	if o.RecoverFences {
		if werr == nil && cerr == nil {
			t.Errorf("the earlier writer's Write+Sync and Close after Recover succeeded")
		}
		if got := stat(t, s, sealed).Size; got != size {
			t.Errorf("recovered file size %d after the earlier writer tried again, want %d", got, size)
		}
		if got := read(t, s, sealed, 0); got != content {
			t.Errorf("recovered file holds %q after the earlier writer tried again, want %q", got, content)
		}
	}
	if oldName != sealed {
		fi, err := s.Stat(ctx, oldName)
		if err == nil && fi.ID == f.ID() {
			t.Errorf("fence check passes after the sealing rename: Stat(%s).ID = the writer's ID", oldName)
		}
	}
}

func testRecoverAfterRename(t *testing.T, s journal.Storage, again func() journal.Storage, o Options) {
	ctx := ctxT(t)
	other := again() // the new leader
	defer other.Close()
	f := create(t, s, "log")
	write(t, f, "durable;")
	sync(t, f)
	write(t, f, "maybe;") // written, not synced: may or may not survive
	if err := other.Rename(ctx, "log", "log.sealing"); err != nil {
		t.Fatalf("sealing Rename: %v", err)
	}
	size, err := other.Recover(ctx, "log.sealing")
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	content := read(t, other, "log.sealing", 0)
	if size != int64(len(content)) || (content != "durable;" && content != "durable;maybe;") {
		t.Fatalf("Recover = %d, file holds %q: want the synced bytes, perhaps with the unsynced ones", size, content)
	}
	writerStopped(t, other, f, "log", "log.sealing", size, content, o)
	// A recovered log can be cut to its last valid record and renamed.
	if err := other.Truncate(ctx, "log.sealing", 3); err != nil {
		t.Fatalf("Truncate of a recovered log: %v", err)
	}
	if fi := stat(t, other, "log.sealing"); fi.Size != 3 {
		t.Fatalf("Stat after Truncate: size %d, want 3", fi.Size)
	}
	if err := other.Rename(ctx, "log.sealing", "0x1-0x2"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, "0x1-0x2", 0); got != "dur" {
		t.Fatalf("sealed log holds %q, want dur", got)
	}
}

func testRecoverIdleWriter(t *testing.T, s journal.Storage, again func() journal.Storage, o Options) {
	ctx := ctxT(t)
	other := again()
	defer other.Close()
	f := create(t, s, "log")
	write(t, f, "all synced")
	sync(t, f)
	// Recover in place (no rename): the writer is idle, everything synced.
	size, err := other.Recover(ctx, "log")
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if size != int64(len("all synced")) {
		t.Fatalf("Recover = %d, want %d", size, len("all synced"))
	}
	writerStopped(t, other, f, "log", "log", size, "all synced", o)
	// Recover of a closed file returns its size.
	writeFile(t, s, "closed", "12345")
	if size, err := other.Recover(ctx, "closed"); err != nil || size != 5 {
		t.Fatalf("Recover of a closed file = %d, %v; want 5", size, err)
	}
}

func testTruncate(t *testing.T, s journal.Storage, again func() journal.Storage, _ Options) {
	ctx := ctxT(t)
	data := strings.Repeat("0123456789", 10)
	writeFile(t, s, "log", data)
	for _, n := range []int64{100, 37, 10, 0} {
		if err := s.Truncate(ctx, "log", n); err != nil {
			t.Fatalf("Truncate to %d: %v", n, err)
		}
		other := again()
		if got := stat(t, other, "log").Size; got != n {
			t.Fatalf("size after Truncate to %d = %d", n, got)
		}
		if got := read(t, other, "log", 0); got != data[:n] {
			t.Fatalf("content after Truncate to %d = %q", n, got)
		}
		other.Close()
	}
}

func testMissing(t *testing.T, s journal.Storage, _ func() journal.Storage, o Options) {
	ctx := ctxT(t)
	mkdirs(t, s, "d")
	_, err := s.Stat(ctx, "d/missing")
	wantNotExist(t, "Stat", err)
	if err != nil && !strings.Contains(err.Error(), "missing") {
		t.Errorf("Stat error %q does not name the file", err)
	}
	_, err = s.Open(ctx, "d/missing", 0)
	wantNotExist(t, "Open", err)
	wantNotExist(t, "Rename", s.Rename(ctx, "d/missing", "d/other"))
	_, err = s.Recover(ctx, "d/missing")
	wantNotExist(t, "Recover", err)
	wantNotExist(t, "Truncate", s.Truncate(ctx, "d/missing", 0))
	f, err := s.Create(ctx, "nodir/x")
	switch {
	case err == nil && !o.CreateMakesParents:
		f.Close()
		t.Errorf("Create in a missing directory succeeded")
	case err == nil:
		f.Close()
		if _, err := s.Stat(ctx, "nodir/x"); err != nil {
			t.Errorf("Create in a missing directory succeeded but Stat fails: %v", err)
		}
	}
}

func testWriteAfterClose(t *testing.T, s journal.Storage, _ func() journal.Storage, _ Options) {
	f := create(t, s, "log")
	write(t, f, "abc")
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Errorf("Write after Close succeeded")
	}
	if got := read(t, s, "log", 0); got != "abc" {
		t.Errorf("after Close the file holds %q, want abc (Close syncs)", got)
	}
}

var uriLike = regexp.MustCompile(`^[a-z]+://|^/`)

func testBadNames(t *testing.T, s journal.Storage, _ func() journal.Storage, o Options) {
	ctx := ctxT(t)
	if !uriLike.MatchString(s.URI()) {
		t.Errorf("URI() = %q, want an absolute path or a URI", s.URI())
	}
	if o.NoEscape {
		return
	}
	if _, err := s.Create(ctx, "../escape"); err == nil {
		t.Errorf("Create(../escape) succeeded")
	}
}
