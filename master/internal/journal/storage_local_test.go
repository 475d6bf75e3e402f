package journal_test

import (
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
		storagetest.Options{RecoverFences: true})
}
