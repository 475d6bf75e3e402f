package server

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// cpuNow is the CPU time (user + system) of this process.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU seconds per GiB moved (both ends, one process).
func reportCPU(b *testing.B, cpu0 time.Duration, bytes int64) {
	b.ReportMetric((cpuNow()-cpu0).Seconds()/(float64(bytes)/(1<<30)), "cpu-s/GiB")
}

// BenchmarkDataServer moves 64 MiB blocks through the data server over
// loopback TCP in 1 MiB application reads and writes, next to raw loopback
// TCP ("tcp", the issue 5 baseline), reporting throughput and CPU-s/GiB of
// both ends:
//
//	go test ./internal/server -run '^$' -bench DataServer -cpuprofile cpu.prof
func BenchmarkDataServer(b *testing.B) {
	const blockSize, chunk = 64 << 20, 1 << 20
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	dir, err := os.MkdirTemp(dir, "alluxio-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	store, err := blockstore.Open(blockstore.Config{Tiers: []blockstore.TierConfig{{
		Alias: "MEM", Dirs: []blockstore.DirConfig{{Path: dir, Quota: 4 * blockSize}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	svc := New(Config{Store: store})
	ds := NewDataServer(svc, DataConfig{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go ds.Serve(l)
	b.Cleanup(func() { ds.Shutdown(b.Context()); svc.Close() })
	data := make([]byte, chunk)
	dial := func(b *testing.B) net.Conn {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	write := func(b *testing.B, c net.Conn, id int64) {
		if _, err := c.Write(request(DataOpWrite, &alluxiopb.WriteBlockHeader{BlockId: id, SpaceToReserve: blockSize})); err != nil {
			b.Fatal(err)
		}
		var pre [4]byte
		binary.BigEndian.PutUint32(pre[:], chunk)
		for n := 0; n < blockSize; n += chunk {
			bufs := net.Buffers{pre[:], data}
			if _, err := bufs.WriteTo(c); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := c.Write(frameLen(0)); err != nil {
			b.Fatal(err)
		}
		if h, err := response(c); err != nil || h.GetCode() != 0 {
			b.Fatal(h, err)
		}
	}
	b.Run("write", func(b *testing.B) {
		b.SetBytes(blockSize)
		c := dial(b)
		defer c.Close()
		cpu0 := cpuNow()
		for i := 0; b.Loop(); i++ {
			id := int64(1000 + i)
			write(b, c, id)
			b.StopTimer()
			store.Remove(id)
			b.StartTimer()
		}
		reportCPU(b, cpu0, int64(b.N)*blockSize)
	})
	b.Run("read", func(b *testing.B) {
		c := dial(b)
		defer c.Close()
		write(b, c, 1)
		b.SetBytes(blockSize)
		cpu0 := cpuNow()
		for b.Loop() {
			if _, err := c.Write(request(DataOpRead, &alluxiopb.ReadBlockRequest{BlockId: 1})); err != nil {
				b.Fatal(err)
			}
			h, err := response(c)
			if err != nil || h.GetCode() != 0 {
				b.Fatal(h, err)
			}
			if _, err := io.CopyBuffer(io.Discard, io.LimitReader(struct{ io.Reader }{c}, h.GetLength()), data); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0, int64(b.N)*blockSize)
	})
	b.Run("tcp", func(b *testing.B) {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer tl.Close()
		go func() {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, chunk)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		c, err := net.Dial("tcp", tl.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(blockSize)
		cpu0 := cpuNow()
		for b.Loop() {
			for n := 0; n < blockSize; n += chunk {
				if _, err := c.Write(data); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpu0, int64(b.N)*blockSize)
	})
}
