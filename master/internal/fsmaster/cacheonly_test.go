package fsmaster

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// statCountingUFS is a local UFS that counts GetStatus calls.
type statCountingUFS struct {
	ufs.UnderFileSystem
	stats *atomic.Int64
}

func (u statCountingUFS) GetStatus(ctx context.Context, p string) (ufs.Status, error) {
	u.stats.Add(1)
	return u.UnderFileSystem.GetStatus(ctx, p)
}

// newCountingFixture is newFixture with a root UFS whose GetStatus calls
// are counted.
func newCountingFixture(t *testing.T) (*fixture, *atomic.Int64) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ufs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stats := new(atomic.Int64)
	reg := ufs.NewRegistry()
	reg.Register("", func(ctx context.Context, u *url.URL, props map[string]string) (ufs.UnderFileSystem, error) {
		inner, err := ufs.NewRegistry().Open(ctx, u.Path, props)
		if err != nil {
			return nil, err
		}
		return statCountingUFS{UnderFileSystem: inner, stats: stats}, nil
	})
	bm := blockmaster.New(blockmaster.Config{})
	t0 := time.Unix(1700000000, 0)
	f := &fixture{ufs: dir, w: &memWriter{epoch: 1}, bm: bm}
	f.m = New(Config{RootUFS: dir, DefaultBlockSize: 1 << 20, UFS: reg, Blocks: bm, RecentOps: 64,
		Now: func() time.Time { t0 = t0.Add(time.Millisecond); return t0 }})
	f.m.StartLeading(f.w, nil)
	return f, stats
}

func TestCompleteMustCacheSkipsUFS(t *testing.T) {
	f, stats := newCountingFixture(t)
	f.mkdir(t, "/d")
	if err := os.MkdirAll(filepath.Join(f.ufs, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A UFS file of the same name and length: a MUST_CACHE file is still
	// not persisted by it (nothing was written through).
	if err := os.WriteFile(filepath.Join(f.ufs, "d", "m"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/m", WriteType: alluxiopb.WriteType_MUST_CACHE}); err != nil {
		t.Fatal(err)
	}
	before := stats.Load()
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/d/m"}); err != nil {
		t.Fatal(err)
	}
	if n := stats.Load() - before; n != 0 {
		t.Fatalf("MUST_CACHE complete made %d UFS GetStatus calls, want 0", n)
	}
	fi, err := f.m.GetStatus(bg, "/d/m")
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Completed || fi.Persisted || fi.PersistenceState != "NOT_PERSISTED" {
		t.Fatalf("MUST_CACHE file after complete: completed %v persisted %v %s", fi.Completed, fi.Persisted, fi.PersistenceState)
	}
	// Its bytes must be in committed blocks: none, so a length of 3 fails
	// without a UFS call.
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/m3", WriteType: alluxiopb.WriteType_MUST_CACHE}); err != nil {
		t.Fatal(err)
	}
	before = stats.Load()
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/d/m3", Length: 3}); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
		t.Fatalf("MUST_CACHE complete without blocks: %v", err)
	}
	if n := stats.Load() - before; n != 0 {
		t.Fatalf("failed MUST_CACHE complete made %d UFS GetStatus calls", n)
	}
}

func TestCompleteThroughChecksUFS(t *testing.T) {
	for _, wt := range []alluxiopb.WriteType{alluxiopb.WriteType_CACHE_THROUGH, alluxiopb.WriteType_THROUGH, alluxiopb.WriteType_WRITE_TYPE_UNSPECIFIED} {
		t.Run(wt.String(), func(t *testing.T) {
			f, stats := newCountingFixture(t)
			f.mkdir(t, "/d")
			if err := os.MkdirAll(filepath.Join(f.ufs, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/t", WriteType: wt}); err != nil {
				t.Fatal(err)
			}
			// Not there with that length: the bytes are nowhere.
			if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/d/t", Length: 5}); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
				t.Fatalf("complete with nothing written: %v", err)
			}
			if err := os.WriteFile(filepath.Join(f.ufs, "d", "t"), []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := stats.Load()
			if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/d/t", Length: 5}); err != nil {
				t.Fatal(err)
			}
			if n := stats.Load() - before; n != 1 {
				t.Fatalf("complete made %d UFS GetStatus calls, want 1", n)
			}
			fi, err := f.m.GetStatus(bg, "/d/t")
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Completed || !fi.Persisted || fi.Length != 5 {
				t.Fatalf("file after complete: completed %v persisted %v length %d", fi.Completed, fi.Persisted, fi.Length)
			}
		})
	}
}

// TestCacheOnlyReplay: an InodeFileEntry from before cache_only existed
// (absent field) completes with the UFS check; a cache_only one survives
// replay and checkpoints while incomplete and is cleared by completion.
func TestCacheOnlyReplay(t *testing.T) {
	f, _ := newCountingFixture(t)
	f.mkdir(t, "/d")
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/new", WriteType: alluxiopb.WriteType_MUST_CACHE}); err != nil {
		t.Fatal(err)
	}
	entries := f.w.all()
	var oldStyle *journalpb.JournalEntry
	for _, e := range entries {
		if fe := e.GetInodeFile(); fe != nil {
			if !fe.GetCacheOnly() {
				t.Fatalf("MUST_CACHE create journaled %v without cache_only", fe)
			}
			// The same entry as an old master wrote it, for another file.
			c := proto.Clone(fe).(*journalpb.InodeFileEntry)
			c.CacheOnly, c.Name, c.Id = false, "old", inodeIDFor(containerOf(fe.GetId())+1)
			oldStyle = &journalpb.JournalEntry{SequenceNumber: e.GetSequenceNumber() + 1, Epoch: 1,
				Entry: &journalpb.JournalEntry_InodeFile{InodeFile: c}}
		}
	}
	if oldStyle == nil {
		t.Fatal("no InodeFileEntry journaled")
	}
	// Replay into a fresh master (with a new container reservation so
	// the old-style entry's id is in range).
	g, stats2 := newCountingFixture(t)
	g.m.StopLeading()
	g.m.Reset()
	for _, e := range append(entries, oldStyle) {
		if err := g.m.Apply(e); err != nil {
			t.Fatalf("apply %v: %v", e, err)
		}
	}
	w := &memWriter{epoch: 2, seq: oldStyle.GetSequenceNumber()}
	g.m.StartLeading(w, nil)
	for _, tc := range []struct {
		path  string
		stats int64
	}{{"/d/new", 0}, {"/d/old", 1}} {
		before := stats2.Load()
		if err := g.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: tc.path}); err != nil {
			t.Fatalf("complete %s: %v", tc.path, err)
		}
		if n := stats2.Load() - before; n != tc.stats {
			t.Fatalf("complete %s after replay made %d UFS GetStatus calls, want %d", tc.path, n, tc.stats)
		}
	}
	// Checkpoints carry cache_only for incomplete files only.
	if _, err := g.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/open", WriteType: alluxiopb.WriteType_MUST_CACHE}); err != nil {
		t.Fatal(err)
	}
	cacheOnly := map[string]bool{}
	for _, e := range snapshotOf(t, g.m) {
		if fe := e.GetInodeFile(); fe != nil {
			cacheOnly[fe.GetName()] = fe.GetCacheOnly()
		}
	}
	if !cacheOnly["open"] || cacheOnly["new"] || cacheOnly["old"] {
		t.Fatalf("cache_only in the snapshot: %v", cacheOnly)
	}
}

// TestWalkMatchesLookup: walkLocked finds what lookupLocked finds.
func TestWalkMatchesLookup(t *testing.T) {
	f := newFixture(t)
	f.mkdir(t, "/a/b")
	f.touch(t, "/a/b/f", 0)
	for _, p := range []string{"/", "/a", "/a/b", "/a/b/f", "/a/b/f/x", "/a/b/f/x/y", "/a/x", "/a/x/y/z", "/x"} {
		f.m.mu.RLock()
		n, comps, i := f.m.lookupLocked(p)
		w, missing := f.m.walkLocked(p)
		f.m.mu.RUnlock()
		if w != n || missing != len(comps)-i {
			t.Errorf("%s: walk %v/%d, lookup %v/%d", p, w.name, missing, n.name, len(comps)-i)
		}
	}
}
