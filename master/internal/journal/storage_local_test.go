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
