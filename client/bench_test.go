package client

import (
	"context"
	"io"
	"testing"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
)

// BenchmarkWriteRead measures a 32MB MUST_CACHE write and read through the
// fake cluster (loopback gRPC, 1MB chunks, 8MB blocks).
func BenchmarkWriteRead(b *testing.B) {
	for _, sc := range []string{"true", "false"} {
		b.Run("shortCircuit="+sc, func(b *testing.B) {
			c := startCluster(b, fakecluster.Options{WorkerCapacity: 8 << 30})
			f := newFS(b, c, map[string]string{
				"alluxio.user.block.size.bytes.default":        "8MB",
				"alluxio.user.network.reader.chunk.size.bytes": "1MB",
				"alluxio.user.short.circuit.enabled":           sc,
			})
			data := randomBytes(32<<20, 1)
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w, err := f.CreateFile(ctx, "/bench", MustCache, Overwrite())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				r, err := f.OpenFile(ctx, "/bench")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(data)) {
					b.Fatal(n, err)
				}
				r.Close()
			}
		})
	}
}
