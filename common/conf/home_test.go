package conf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHomeOfExecutable(t *testing.T) {
	home := t.TempDir()
	bin := filepath.Join(home, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "alluxio")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := homeOf(exe); ok {
		t.Fatal("a bin directory without alluxio-start.sh is not an Alluxio home")
	}
	if err := os.WriteFile(filepath.Join(bin, "alluxio-start.sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	got, ok := homeOf(exe)
	want, _ := filepath.EvalSymlinks(home)
	if !ok || got != want {
		t.Fatalf("homeOf(%s) = %q, %v; want %q", exe, got, ok, want)
	}
	if _, ok := homeOf(filepath.Join(home, "other", "alluxio")); ok {
		t.Fatal("an executable outside bin/ has no home")
	}
}
