package client

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/retry"
)

const (
	testBlock = 64 << 10
	testChunk = 16 << 10
)

func startCluster(t testing.TB, opts fakecluster.Options) *fakecluster.Cluster {
	t.Helper()
	c, err := fakecluster.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newFS connects to c with 64KB blocks, 16KB chunks and fast retries.
func newFS(t testing.TB, c *fakecluster.Cluster, kv map[string]string, opts ...Option) *FileSystem {
	t.Helper()
	m := map[string]string{
		"alluxio.user.block.size.bytes.default":        "64KB",
		"alluxio.user.network.reader.chunk.size.bytes": "16KB",
	}
	for k, v := range kv {
		m[k] = v
	}
	cfg, err := conf.FromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{
		WithMasterAddress(c.Addr()),
		WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 10 * time.Millisecond, MaxDuration: 3 * time.Second}),
	}, opts...)
	f, err := NewFromConfig(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t *testing.T, f *FileSystem, path string, data []byte, opts ...CreateOption) {
	t.Helper()
	w, err := f.CreateFile(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	// Odd-sized writes exercise chunk and block boundaries.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 10007)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

func readFile(t *testing.T, f *FileSystem, path string, opts ...OpenOption) []byte {
	t.Helper()
	r, err := f.OpenFile(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d (contents differ)", what, len(got), len(want))
	}
}

// poll waits for cond, failing the test after a few seconds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var fsErrNotExist = fs.ErrNotExist
