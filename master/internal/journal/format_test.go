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

func TestSealRemovesOpenLogWithoutRecords(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"only a partial record", []byte{0x30, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJournal(t, Config{})
			writeBlocks(t, j, 1, 1, 3, true) // seqs 1..4, open log 0x1-...
			j2 := reopen(t, j)
			writeBlocks(t, j2, 2, 4, 4, true) // seals 0x1-0x5, open 0x5-...
			// A crash right after creating the next open log.
			os.WriteFile(filepath.Join(j.Dir(), logsDir, segName(7, openEnd)), tc.content, 0o644)
			os.Rename(findLog(t, j, true), filepath.Join(j.Dir(), logsDir, segName(5, 7)))
			j3 := reopen(t, j)
			w3, err := j3.StartWriting(ctx, 3)
			if err != nil {
				t.Fatal(err)
			}
			w3.Close()
			names := strings.Join(logNames(t, j), ",")
			if names != "0x1-0x5,0x5-0x7,0x7-0x7fffffffffffffff" {
				t.Fatalf("logs %s", names)
			}
			res, err := reopen(t, j).Replay(ctx, &memSM{})
			if err != nil || res.LastSeq != 7 || res.LastEpoch != 3 {
				t.Fatalf("replay %+v %v", res, err)
			}
		})
	}
}

func TestNeedsCheckpointReadsDisk(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{CheckpointPeriodEntries: 10})
	_, last := writeBlocks(t, j, 1, 1, 20, true)
	j = reopen(t, j)
	if _, err := j.Replay(ctx, &memSM{}); err != nil {
		t.Fatal(err)
	}
	if err := j.Checkpoint(ctx, last, snapOf(&memSM{})); err != nil {
		t.Fatal(err)
	}
	fresh := reopen(t, j) // no replay: reads checkpoints/
	if fresh.NeedsCheckpoint(last+9) || !fresh.NeedsCheckpoint(last+10) {
		t.Fatalf("NeedsCheckpoint around %d wrong", last)
	}
	// Asking for a checkpoint that exists is a no-op.
	if err := j.Checkpoint(ctx, last, snapOf(&memSM{})); err != nil {
		t.Fatal(err)
	}
}

// TestSealOpenLogNotLast: an open log followed by a completed log (left by a
// crash or by hand) is sealed with its records, not taken for empty.
func TestSealOpenLogNotLast(t *testing.T) {
	ctx := context.Background()
	j := newTestJournal(t, Config{})
	writeBlocks(t, j, 1, 1, 3, true) // seqs 1..4 in the open log 0x1-...
	writeRawLog(t, j, segName(5, 7), term(5, 2), rec(6, 2, 4))
	j2 := reopen(t, j)
	w, err := j2.StartWriting(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if names := strings.Join(logNames(t, j), ","); names != "0x1-0x5,0x5-0x7,0x7-0x7fffffffffffffff" {
		t.Fatalf("logs %s", names)
	}
	sm := &memSM{}
	res, err := reopen(t, j).Replay(ctx, sm)
	if err != nil || res.LastSeq != 7 || res.LastEpoch != 3 || !equalInts(sm.blockIDs(), seqRange(1, 4)) {
		t.Fatalf("replay %+v %v, blocks %v", res, err, sm.blockIDs())
	}
}
