package ufs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/common/ufs/ufstest"
)

func TestLocalConformance(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) (ufs.UnderFileSystem, string) {
		return ufs.NewLocal(), filepath.Join(t.TempDir(), "root")
	})
}

func TestLocalFileURIConformance(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) (ufs.UnderFileSystem, string) {
		return ufs.NewLocal(), "file://" + t.TempDir()
	})
}

func TestRegistry(t *testing.T) {
	r := ufs.NewRegistry()
	ctx := context.Background()
	for _, uri := range []string{t.TempDir(), "file://" + t.TempDir()} {
		u, err := r.Open(ctx, uri, nil)
		if err != nil {
			t.Fatalf("Open(%s): %v", uri, err)
		}
		if _, err := u.List(ctx, uri); err != nil {
			t.Errorf("List(%s): %v", uri, err)
		}
	}
	if _, err := r.Open(ctx, "s3://bucket/x", nil); err == nil {
		t.Error("s3 opened without a backend")
	}
}

func TestLocalDetails(t *testing.T) {
	ctx := context.Background()
	u := ufs.NewLocal()
	dir := t.TempDir()
	if _, err := u.List(ctx, "relative/path"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative path: %v", err)
	}
	if _, err := u.List(ctx, "file://otherhost/x"); err == nil {
		t.Error("remote file URI accepted")
	}
	// Create without CreateParent needs the parent.
	_, err := u.Create(ctx, filepath.Join(dir, "no/f"), ufs.CreateOptions{})
	if !errors.Is(err, ufs.ErrNotFound) {
		t.Errorf("Create in missing dir: %v", err)
	}
	// Mode and no temp files left behind.
	w, err := u.Create(ctx, filepath.Join(dir, "f"), ufs.CreateOptions{Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	st, err := u.GetStatus(ctx, filepath.Join(dir, "f"))
	if err != nil || st.Mode != 0o600 || st.Owner == "" {
		t.Errorf("status %+v, %v", st, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries, want 1 (no temp files)", len(ents))
	}
	// Non-empty directory delete wraps ErrDirectoryNotEmpty.
	if err := u.Delete(ctx, "/", false); err == nil {
		t.Error("deleted /")
	}
	if err := u.Delete(ctx, filepath.Dir(dir), false); !errors.Is(err, rpcstatus.ErrDirectoryNotEmpty) {
		t.Errorf("Delete(non-empty) = %v", err)
	}
	if _, err := u.Open(ctx, dir, 0); err == nil {
		t.Error("opened a directory")
	}
	if _, err := u.Open(ctx, filepath.Join(dir, "f"), -1); err == nil {
		t.Error("negative offset accepted")
	}
	// A file that appears between Create and Close is not overwritten.
	w, err = u.Create(ctx, filepath.Join(dir, "race"), ufs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "race"), []byte("other"), 0o644)
	w.Write([]byte("mine"))
	if err := w.Close(); !errors.Is(err, ufs.ErrExists) {
		t.Errorf("Close over a new file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "race")); string(b) != "other" {
		t.Errorf("race file = %q", b)
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("dir holds %d entries, want 2", len(ents))
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := u.GetStatus(ctx2, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
}
