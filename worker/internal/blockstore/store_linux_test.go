package blockstore

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// TestDiskFullIsResourceExhausted writes to a tier whose quota exceeds the
// real disk (a 1MB tmpfs). It needs root to mount and skips otherwise.
func TestDiskFullIsResourceExhausted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	s := mustOpen(t, Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: []DirConfig{{Path: dir, Quota: 100 << 20}}, HighWatermark: 1, LowWatermark: 1}}})
	tb, err := s.CreateBlock(1, 1, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 4 && werr == nil; i++ {
		_, werr = tb.Write(make([]byte, 512<<10))
	}
	if !errors.Is(werr, rpcstatus.ErrResourceExhausted) || !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write to a full disk = %v, want resource exhausted (ENOSPC)", werr)
	}
	tb.Abort()
	if s.Has(1) || s.Usage()[0].Used != 0 {
		t.Fatal("partial block left after ENOSPC")
	}
	// The space is back: a small block fits.
	writeBlock(t, s, 2, make([]byte, 100<<10), CreateOptions{})
}
