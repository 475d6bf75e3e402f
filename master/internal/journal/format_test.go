package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "journal")
	if ok, err := IsFormatted(folder); ok || err != nil {
		t.Fatalf("missing folder: %v %v", ok, err)
	}
	if err := Format(folder); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsFormatted(folder); !ok || err != nil {
		t.Fatalf("after format: %v %v", ok, err)
	}
	for _, d := range []string{"logs", "checkpoints", ".tmp"} {
		if st, err := os.Stat(filepath.Join(folder, "FileSystemMaster", "v1", d)); err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", d, err)
		}
	}
	j, err := Open(Config{Folder: folder})
	if err != nil {
		t.Fatal(err)
	}
	if j.Dir() != filepath.Join(folder, "FileSystemMaster", "v1") {
		t.Fatalf("Dir %s", j.Dir())
	}
	writeBlocks(t, j, 1, 1, 10, true)
	os.WriteFile(filepath.Join(folder, "keep.txt"), nil, 0o644)
	// Format again wipes the journal and replaces the marker.
	if err := Format(folder); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(folder)
	var markers []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "_format_") {
			markers = append(markers, e.Name())
		}
	}
	if len(markers) != 1 {
		t.Fatalf("markers %v", markers)
	}
	if _, err := os.Stat(filepath.Join(folder, "keep.txt")); err != nil {
		t.Fatal("format removed an unrelated file")
	}
	res, err := reopen(t, j).Replay(context.Background(), &memSM{})
	if err != nil || res.LastSeq != 0 {
		t.Fatalf("replay after format: %+v %v", res, err)
	}
	// Without the marker the journal is not formatted.
	os.Remove(filepath.Join(folder, markers[0]))
	if ok, _ := IsFormatted(folder); ok {
		t.Fatal("formatted without a marker")
	}
}

func TestOpenValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"empty folder", Config{}, false},
		{"negative size", Config{Folder: "/x", LogSizeBytesMax: -1}, false},
		{"negative period", Config{Folder: "/x", CheckpointPeriodEntries: -1}, false},
		{"defaults", Config{Folder: "x"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Open(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("Open: %v", err)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "journal: ") {
					t.Fatalf("error without prefix: %v", err)
				}
				return
			}
			if j.cfg.LogSizeBytesMax != DefaultLogSizeBytesMax || j.cfg.CheckpointPeriodEntries != DefaultCheckpointPeriodEntries || !filepath.IsAbs(j.Dir()) {
				t.Fatalf("defaults not applied: %+v", j.cfg)
			}
		})
	}
}
