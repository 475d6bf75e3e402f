package fsmaster

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// TestHeapPerFile applies creation entries for many files directly (the
// replay path) and measures the heap the namespace holds per file.
func TestHeapPerFile(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	const dirs, perDir = 100, 1000
	m, _ := newMaster(t.TempDir())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := int64(1)
	for d := 0; d < dirs; d++ {
		dirID := inodeIDFor(c)
		c++
		if err := m.Apply(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeDirectory{InodeDirectory: &journalpb.InodeDirectoryEntry{
			Id: dirID, ParentId: rootID, Name: fmt.Sprintf("dir%03d", d), Owner: "alluxio", Group: "staff", Mode: 0o755}}}); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < perDir; f++ {
			id := inodeIDFor(c)
			c++
			if err := m.Apply(&journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeFile{InodeFile: &journalpb.InodeFileEntry{
				Id: id, ParentId: dirID, Name: fmt.Sprintf("part-%05d.parquet", f), Owner: "alluxio", Group: "staff", Mode: 0o644,
				BlockSizeBytes: 64 << 20, Length: 1 << 20, Completed: true, BlockIds: []int64{blockIDFor(id, 0)}, PersistenceState: "PERSISTED"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(dirs*perDir)
	t.Logf("heap per file: %.0f bytes (%d files)", per, dirs*perDir)
	if per > 400 {
		t.Errorf("heap per file %.0f bytes, want < 400", per)
	}
	runtime.KeepAlive(m)
}

// namesWriter records where the names of appended entries point.
type namesWriter struct {
	memWriter
	ptrs map[*byte]bool
}

func (w *namesWriter) Append(e *journalpb.JournalEntry) (int64, error) {
	for _, name := range []string{e.GetInodeFile().GetName(), e.GetInodeDirectory().GetName(), e.GetRename().GetNewName()} {
		if name != "" {
			w.ptrs[unsafe.StringData(name)] = true
		}
	}
	return w.memWriter.Append(e)
}

// TestInodeNameOwnsItsBytes: an inode's name must not share the bytes of the
// entry it came from, which on the leader are a substring of the request's
// path (the whole path would stay alive: ~20% of the heap in the create
// benchmark).
func TestInodeNameOwnsItsBytes(t *testing.T) {
	f := newFixture(t)
	w := &namesWriter{memWriter: memWriter{epoch: 1}, ptrs: map[*byte]bool{}}
	f.m.StopLeading()
	f.m.StartLeading(w, nil)
	f.mkdir(t, "/a/b")
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/a/b/part-00001.parquet"}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/a/b/part-00001.parquet", DstPath: "/a/part-00002.parquet"}); err != nil {
		t.Fatal(err)
	}
	f.m.mu.RLock()
	defer f.m.mu.RUnlock()
	if len(w.ptrs) != 4 {
		t.Fatalf("recorded %d names, want 4", len(w.ptrs))
	}
	for _, n := range f.m.byID {
		if n.name != "" && w.ptrs[unsafe.StringData(n.name)] {
			t.Errorf("inode %d's name %q shares the bytes of its journal entry (and request path)", n.id, n.name)
		}
	}
}
