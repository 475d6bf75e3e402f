package blockstore

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"
)

// spareOf returns the state of the first directory's spare: its size and
// whether it is ready (size 0: none).
func spareOf(s *Store) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.tiers[0].dirs[0].spare
	if sp == nil {
		return 0, false
	}
	return sp.size, sp.ready
}

// awaitSpare waits for the first directory's spare to be ready; it skips
// the test when the file system cannot allocate ahead.
func awaitSpare(t *testing.T, s *Store, size int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.spareWG.Wait()
		n, ready := spareOf(s)
		if ready && n == size {
			return
		}
		s.mu.Lock()
		no := s.tiers[0].dirs[0].noSpare
		s.mu.Unlock()
		if no {
			t.Skip("the test directory's file system cannot fallocate")
		}
		if !s.tiers[0].dirs[0].tmpfs {
			t.Fatal("tier directory not seen as tmpfs")
		}
		if time.Now().After(deadline) {
			t.Fatalf("spare = %d bytes (ready %v), want %d ready", n, ready, size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tmpfsTier is a one-directory tier on tmpfs (/dev/shm), where spares are
// made; it skips the test without one.
func tmpfsTier(t *testing.T, quota int64) Config {
	t.Helper()
	if !onTmpfs("/dev/shm") {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "blockstore-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: []DirConfig{{Path: dir, Quota: quota}}, HighWatermark: 1, LowWatermark: 1}}}
}

func TestSpareBlockFiles(t *testing.T) {
	const mib = 1 << 20
	s := mustOpen(t, tmpfsTier(t, 64*mib))
	t.Cleanup(s.spareWG.Wait)
	opts := CreateOptions{Reserve: 8 * mib}

	// The first block of 8 MiB leaves a spare of 8 MiB behind, reserved.
	data1 := bytes.Repeat([]byte{1, 2, 3}, 8*mib/3)
	writeBlock(t, s, 1, data1, opts)
	awaitSpare(t, s, 8*mib)
	if u := s.Usage()[0]; u.Used != int64(len(data1))+8*mib {
		t.Fatalf("used = %d, want the block plus the spare %d", u.Used, int64(len(data1))+8*mib)
	}

	// The next block of that size takes it, and a short one gives back
	// what it did not fill.
	tb, err := s.CreateBlock(1, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if tb.prealloc != 8*mib {
		t.Fatalf("block 2 did not take the spare (prealloc %d)", tb.prealloc)
	}
	data2 := bytes.Repeat([]byte{9, 8, 7, 6, 5}, (5*mib+3)/5)
	if _, err := tb.Write(data2); err != nil {
		t.Fatal(err)
	}
	m, err := tb.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 2); !bytes.Equal(got, data2) {
		t.Fatalf("block 2 reads back %d bytes, not what was written", len(got))
	}
	var st syscall.Stat_t
	if err := syscall.Stat(m.Path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(len(data2)) || st.Blocks*512 > int64(len(data2))+64<<10 {
		t.Fatalf("block 2 file: size %d, %d bytes allocated; want %d and no more than its pages", st.Size, st.Blocks*512, len(data2))
	}
	awaitSpare(t, s, 8*mib)

	// A block that needs the spare's room gets it; nothing is evicted.
	big := int64(64*mib) - int64(len(data1)) - int64(len(data2))
	tb, err = s.CreateBlock(1, 3, CreateOptions{Reserve: big})
	if err != nil {
		t.Fatalf("a block fitting once the spare is dropped: %v", err)
	}
	if n, _ := spareOf(s); n != 0 {
		t.Fatalf("spare of %d bytes kept though its room was needed", n)
	}
	if !s.Has(1) || !s.Has(2) || s.Stats().Evictions != 0 {
		t.Fatal("a block was evicted while a spare held room")
	}
	tb.Abort()
	if u := s.Usage()[0]; u.Used != int64(len(data1)+len(data2)) {
		t.Fatalf("used after abort = %d, want %d", u.Used, len(data1)+len(data2))
	}

	// A spare taken by a block that is aborted leaves no file behind.
	writeBlock(t, s, 4, make([]byte, 1), opts)
	awaitSpare(t, s, 8*mib)
	tb, err = s.CreateBlock(1, 5, opts)
	if err != nil || tb.prealloc == 0 {
		t.Fatalf("block 5: %v (prealloc %d)", err, tb.prealloc)
	}
	path := tb.path
	tb.Abort()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("aborted block file: %v", err)
	}
	s.spareWG.Wait()
	if n, _ := spareOf(s); s.Usage()[0].Used != int64(len(data1)+len(data2)+1)+n {
		t.Fatalf("used %d, want blocks %d plus spare %d", s.Usage()[0].Used, len(data1)+len(data2)+1, n)
	}
}

// TestSpareReplacedForOtherSize: a ready spare that does not suit the
// blocks being written is replaced by one that does.
func TestSpareReplacedForOtherSize(t *testing.T) {
	const mib = 1 << 20
	s := mustOpen(t, tmpfsTier(t, 128*mib))
	t.Cleanup(s.spareWG.Wait)
	writeBlock(t, s, 1, make([]byte, 10), CreateOptions{Reserve: 4 * mib})
	awaitSpare(t, s, 4*mib)
	writeBlock(t, s, 2, make([]byte, 10), CreateOptions{Reserve: 16 * mib})
	awaitSpare(t, s, 16*mib)
	if u := s.Usage()[0]; u.Used != 20+16*mib {
		t.Fatalf("used = %d, want two small blocks and one 16 MiB spare", u.Used)
	}
}

// TestNoSpareOffTmpfs: directories on other file systems get no spares.
func TestNoSpareOffTmpfs(t *testing.T) {
	cfg := oneTier(t, 64<<20)
	if onTmpfs(cfg.Tiers[0].Dirs[0].Path) {
		t.Skip("the test directory is on tmpfs")
	}
	s := mustOpen(t, cfg)
	writeBlock(t, s, 1, make([]byte, 10), CreateOptions{Reserve: 8 << 20})
	s.spareWG.Wait()
	if n, _ := spareOf(s); n != 0 || s.Usage()[0].Used != 10 {
		t.Fatalf("spare of %d bytes off tmpfs (used %d)", n, s.Usage()[0].Used)
	}
}

// TestNoSpareAboveHighWatermark: a spare that would take the tier past its
// high watermark is not made (the next commit would only drop it).
func TestNoSpareAboveHighWatermark(t *testing.T) {
	const mib = 1 << 20
	cfg := tmpfsTier(t, 40*mib)
	cfg.Tiers[0].HighWatermark, cfg.Tiers[0].LowWatermark = 0.5, 0.4
	s := mustOpen(t, cfg)
	t.Cleanup(s.spareWG.Wait)
	writeBlock(t, s, 1, make([]byte, 10), CreateOptions{Reserve: 8 * mib})
	awaitSpare(t, s, 8*mib) // 8 MiB + 10 bytes of 40: under 20
	tb, err := s.CreateBlock(1, 2, CreateOptions{Reserve: 12 * mib})
	if err != nil {
		t.Fatal(err)
	}
	s.spareWG.Wait()
	if n, _ := spareOf(s); n != 0 {
		t.Fatalf("spare of %d bytes made past the high watermark", n)
	}
	if _, err := tb.Write(make([]byte, 12*mib)); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Commit(); err != nil {
		t.Fatal(err)
	}
	if !s.Has(1) || !s.Has(2) {
		t.Fatal("a block was evicted")
	}
}
