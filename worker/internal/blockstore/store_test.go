package blockstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

func oneTier(t *testing.T, quota int64) Config {
	t.Helper()
	return Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: []DirConfig{{Path: t.TempDir(), Quota: quota}}, HighWatermark: 1, LowWatermark: 1}}}
}

func twoTiers(t *testing.T, q0, q1 int64) Config {
	t.Helper()
	return Config{Tiers: []TierConfig{
		{Alias: "MEM", Dirs: []DirConfig{{Path: t.TempDir(), Quota: q0}}, HighWatermark: 1, LowWatermark: 1},
		{Alias: "SSD", Dirs: []DirConfig{{Path: t.TempDir(), Quota: q1}}, HighWatermark: 1, LowWatermark: 1},
	}}
}

func mustOpen(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func writeBlock(t *testing.T, s *Store, id int64, data []byte, opts CreateOptions) BlockMeta {
	t.Helper()
	tb, err := s.CreateBlock(1, id, opts)
	if err != nil {
		t.Fatalf("CreateBlock %d: %v", id, err)
	}
	if _, err := tb.Write(data); err != nil {
		tb.Abort()
		t.Fatalf("Write %d: %v", id, err)
	}
	m, err := tb.Commit()
	if err != nil {
		t.Fatalf("Commit %d: %v", id, err)
	}
	return m
}

func readAll(t *testing.T, s *Store, id int64) []byte {
	t.Helper()
	r, err := s.Reader(id)
	if err != nil {
		t.Fatalf("Reader %d: %v", id, err)
	}
	defer r.Close()
	buf := make([]byte, r.Length())
	if _, err := r.ReadAt(buf, 0); err != nil && r.Length() > 0 {
		t.Fatalf("ReadAt: %v", err)
	}
	return buf
}

func tierOf(t *testing.T, s *Store, id int64) string {
	t.Helper()
	m, ok := s.Get(id)
	if !ok {
		return ""
	}
	return m.Tier
}

func TestConfigValidate(t *testing.T) {
	d := []DirConfig{{Path: "/x", Quota: 10}}
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: d}}}, true},
		{"no tiers", Config{}, false},
		{"no alias", Config{Tiers: []TierConfig{{Dirs: d}}}, false},
		{"dup alias", Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: d}, {Alias: "MEM", Dirs: d}}}, false},
		{"no dirs", Config{Tiers: []TierConfig{{Alias: "MEM"}}}, false},
		{"zero quota", Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: []DirConfig{{Path: "/x"}}}}}, false},
		{"low above high", Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: d, HighWatermark: 0.5, LowWatermark: 0.6}}}, false},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestWriteCommitRead(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1<<20))
	data := bytes.Repeat([]byte("abc"), 1000)
	tb, err := s.CreateBlock(7, 42, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tb.Write(data[:100])
	if s.Has(42) {
		t.Fatal("block visible before commit")
	}
	tb.Write(data[100:])
	m, err := tb.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if m.Length != int64(len(data)) || m.Tier != "MEM" {
		t.Fatalf("meta = %+v", m)
	}
	if got := readAll(t, s, 42); !bytes.Equal(got, data) {
		t.Fatal("data mismatch")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(m.Path)), "alluxioworker", "42")); err != nil {
		t.Fatalf("committed file not at <dir>/alluxioworker/<id>: %v", err)
	}
	if _, err := s.CreateBlock(1, 42, CreateOptions{}); !errors.Is(err, rpcstatus.ErrAlreadyExists) {
		t.Fatalf("second create = %v, want already exists", err)
	}
	if u := s.Usage()[0]; u.Used != int64(len(data)) || u.Blocks != 1 {
		t.Fatalf("usage = %+v", u)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	cfg := oneTier(t, 1<<20)
	s := mustOpen(t, cfg)
	tb, err := s.CreateBlock(3, 5, CreateOptions{Reserve: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tb.Write([]byte("partial"))
	if err := tb.Abort(); err != nil {
		t.Fatal(err)
	}
	if s.Has(5) {
		t.Fatal("aborted block visible")
	}
	if u := s.Usage()[0]; u.Used != 0 {
		t.Fatalf("used after abort = %d", u.Used)
	}
	ents, _ := os.ReadDir(filepath.Join(cfg.Tiers[0].Dirs[0].Path, tempDirName))
	if len(ents) != 0 {
		t.Fatalf("temp dir not empty after abort: %v", ents)
	}
	// The id can be written again.
	writeBlock(t, s, 5, []byte("x"), CreateOptions{})
}

func TestQuotaEnforced(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1000))
	// Reservation larger than the tier.
	if _, err := s.CreateBlock(1, 1, CreateOptions{Reserve: 1001}); !errors.Is(err, rpcstatus.ErrResourceExhausted) {
		t.Fatalf("oversized reserve = %v", err)
	}
	// Growing past the quota.
	tb, err := s.CreateBlock(1, 2, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Write(make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	_, err = tb.Write(make([]byte, 600))
	if !errors.Is(err, rpcstatus.ErrResourceExhausted) {
		t.Fatalf("write past quota = %v, want resource exhausted", err)
	}
	tb.Abort()
	if s.Has(2) || s.Usage()[0].Used != 0 {
		t.Fatal("partial block left behind")
	}
}

func TestQuotaPinnedAndLockedNotEvicted(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1000))
	writeBlock(t, s, 1, make([]byte, 400), CreateOptions{Pinned: true})
	writeBlock(t, s, 2, make([]byte, 400), CreateOptions{})
	_, lock, err := s.Lock(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := s.CreateBlock(1, 3, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Write(make([]byte, 300)); !errors.Is(err, rpcstatus.ErrResourceExhausted) {
		t.Fatalf("write with only pinned/locked blocks = %v", err)
	}
	tb.Abort()
	s.Unlock(lock)
	// Now block 2 is evictable.
	writeBlock(t, s, 3, make([]byte, 300), CreateOptions{})
	if s.Has(2) || !s.Has(1) || !s.Has(3) {
		t.Fatalf("after eviction: has1=%v has2=%v has3=%v", s.Has(1), s.Has(2), s.Has(3))
	}
	d := s.Delta()
	if len(d.Removed) != 1 || d.Removed[0] != 2 {
		t.Fatalf("delta removed = %v, want [2]", d.Removed)
	}
}

func TestEvictionOrderLRU(t *testing.T) {
	s := mustOpen(t, oneTier(t, 300))
	for id := int64(1); id <= 3; id++ {
		writeBlock(t, s, id, make([]byte, 100), CreateOptions{})
	}
	readAll(t, s, 1) // 2 is now the least recently used
	writeBlock(t, s, 4, make([]byte, 100), CreateOptions{})
	if s.Has(2) {
		t.Fatal("block 2 (LRU) should have been evicted")
	}
	readAll(t, s, 3)
	writeBlock(t, s, 5, make([]byte, 100), CreateOptions{})
	if s.Has(1) || !s.Has(3) || !s.Has(4) || !s.Has(5) {
		t.Fatalf("wrong eviction: 1=%v 3=%v 4=%v 5=%v", s.Has(1), s.Has(3), s.Has(4), s.Has(5))
	}
	if st := s.Stats(); st.Evictions != 2 || st.DroppedBlocks != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestEvictionMovesToNextTier(t *testing.T) {
	s := mustOpen(t, twoTiers(t, 200, 1000))
	writeBlock(t, s, 1, []byte(string(make([]byte, 100))), CreateOptions{})
	data2 := bytes.Repeat([]byte{2}, 100)
	writeBlock(t, s, 2, data2, CreateOptions{})
	s.Ack(s.Delta())
	writeBlock(t, s, 3, make([]byte, 100), CreateOptions{})
	if got := tierOf(t, s, 1); got != "SSD" {
		t.Fatalf("block 1 tier = %q, want SSD", got)
	}
	if tierOf(t, s, 2) != "MEM" || tierOf(t, s, 3) != "MEM" {
		t.Fatal("blocks 2,3 should be in MEM")
	}
	d := s.Delta()
	if len(d.Added["SSD"]) != 1 || d.Added["SSD"][0] != 1 || len(d.Added["MEM"]) != 1 {
		t.Fatalf("delta = %+v", d)
	}
	// Promote back.
	if err := s.Promote(1); err != nil {
		t.Fatal(err)
	}
	if tierOf(t, s, 1) != "MEM" {
		t.Fatal("promote did not move block to MEM")
	}
	if got := readAll(t, s, 2); !bytes.Equal(got, data2) {
		t.Fatal("data changed")
	}
	u := s.Usage()
	if u[0].Used != 200 || u[1].Used != 100 {
		t.Fatalf("usage = %+v", u)
	}
}

func TestWatermarks(t *testing.T) {
	cfg := Config{Tiers: []TierConfig{{Alias: "MEM", Dirs: []DirConfig{{Path: t.TempDir(), Quota: 1000}}, HighWatermark: 0.8, LowWatermark: 0.5}}}
	s := mustOpen(t, cfg)
	for id := int64(1); id <= 8; id++ {
		writeBlock(t, s, id, make([]byte, 100), CreateOptions{})
	}
	if u := s.Usage()[0]; u.Used != 800 {
		t.Fatalf("at high watermark used = %d, want 800 (no eviction yet)", u.Used)
	}
	writeBlock(t, s, 9, make([]byte, 100), CreateOptions{}) // 900 > 800: evict to <= 500
	u := s.Usage()[0]
	if u.Used != 500 {
		t.Fatalf("after watermark eviction used = %d, want 500", u.Used)
	}
	for id := int64(1); id <= 4; id++ {
		if s.Has(id) {
			t.Fatalf("block %d should be evicted (LRU)", id)
		}
	}
	if !s.Has(9) {
		t.Fatal("the new block must survive")
	}
}

func TestLockPreventsEvictionAndDefersRemove(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1000))
	writeBlock(t, s, 1, []byte("hello"), CreateOptions{})
	r, err := s.Reader(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(1); err != nil {
		t.Fatal(err)
	}
	if s.Has(1) {
		t.Fatal("removed block still visible")
	}
	buf := make([]byte, 5)
	if _, err := r.ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("read under lock = %q %v", buf, err)
	}
	if _, err := os.Stat(r.Meta().Path); err != nil {
		t.Fatal("file removed while locked")
	}
	if _, err := s.CreateBlock(1, 1, CreateOptions{}); !errors.Is(err, rpcstatus.ErrAlreadyExists) {
		t.Fatalf("recreate while removal is pending = %v", err)
	}
	r.Close()
	if _, err := os.Stat(r.Meta().Path); !os.IsNotExist(err) {
		t.Fatalf("file not removed after unlock: %v", err)
	}
	if err := s.Remove(1); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("remove absent = %v", err)
	}
	writeBlock(t, s, 1, []byte("again"), CreateOptions{})
}

func TestLockLease(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1000))
	writeBlock(t, s, 1, []byte("x"), CreateOptions{})
	m, lock, err := s.Lock(1, time.Minute)
	if err != nil || m.Path == "" {
		t.Fatal(err)
	}
	if n := s.ExpireLocks(time.Now()); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	if n := s.ExpireLocks(time.Now().Add(2 * time.Minute)); n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	if err := s.Unlock(lock); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("unlock after expiry = %v", err)
	}
	if err := s.Remove(1); err != nil || s.Has(1) {
		t.Fatal("block should be removable after lease expiry")
	}
}

func TestRecovery(t *testing.T) {
	cfg := twoTiers(t, 1000, 1000)
	s := mustOpen(t, cfg)
	writeBlock(t, s, 10, []byte("mem block"), CreateOptions{})
	writeBlock(t, s, 11, []byte("ssd block!"), CreateOptions{Tier: "SSD"})
	tb, _ := s.CreateBlock(99, 12, CreateOptions{})
	tb.Write([]byte("never committed"))
	// "Crash": open a new store on the same dirs without closing.
	// Also leave a stray file.
	os.WriteFile(filepath.Join(cfg.Tiers[0].Dirs[0].Path, committedDirName, "junk"), []byte("x"), 0o644)
	s2 := mustOpen(t, cfg)
	if got := readAll(t, s2, 10); string(got) != "mem block" {
		t.Fatalf("block 10 = %q", got)
	}
	if tierOf(t, s2, 11) != "SSD" || tierOf(t, s2, 10) != "MEM" {
		t.Fatal("tiers not recovered")
	}
	if s2.Has(12) {
		t.Fatal("temp block recovered as committed")
	}
	if _, err := os.Stat(filepath.Join(cfg.Tiers[0].Dirs[0].Path, tempDirName, "99")); !os.IsNotExist(err) {
		t.Fatalf("temp blocks not swept: %v", err)
	}
	r := s2.FullReport()
	if len(r.Blocks["MEM"]) != 1 || len(r.Blocks["SSD"]) != 1 || r.Lengths[11] != 10 {
		t.Fatalf("report = %+v", r)
	}
	if r.Tiers[0].Used != 9 || r.Tiers[1].Used != 10 {
		t.Fatalf("usage = %+v", r.Tiers)
	}
}

func TestFormat(t *testing.T) {
	cfg := oneTier(t, 1000)
	s := mustOpen(t, cfg)
	writeBlock(t, s, 1, []byte("x"), CreateOptions{})
	if err := Format(cfg); err != nil {
		t.Fatal(err)
	}
	if mustOpen(t, cfg).BlockCount() != 0 {
		t.Fatal("format left blocks")
	}
}

func TestDeltaAck(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1000))
	writeBlock(t, s, 1, []byte("a"), CreateOptions{})
	writeBlock(t, s, 2, []byte("b"), CreateOptions{})
	d := s.Delta()
	if len(d.Added["MEM"]) != 2 {
		t.Fatalf("delta = %+v", d)
	}
	s.Remove(2) // changes again after the snapshot
	s.Ack(d)
	d2 := s.Delta()
	if len(d2.Added["MEM"]) != 0 || len(d2.Removed) != 1 || d2.Removed[0] != 2 {
		t.Fatalf("after ack delta = %+v", d2)
	}
	r := s.FullReport()
	s.AckReport(r)
	if d3 := s.Delta(); len(d3.Removed)+len(d3.Added) != 0 {
		t.Fatalf("after report ack delta = %+v", d3)
	}
}

func TestFallbackToLowerTier(t *testing.T) {
	s := mustOpen(t, twoTiers(t, 100, 1000))
	writeBlock(t, s, 1, make([]byte, 100), CreateOptions{Pinned: true})
	m := writeBlock(t, s, 2, make([]byte, 50), CreateOptions{Reserve: 50})
	if m.Tier != "SSD" {
		t.Fatalf("tier = %s, want SSD (MEM full of pinned data)", m.Tier)
	}
	if _, err := s.CreateBlock(1, 3, CreateOptions{Tier: "NVME"}); !errors.Is(err, rpcstatus.ErrInvalidArgument) {
		t.Fatalf("unknown tier = %v", err)
	}
}

func TestMultipleDirs(t *testing.T) {
	cfg := Config{Tiers: []TierConfig{{Alias: "HDD", Dirs: []DirConfig{{Path: t.TempDir(), Quota: 100}, {Path: t.TempDir(), Quota: 100}}, HighWatermark: 1, LowWatermark: 1}}}
	s := mustOpen(t, cfg)
	for id := int64(1); id <= 2; id++ {
		writeBlock(t, s, id, make([]byte, 80), CreateOptions{Reserve: 80})
	}
	m1, _ := s.Get(1)
	m2, _ := s.Get(2)
	if filepath.Dir(m1.Path) == filepath.Dir(m2.Path) {
		t.Fatal("blocks should be spread over both dirs")
	}
	if u := s.Usage()[0]; u.Capacity != 200 || u.Used != 160 {
		t.Fatalf("usage = %+v", u)
	}
	_ = strconv.Itoa
}

func TestDiskErrMapsENOSPC(t *testing.T) {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}} {
		if !errors.Is(diskErr(e), rpcstatus.ErrResourceExhausted) {
			t.Errorf("diskErr(%v) does not wrap ErrResourceExhausted", e)
		}
	}
	if errors.Is(diskErr(syscall.EIO), rpcstatus.ErrResourceExhausted) {
		t.Error("EIO mapped to resource exhausted")
	}
}

func TestMoveRacesWithLockAndRemove(t *testing.T) {
	s := mustOpen(t, twoTiers(t, 1000, 1000))
	writeBlock(t, s, 1, []byte("one"), CreateOptions{Tier: "SSD"})
	writeBlock(t, s, 2, []byte("two"), CreateOptions{Tier: "SSD"})
	var lockID int64
	s.hookMoveCopied = func(id int64) {
		switch id {
		case 1: // a short-circuit reader arrives during the copy
			_, lockID, _ = s.Lock(1, 0)
		case 2: // the master frees the block during the copy
			s.Remove(2)
		}
	}
	if err := s.Promote(1); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
		t.Fatalf("promote of a block locked mid-move = %v", err)
	}
	if m, _ := s.Get(1); m.Tier != "SSD" {
		t.Fatal("block moved under a lock")
	}
	if got := readAll(t, s, 1); string(got) != "one" {
		t.Fatalf("block 1 = %q", got)
	}
	s.Unlock(lockID)
	if err := s.Promote(2); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("promote of a block removed mid-move = %v", err)
	}
	if s.Has(2) {
		t.Fatal("removed block still present")
	}
	s.hookMoveCopied = nil
	if err := s.Promote(1); err != nil || tierOf(t, s, 1) != "MEM" {
		t.Fatalf("promote = %v", err)
	}
	u := s.Usage()
	if u[0].Used != 3 || u[1].Used != 0 {
		t.Fatalf("usage = %+v", u)
	}
	for _, d := range []string{s.tiers[0].dirs[0].path, s.tiers[1].dirs[0].path} {
		ents, _ := os.ReadDir(filepath.Join(d, tempDirName, moveDirName))
		if len(ents) != 0 {
			t.Fatalf("move leftovers in %s: %v", d, ents)
		}
	}
}

func TestWriteBuffers(t *testing.T) {
	s := mustOpen(t, oneTier(t, 1<<20))
	tb, err := s.CreateBlock(7, 43, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	var bufs [][]byte
	for i := range 1500 { // more than IOV_MAX pieces, some empty
		b := bytes.Repeat([]byte{byte(i)}, i%7)
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	if n, err := tb.WriteBuffers(bufs); err != nil || n != len(want) {
		t.Fatalf("WriteBuffers = %d, %v; want %d", n, err, len(want))
	}
	if _, err := tb.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "tail"...)
	if _, err := tb.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 43); !bytes.Equal(got, want) {
		t.Fatal("data mismatch")
	}
}
