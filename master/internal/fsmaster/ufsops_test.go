package fsmaster

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// flakyUFS is the local UFS whose Rename and Delete fail while down is set.
type flakyUFS struct {
	ufs.UnderFileSystem
	down     *atomic.Bool
	statDown *atomic.Bool // GetStatus fails while set
	calls    *atomic.Int64
}

func (f flakyUFS) GetStatus(ctx context.Context, p string) (ufs.Status, error) {
	if f.statDown.Load() {
		return ufs.Status{}, errors.New("ufs: connection refused")
	}
	return f.UnderFileSystem.GetStatus(ctx, p)
}

func (f flakyUFS) Rename(ctx context.Context, src, dst string) error {
	f.calls.Add(1)
	if f.down.Load() {
		return errors.New("ufs: connection refused")
	}
	return f.UnderFileSystem.Rename(ctx, src, dst)
}

func (f flakyUFS) Delete(ctx context.Context, p string, recursive bool) error {
	f.calls.Add(1)
	if f.down.Load() {
		return errors.New("ufs: connection refused")
	}
	return f.UnderFileSystem.Delete(ctx, p, recursive)
}

type ufsFixture struct {
	dir      string
	down     atomic.Bool
	statDown atomic.Bool
	calls    atomic.Int64
	reg      *ufs.Registry
}

func newUFSFixture(t *testing.T) *ufsFixture {
	f := &ufsFixture{dir: t.TempDir(), reg: &ufs.Registry{}}
	open := func(ctx context.Context, u *url.URL, props map[string]string) (ufs.UnderFileSystem, error) {
		return flakyUFS{UnderFileSystem: ufs.NewLocal(), down: &f.down, statDown: &f.statDown, calls: &f.calls}, nil
	}
	f.reg.Register("", open)
	f.reg.Register("file", open)
	return f
}

// master returns a new leading master over the fixture's UFS.
func (f *ufsFixture) master(t *testing.T, w *memWriter) *Master {
	m := New(Config{RootUFS: f.dir, DefaultBlockSize: 1 << 20, UFS: f.reg, Blocks: blockmaster.New(blockmaster.Config{}), RecentOps: 64})
	for _, e := range w.all() {
		if err := m.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	m.StartLeading(w, nil)
	return m
}

func (f *ufsFixture) exists(p string) bool {
	_, err := os.Stat(filepath.Join(f.dir, p))
	return err == nil
}

// TestUfsRenameNotBeforeJournal: a rename whose journal entry never becomes
// durable leaves the UFS alone (before, the UFS rename ran first and a
// journal failure left the namespace pointing at a path the file had left).
func TestUfsRenameNotBeforeJournal(t *testing.T) {
	f := newUFSFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &memWriter{epoch: 1}
	m := f.master(t, w)
	if _, err := m.GetStatus(bg, "/a"); err != nil { // loads /a from the UFS
		t.Fatal(err)
	}
	w.failAfter = len(w.all()) // the next append fails
	if err := m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/a", DstPath: "/b"}); err == nil {
		t.Fatal("rename succeeded with a failing journal")
	}
	if !f.exists("a") || f.exists("b") {
		t.Errorf("UFS changed although the rename was not journaled: a=%v b=%v", f.exists("a"), f.exists("b"))
	}
}

// TestUfsOpsPendingAndResumed: the UFS is down when a rename and a delete
// are journaled. Both answer success (the namespace changed); the UFS
// operations stay pending in the journal; a master replaying that journal
// (a restart, or a new leader) performs them before serving, and records
// them done.
func TestUfsOpsPendingAndResumed(t *testing.T) {
	f := newUFSFixture(t)
	for _, p := range []string{"a", "c"} {
		if err := os.WriteFile(filepath.Join(f.dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := &memWriter{epoch: 1}
	m := f.master(t, w)
	for _, p := range []string{"/a", "/c"} {
		if _, err := m.GetStatus(bg, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/d"}); err != nil { // not in the UFS
		t.Fatal(err)
	}
	f.down.Store(true)
	if err := m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/a", DstPath: "/d/b"}); err != nil {
		t.Fatalf("rename with the UFS down: %v (the namespace change is journaled; the UFS op is pending)", err)
	}
	if err := m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/c"}); err != nil {
		t.Fatalf("remove with the UFS down: %v", err)
	}
	if got := m.PendingUfsOps(); got != 2 {
		t.Fatalf("pending UFS ops %d, want 2", got)
	}
	// Metadata loading does not bring back the files the pending ops move
	// away: /a is renamed and /c deleted.
	for _, p := range []string{"/a", "/c"} {
		if _, err := m.GetStatus(bg, p); err == nil {
			t.Errorf("%s loaded from the UFS although a pending operation moves it away", p)
		}
	}
	// A checkpoint keeps the pending set.
	fromSnap := New(Config{RootUFS: f.dir, UFS: f.reg, Blocks: blockmaster.New(blockmaster.Config{}), RecentOps: 64})
	if err := m.Snapshot(fromSnap.Apply); err != nil {
		t.Fatal(err)
	}
	if got := fromSnap.PendingUfsOps(); got != 2 {
		t.Errorf("a snapshot carries %d pending UFS ops, want 2", got)
	}

	// "Crash" and start again on the same journal with the UFS back.
	f.down.Store(false)
	m2 := f.master(t, w)
	if got := m2.PendingUfsOps(); got != 2 {
		t.Fatalf("replay rebuilt %d pending UFS ops, want 2", got)
	}
	m2.ResumeUfsOps(bg)
	if f.exists("a") || !f.exists("d/b") || f.exists("c") {
		t.Errorf("after resuming: a=%v d/b=%v c=%v, want false true false", f.exists("a"), f.exists("d/b"), f.exists("c"))
	}
	if got := m2.PendingUfsOps(); got != 0 {
		t.Errorf("pending UFS ops after resuming %d, want 0", got)
	}
	if _, err := m2.GetStatus(bg, "/d/b"); err != nil {
		t.Errorf("status of the renamed file: %v", err)
	}
	// Done is journaled: a third master has nothing pending, and running
	// the operations again is harmless (idempotent).
	m3 := f.master(t, w)
	if got := m3.PendingUfsOps(); got != 0 {
		t.Errorf("pending UFS ops after replaying the done entries %d, want 0", got)
	}
}

// TestUfsOpRetriedInBackground: an operation that failed is retried by
// RunUfsOps once the UFS is back.
func TestUfsOpRetriedInBackground(t *testing.T) {
	f := newUFSFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &memWriter{epoch: 1}
	m := f.master(t, w)
	if _, err := m.GetStatus(bg, "/a"); err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	if err := m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/a", DstPath: "/b"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	go m.RunUfsOps(ctx)
	f.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for m.PendingUfsOps() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m.PendingUfsOps() != 0 || !f.exists("b") || f.exists("a") {
		t.Errorf("after the retry: pending %d, a=%v b=%v", m.PendingUfsOps(), f.exists("a"), f.exists("b"))
	}
}

// TestLoaderSkipsUfsTempFiles: a write cut short leaves
// ".<name>.alluxio-tmp-*" in the UFS; it is never loaded as a file.
func TestLoaderSkipsUfsTempFiles(t *testing.T) {
	f := newUFSFixture(t)
	tmp := ".f.alluxio-tmp-12345"
	if err := os.WriteFile(filepath.Join(f.dir, tmp), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "g"), []byte("whole"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := f.master(t, &memWriter{epoch: 1})
	var names []string
	if err := m.ListStatus(bg, "/", false, 100, func(fi []*alluxiopb.FileInfo) error {
		for _, x := range fi {
			names = append(names, x.GetName())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "g" {
		t.Errorf("listing %v, want [g]", names)
	}
	if _, err := m.GetStatus(bg, "/"+tmp); err == nil {
		t.Errorf("GetStatus loaded the UFS temporary file %s", tmp)
	}
}

// TestRemoveIncompleteDeletesUfsFile: a through create whose UFS file the
// worker completed, but whose answer was lost, is abandoned by the client
// (Remove of the incomplete file). The UFS file must go with it (journaled
// as the entry's UFS deletion), or the next listing loads back a create the
// client reported as failed (torture bug T6). alluxio_only keeps it; a
// recursive delete of a directory not persisted deletes its incomplete
// files' UFS files too; an incomplete file with nothing in the UFS needs no
// UFS operation.
func TestRemoveIncompleteDeletesUfsFile(t *testing.T) {
	tests := []struct {
		name        string
		dir         string // created (not persisted) before the file, if set
		file        string // created CACHE_THROUGH (incomplete)
		ufsFile     bool   // the "worker" completed the UFS file
		rm          *alluxiopb.DeleteRequest
		ufsDown     bool // the UFS deletion fails at first: stays pending
		statDown    bool // the UFS cannot say whether the file is there
		wantUfsGone bool
		wantPending int // UFS operations journaled by the remove
	}{
		{name: "abandoned file", file: "/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/f"}, wantUfsGone: true, wantPending: 1},
		{name: "alluxio only", file: "/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/f", AlluxioOnly: true}, wantUfsGone: false},
		{name: "nothing in the UFS", file: "/f", rm: &alluxiopb.DeleteRequest{Path: "/f"}, wantUfsGone: true},
		{name: "recursive, directory not persisted", dir: "/e", file: "/e/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/e", Recursive: true}, wantUfsGone: true, wantPending: 1},
		{name: "recursive, alluxio only", dir: "/e", file: "/e/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/e", Recursive: true, AlluxioOnly: true}, wantUfsGone: false},
		{name: "UFS down: pending, not loaded back, replayed", file: "/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/f"}, ufsDown: true, wantUfsGone: true, wantPending: 1},
		{name: "UFS stat fails: deletion journaled anyway", file: "/f", ufsFile: true, rm: &alluxiopb.DeleteRequest{Path: "/f"}, statDown: true, wantUfsGone: true, wantPending: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newUFSFixture(t)
			w := &memWriter{epoch: 1}
			m := f.master(t, w)
			if tc.dir != "" {
				if _, err := m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: tc.dir}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: tc.file, WriteType: alluxiopb.WriteType_CACHE_THROUGH}); err != nil {
				t.Fatal(err)
			}
			ufsPath := filepath.Join(f.dir, filepath.FromSlash(tc.file))
			if tc.ufsFile {
				if err := os.WriteFile(ufsPath, []byte("complete"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f.down.Store(tc.ufsDown)
			f.statDown.Store(tc.statDown)
			if err := m.Remove(bg, tc.rm); err != nil {
				t.Fatal(err)
			}
			f.statDown.Store(false)
			if tc.ufsDown {
				if got := m.PendingUfsOps(); got != tc.wantPending {
					t.Errorf("pending UFS ops with the UFS down %d, want %d", got, tc.wantPending)
				}
				if _, err := m.GetStatus(bg, tc.file); err == nil {
					t.Errorf("%s loaded from the UFS although a pending operation deletes it", tc.file)
				}
				f.down.Store(false)
				m = f.master(t, w) // restart: replay rebuilds the pending deletion
				m.ResumeUfsOps(bg)
			}
			if got := m.PendingUfsOps(); got != 0 {
				t.Errorf("pending UFS ops %d, want 0", got)
			}
			_, serr := os.Stat(ufsPath)
			if gone := errors.Is(serr, os.ErrNotExist); gone != tc.wantUfsGone {
				t.Errorf("UFS file gone=%v, want %v", gone, tc.wantUfsGone)
			}
			journaled := 0
			for _, e := range w.all() {
				if e.GetDeleteFile().GetUfsOp() != nil {
					journaled++
				}
			}
			if journaled != tc.wantPending {
				t.Errorf("%d DeleteFileEntry with a UFS operation journaled, want %d", journaled, tc.wantPending)
			}
			if tc.wantUfsGone {
				if _, err := m.GetStatus(bg, tc.file); err == nil {
					t.Errorf("%s exists after the remove of its abandoned create", tc.file)
				}
			}
		})
	}
}
