package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		level     string
		wantDebug bool
		wantInfo  bool
		wantWarn  bool
	}{
		{"DEBUG", true, true, true},
		{"info", false, true, true},
		{"", false, true, true},
		{"Warn", false, false, true},
		{"ERROR", false, false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := New(&buf, tt.level)
		if err != nil {
			t.Fatalf("New(%q): %v", tt.level, err)
		}
		l.Debug("d")
		l.Info("i")
		l.Warn("w", "key", "v")
		out := buf.String()
		if strings.Contains(out, "msg=d") != tt.wantDebug || strings.Contains(out, "msg=i") != tt.wantInfo || strings.Contains(out, "msg=w key=v") != tt.wantWarn {
			t.Errorf("level %q wrote %q", tt.level, out)
		}
	}
	if _, err := New(&bytes.Buffer{}, "loud"); err == nil {
		t.Error("accepted level loud")
	}
	if l, _ := ParseLevel("warning"); l != slog.LevelWarn {
		t.Error("WARNING")
	}
}

func TestOpenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs", "sub")
	for i := 0; i < 2; i++ {
		w, err := OpenFile(dir, "master")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("line\n")); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	b, err := os.ReadFile(filepath.Join(dir, "master.log"))
	if err != nil || string(b) != "line\nline\n" {
		t.Errorf("log = %q, %v", b, err)
	}
	if _, err := OpenFile(dir, "../x"); err == nil {
		t.Error("accepted a name with a slash")
	}
}
