package blockstore

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// content is the deterministic data of block id.
func content(id int64) []byte {
	n := 1000 + int(id%7)*700
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(id*31 + int64(i))
	}
	return b
}

// TestConcurrentStress runs writers, readers, removers and promoters against
// a small two-tier store under constant eviction, then checks that every
// readable block has its data and that the space accounting matches the files.
func TestConcurrentStress(t *testing.T) {
	cfg := Config{Tiers: []TierConfig{
		{Alias: "MEM", Dirs: []DirConfig{{Path: t.TempDir(), Quota: 20000}}, HighWatermark: 0.9, LowWatermark: 0.6},
		{Alias: "SSD", Dirs: []DirConfig{{Path: t.TempDir(), Quota: 15000}, {Path: t.TempDir(), Quota: 15000}}, HighWatermark: 0.95, LowWatermark: 0.7},
	}}
	s := mustOpen(t, cfg)
	const ids = 60
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 400 {
				id := r.Int64N(ids)
				switch r.IntN(6) {
				case 0, 1: // write
					tb, err := s.CreateBlock(int64(g), id, CreateOptions{Reserve: int64(r.IntN(2000))})
					if err != nil {
						if !errors.Is(err, rpcstatus.ErrAlreadyExists) && !errors.Is(err, rpcstatus.ErrResourceExhausted) {
							fail(err)
						}
						continue
					}
					data := content(id)
					ok := true
					for off := 0; off < len(data); off += 500 {
						if _, err := tb.Write(data[off:min(off+500, len(data))]); err != nil {
							if !errors.Is(err, rpcstatus.ErrResourceExhausted) {
								fail(err)
							}
							ok = false
							break
						}
					}
					if !ok || r.IntN(10) == 0 {
						tb.Abort()
						continue
					}
					if _, err := tb.Commit(); err != nil {
						fail(err)
						tb.Abort()
					}
				case 2, 3: // read
					rd, err := s.Reader(id)
					if err != nil {
						continue
					}
					buf := make([]byte, rd.Length())
					if _, err := rd.ReadAt(buf, 0); err != nil {
						fail(err)
					} else if !bytes.Equal(buf, content(id)) {
						fail(errors.New("data mismatch"))
					}
					rd.Close()
				case 4:
					_ = s.Remove(id)
				case 5:
					_ = s.Promote(id)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// Accounting matches the files, nothing is left in temp dirs.
	var files int64
	for _, tc := range cfg.Tiers {
		for _, d := range tc.Dirs {
			ents, _ := os.ReadDir(filepath.Join(d.Path, committedDirName))
			for _, e := range ents {
				info, _ := e.Info()
				files += info.Size()
			}
			filepath.Walk(filepath.Join(d.Path, tempDirName), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					t.Errorf("temp file left: %s", p)
				}
				return nil
			})
		}
	}
	var used int64
	for _, u := range s.Usage() {
		used += u.Used
		if u.Used > u.Capacity {
			t.Errorf("tier %s over capacity: %+v", u.Alias, u)
		}
	}
	if used != files {
		t.Fatalf("accounted %d bytes, files hold %d", used, files)
	}
	for id := int64(0); id < ids; id++ {
		if s.Has(id) && !bytes.Equal(readAll(t, s, id), content(id)) {
			t.Fatalf("block %d corrupted", id)
		}
	}
	// A reopened store agrees.
	s2 := mustOpen(t, cfg)
	if s2.BlockCount() != s.BlockCount() {
		t.Fatalf("recovered %d blocks, had %d", s2.BlockCount(), s.BlockCount())
	}
}
