package fsmaster

import (
	"fmt"
	"runtime"
	"testing"

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
