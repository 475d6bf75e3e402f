package server

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// BenchmarkCreateFileParallel measures journaled creates over gRPC from many
// clients; group commit lets them share fsyncs.
func BenchmarkCreateFileParallel(b *testing.B) {
	e := newEnvB(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := b.Context()
		for pb.Next() {
			i := n.Add(1)
			if _, err := e.fs.CreateFile(c, &alluxiopb.CreateFileRequest{Path: fmt.Sprintf("/b/%d/f%d", i%64, i), Recursive: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
