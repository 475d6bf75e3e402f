package journal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/journal/storagetest"
)

func TestLocalStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) journal.Storage {
		s, err := journal.NewLocalStorage(filepath.Join(t.TempDir(), "journal"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.Options{})
}

// TestMemStorage runs the suite on the in-memory test Storage, which the
// journal tests use for HDFS-like semantics (visibility on Sync, Recover
// fences the writer).
func TestMemStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) journal.Storage { return journal.NewMemStorage() },
		storagetest.Options{RecoverFences: true, NoEscape: true})
}

func TestLocalStorageRefusesEscapes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := journal.NewLocalStorage(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdirs(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "../outside"); err == nil {
		t.Fatal("created a file outside the folder")
	}
	if err := s.Delete(ctx, "a/../.."); err == nil {
		t.Fatal("deleted outside the folder")
	}
	if err := s.Delete(ctx, ""); err == nil {
		t.Fatal("deleted the folder itself")
	}
	if _, err := os.Stat(filepath.Join(dir, "journal")); err != nil {
		t.Fatalf("folder gone: %v", err)
	}
	if _, err := journal.NewLocalStorage(""); err == nil {
		t.Fatal("empty folder accepted")
	}
	if _, err := journal.NewLocalStorage("hdfs://nn:8020/j"); err == nil {
		t.Fatal("hdfs folder accepted as local")
	}
	fs, err := journal.NewLocalStorage("file://" + dir)
	if err != nil || fs.URI() != dir {
		t.Fatalf("file URI: %v %v", fs, err)
	}
}
