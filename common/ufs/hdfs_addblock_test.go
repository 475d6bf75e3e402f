package ufs

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/hdfstest"
)

// TestIntegrationHDFSAddBlockRetry: with 1MB blocks and a DataNode that
// reports new blocks only every 1.5s, a file of several blocks written in
// one go meets NotReplicatedYetException when adding its third block. With
// no retry (addBlockRetries = 0) the write fails with it, which shows the
// case happens here; with the retries, the same writes (the journal's
// HDFSFileWriter and the UFS's writer) succeed and read back intact.
func TestIntegrationHDFSAddBlockRetry(t *testing.T) {
	c := hdfstest.Start(t, hdfstest.WithConf("dfs.blocksize", "1048576"),
		hdfstest.WithConf("dfs.blockreport.incremental.intervalMsec", "1500"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := DialHDFS(ctx, c.URI, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	data := make([]byte, 5<<20+777)
	for i := range data {
		data[i] = byte(i*13 + i/1000)
	}
	readBack := func(t *testing.T, p string) {
		t.Helper()
		r, err := cl.Open(ctx, p, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %s back: %d bytes (want %d), %v", p, len(got), len(data), err)
		}
	}

	t.Run("WithoutRetryFails", func(t *testing.T) {
		saved := addBlockRetries
		addBlockRetries = 0
		defer func() { addBlockRetries = saved }()
		w, err := cl.Create(ctx, "/noretry", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Write(data)
		// Not closed: the file's last block is gone from the broken
		// writer, so complete would wait out closeRetryTimeout.
		if err == nil || !strings.Contains(err.Error(), "NotReplicatedYetException") {
			t.Fatalf("write of %d bytes without addBlock retries: err = %v, want NotReplicatedYetException", len(data), err)
		}
		t.Logf("without retries: %v", err)
	})

	t.Run("JournalWriter", func(t *testing.T) {
		start := time.Now()
		w, err := cl.Create(ctx, "/journal-log", 0)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := w.Write(data); err != nil || n != len(data) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		t.Logf("%d bytes (6 blocks) written and closed in %v", len(data), time.Since(start))
		readBack(t, "/journal-log")
		// In small writes too, each crossing a block boundary now and then.
		w, err = cl.Create(ctx, "/journal-small", 0)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 64 << 10 {
			if _, err := w.Write(data[off:min(off+64<<10, len(data))]); err != nil {
				t.Fatalf("Write at %d: %v", off, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		readBack(t, "/journal-small")
	})

	t.Run("UFSWriter", func(t *testing.T) {
		u, err := NewRegistry().Open(ctx, c.URI+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		out, err := u.Create(ctx, c.URI+"/ufs-file", CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := out.Write(data); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := out.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		readBack(t, "/ufs-file")
	})
}
