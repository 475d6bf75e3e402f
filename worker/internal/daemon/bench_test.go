package daemon

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// BenchmarkBlockWriteRead streams 64MB blocks in 1MB chunks into a worker
// over loopback gRPC and reads them back (tier on /dev/shm when present).
func BenchmarkBlockWriteRead(b *testing.B) {
	m := startFakeMaster(b, "")
	props := workerProps(b, m.addr)
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "worker-bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		props["alluxio.worker.tieredstore.level0.dirs.path"] = dir
	}
	props["alluxio.worker.tieredstore.level0.dirs.quota"] = "512MB"
	w := startWorker(b, props)
	const size = 64 << 20
	data := randBytes(size)
	b.Run("write", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			if _, err := writeBlock(b, w.client, int64(1000+i), data, 1<<20); err != nil {
				b.Fatal(err)
			}
			w.Store.Remove(int64(1000 + i))
		}
	})
	if _, err := writeBlock(b, w.client, 1, data, 1<<20); err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			stream, err := w.client.ReadBlock(context.Background(), &alluxiopb.ReadBlockRequest{BlockId: 1})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				resp, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n += len(resp.GetChunk())
			}
			if n != size {
				b.Fatalf("read %d bytes", n)
			}
		}
	})
}
