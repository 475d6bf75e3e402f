package fsmaster

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// memWriter is an in-memory journal.Writer.
type memWriter struct {
	mu        sync.Mutex
	epoch     int64
	seq       int64
	entries   []*journalpb.JournalEntry
	failAfter int // fail Append once this many entries exist (0 = never)
	flushes   int
}

func (w *memWriter) Append(e *journalpb.JournalEntry) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failAfter > 0 && len(w.entries) >= w.failAfter {
		return 0, errors.New("disk on fire")
	}
	w.seq++
	e.SequenceNumber, e.Epoch = w.seq, w.epoch
	w.entries = append(w.entries, proto.Clone(e).(*journalpb.JournalEntry))
	return w.seq, nil
}

func (w *memWriter) Flush(ctx context.Context, seq int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
	return nil
}

func (w *memWriter) Close() error { return nil }

func (w *memWriter) all() []*journalpb.JournalEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*journalpb.JournalEntry(nil), w.entries...)
}

type fixture struct {
	m   *Master
	w   *memWriter
	ufs string
	bm  *blockmaster.Master
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ufs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fixture{ufs: dir, w: &memWriter{epoch: 1}}
	f.m, f.bm = newMaster(dir)
	f.m.StartLeading(f.w, nil)
	return f
}

func newMaster(root string) (*Master, *blockmaster.Master) {
	bm := blockmaster.New(blockmaster.Config{})
	t0 := time.Unix(1700000000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); t0 = t0.Add(time.Millisecond); return t0 }
	return New(Config{RootUFS: root, DefaultBlockSize: 1 << 20, UFS: ufs.NewRegistry(), Blocks: bm, Now: now, RecentOps: 64}), bm
}

var bg = context.Background()

func (f *fixture) mkdir(t *testing.T, p string) {
	t.Helper()
	if _, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: p, Recursive: true, AllowExists: true}); err != nil {
		t.Fatalf("mkdir %s: %v", p, err)
	}
}

func (f *fixture) touch(t *testing.T, p string, length int64) {
	t.Helper()
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: p, Recursive: true}); err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	if err := writeBlocks(f.m, p, length); err != nil {
		t.Fatal(err)
	}
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: p, Length: length}); err != nil {
		t.Fatalf("complete %s: %v", p, err)
	}
}

// writeBlocks does what a client and workers do before CompleteFile: allocate
// the blocks and commit their lengths.
func writeBlocks(m *Master, p string, length int64) error {
	fi, err := m.GetStatus(bg, p)
	if err != nil {
		return err
	}
	for off := int64(0); off < length; off += fi.BlockSizeBytes {
		b, err := m.GetNewBlockID(bg, p)
		if err != nil {
			return err
		}
		if err := (hooks{m}).CommitBlockInfos(bg, map[int64]int64{b: min(fi.BlockSizeBytes, length-off)}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixture) paths(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := f.m.ListStatus(bg, "/", true, 3, func(b []*alluxiopb.FileInfo) error {
		for _, fi := range b {
			out = append(out, fi.Path)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNamespaceErrors(t *testing.T) {
	f := newFixture(t)
	f.mkdir(t, "/d/e")
	f.touch(t, "/d/file", 10)
	opID := &alluxiopb.OperationId{MostSignificantBits: 1, LeastSignificantBits: 2}
	_ = opID
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"relative path", func() error { _, err := f.m.GetStatus(bg, "d"); return err }, rpcstatus.ErrInvalidArgument},
		{"dotdot", func() error { _, err := f.m.GetStatus(bg, "/d/../e"); return err }, rpcstatus.ErrInvalidArgument},
		{"missing", func() error { _, err := f.m.GetStatus(bg, "/nope"); return err }, rpcstatus.ErrNotFound},
		{"mkdir exists", func() error {
			_, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/d"})
			return err
		}, rpcstatus.ErrAlreadyExists},
		{"mkdir no parent", func() error {
			_, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/x/y"})
			return err
		}, rpcstatus.ErrNotFound},
		{"mkdir under file", func() error {
			_, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/d/file/x", Recursive: true})
			return err
		}, rpcstatus.ErrFailedPrecondition},
		{"create exists", func() error {
			_, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/file"})
			return err
		}, rpcstatus.ErrAlreadyExists},
		{"create no parent", func() error {
			_, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/q/file"})
			return err
		}, rpcstatus.ErrNotFound},
		{"complete twice", func() error {
			return f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/d/file", Length: 10})
		}, rpcstatus.ErrFailedPrecondition},
		{"block of completed", func() error { _, err := f.m.GetNewBlockID(bg, "/d/file"); return err }, rpcstatus.ErrFailedPrecondition},
		{"remove non-empty", func() error { return f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/d"}) }, rpcstatus.ErrDirectoryNotEmpty},
		{"remove root", func() error { return f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/", Recursive: true}) }, rpcstatus.ErrInvalidArgument},
		{"remove missing", func() error { return f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/zz"}) }, rpcstatus.ErrNotFound},
		{"rename into self", func() error { return f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/d", DstPath: "/d/e/f"}) }, rpcstatus.ErrInvalidArgument},
		{"rename dst exists", func() error { return f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/d/file", DstPath: "/d/e"}) }, rpcstatus.ErrAlreadyExists},
		{"rename no dst parent", func() error { return f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/d/file", DstPath: "/k/l"}) }, rpcstatus.ErrNotFound},
		{"rename missing src", func() error { return f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/nope", DstPath: "/k"}) }, rpcstatus.ErrNotFound},
		{"free non-persisted", func() error { return f.m.Free(bg, &alluxiopb.FreeRequest{Path: "/d/file"}) }, rpcstatus.ErrFailedPrecondition},
		{"free non-empty", func() error { return f.m.Free(bg, &alluxiopb.FreeRequest{Path: "/d"}) }, rpcstatus.ErrDirectoryNotEmpty},
		{"mount missing ufs", func() error {
			return f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/mnt", UfsPath: filepath.Join(f.ufs, "..", "nope")})
		}, rpcstatus.ErrNotFound},
		{"unmount non-mount", func() error { return f.m.Unmount(bg, &alluxiopb.UnmountRequest{AlluxioPath: "/d"}) }, rpcstatus.ErrInvalidArgument},
		{"bad mode", func() error {
			mode := int32(0o17777)
			return f.m.SetAttribute(bg, &alluxiopb.SetAttributeRequest{Path: "/d", Mode: &mode})
		}, rpcstatus.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNamespaceOps(t *testing.T) {
	f := newFixture(t)
	f.mkdir(t, "/a/b")
	f.touch(t, "/a/b/f1", 3<<20+5)
	f.touch(t, "/a/f2", 0)
	fi, err := f.m.GetStatus(bg, "/a/b/f1")
	if err != nil {
		t.Fatal(err)
	}
	if len(fi.BlockIds) != 4 || fi.BlockIds[3] != fi.FileId&^0xFFFFFF|3 || fi.FileBlockInfos[3].BlockInfo.Length != 5 || fi.FileBlockInfos[2].Offset != 2<<20 {
		t.Fatalf("blocks of f1: %v", fi)
	}
	if got := strings.Join(f.paths(t), " "); got != "/a /a/b /a/b/f1 /a/f2" {
		t.Fatalf("tree: %s", got)
	}
	if err := f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/a/b", DstPath: "/c"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.paths(t), " "); got != "/a /a/f2 /c /c/f1" {
		t.Fatalf("tree after rename: %s", got)
	}
	pin := true
	if err := f.m.SetAttribute(bg, &alluxiopb.SetAttributeRequest{Path: "/c", Pinned: &pin, Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := f.m.GetStatus(bg, "/c/f1"); !fi.Pinned {
		t.Fatal("recursive pin did not reach /c/f1")
	}
	if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/c", Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.paths(t), " "); got != "/a /a/f2" {
		t.Fatalf("tree after remove: %s", got)
	}
	if n := f.m.InodeCount(); n != 3 {
		t.Fatalf("inode count %d", n)
	}
}

func TestThroughWritesAndUFS(t *testing.T) {
	f := newFixture(t)
	// Directories created CACHE_THROUGH appear in the UFS.
	if _, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/p/q", Recursive: true, WriteType: alluxiopb.WriteType_CACHE_THROUGH}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(f.ufs, "p", "q")); err != nil || !st.IsDir() {
		t.Fatalf("ufs dir: %v", err)
	}
	// A refused create leaves the UFS alone.
	if _, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/nx/y", WriteType: alluxiopb.WriteType_CACHE_THROUGH}); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("non-recursive mkdir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.ufs, "nx")); !os.IsNotExist(err) {
		t.Fatalf("refused mkdir touched the UFS: %v", err)
	}
	// A THROUGH file: the client wrote the UFS file; complete marks it persisted.
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/p/q/t", WriteType: alluxiopb.WriteType_THROUGH}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(f.ufs, "p", "q", "t"), []byte("hello"), 0o644)
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/p/q/t", Length: 5, UfsLength: 5}); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.m.GetStatus(bg, "/p/q/t")
	if !fi.Persisted || fi.PersistenceState != "PERSISTED" || fi.UfsPath != filepath.Join(f.ufs, "p/q/t") {
		t.Fatalf("through file: %v", fi)
	}
	// Rename moves it in the UFS.
	if err := f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/p/q/t", DstPath: "/p/t2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.ufs, "p", "t2")); err != nil {
		t.Fatalf("ufs rename: %v", err)
	}
	// Loading metadata: a UFS-only file appears with block ids.
	os.MkdirAll(filepath.Join(f.ufs, "u", "v"), 0o755)
	os.WriteFile(filepath.Join(f.ufs, "u", "v", "w"), make([]byte, 1<<20+1), 0o600)
	fi, err := f.m.GetStatus(bg, "/u/v/w")
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Completed || !fi.Persisted || fi.Length != 1<<20+1 || len(fi.BlockIds) != 2 || fi.Mode != 0o600 {
		t.Fatalf("loaded file: %v", fi)
	}
	os.WriteFile(filepath.Join(f.ufs, "u", "x"), []byte("x"), 0o644)
	if got := strings.Join(f.paths(t), " "); got != "/p /p/q /p/t2 /u /u/v /u/v/w /u/x" {
		t.Fatalf("tree with UFS listing: %s", got)
	}
	// Remove of a persisted path deletes it from the UFS, unless alluxio_only.
	if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/u/x", AlluxioOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.ufs, "u", "x")); err != nil {
		t.Fatalf("alluxio_only removed the UFS file: %v", err)
	}
	if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/u", Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.ufs, "u")); !os.IsNotExist(err) {
		t.Fatalf("ufs dir still there: %v", err)
	}
	// Mounts.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "m1"), []byte("abc"), 0o644)
	if err := f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/p/mnt", UfsPath: other}); err != nil {
		t.Fatal(err)
	}
	fi, err = f.m.GetStatus(bg, "/p/mnt/m1")
	if err != nil || fi.UfsPath != filepath.Join(other, "m1") || fi.MountId != 2 {
		t.Fatalf("file in mount: %v %v", fi, err)
	}
	if err := f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/p/mnt/sub", UfsPath: t.TempDir()}); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
		t.Fatalf("nested mount: %v", err)
	}
	if err := f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/p/mnt/m1", DstPath: "/p/m1"}); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
		t.Fatalf("cross-mount rename: %v", err)
	}
	if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/p", Recursive: true}); !errors.Is(err, rpcstatus.ErrFailedPrecondition) {
		t.Fatalf("remove over mount: %v", err)
	}
	if len(f.m.MountTable()) != 2 {
		t.Fatalf("mount table %v", f.m.MountTable())
	}
	if err := f.m.Unmount(bg, &alluxiopb.UnmountRequest{AlluxioPath: "/p/mnt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "m1")); err != nil {
		t.Fatal("unmount touched the UFS")
	}
	if _, err := f.m.GetStatus(bg, "/p/mnt"); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("mount point after unmount: %v", err)
	}
}

func TestAsyncPersist(t *testing.T) {
	f := newFixture(t)
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/x/async", Recursive: true, WriteType: alluxiopb.WriteType_ASYNC_THROUGH}); err != nil {
		t.Fatal(err)
	}
	b, _ := f.m.GetNewBlockID(bg, "/x/async")
	hooks{f.m}.CommitBlockInfos(bg, map[int64]int64{b: 7})
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/x/async", Length: 7}); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.m.GetStatus(bg, "/x/async")
	if fi.PersistenceState != "TO_BE_PERSISTED" || f.m.PendingPersists() != 1 {
		t.Fatalf("async file: %v pending %d", fi.PersistenceState, f.m.PendingPersists())
	}
	addr := &alluxiopb.WorkerNetAddress{Host: "w1", RpcPort: 1}
	wid, _ := f.bm.GetWorkerID(addr)
	if err := f.bm.RegisterWorker(bg, &alluxiopb.RegisterWorkerRequest{WorkerId: wid, StorageTiers: []string{"MEM"},
		CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": {BlockIds: []int64{b}}}, BlockLengths: map[int64]int64{b: 7}}); err != nil {
		t.Fatal(err)
	}
	cmd, err := f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid})
	if err != nil || cmd.CommandType != alluxiopb.CommandType_COMMAND_PERSIST || len(cmd.PersistFiles) != 1 {
		t.Fatalf("persist command: %v %v", cmd, err)
	}
	pf := cmd.PersistFiles[0]
	if pf.UfsPath != filepath.Join(f.ufs, "x", "async") || len(pf.Blocks) != 1 || pf.Blocks[0].Length != 7 || len(pf.Blocks[0].Locations) != 1 {
		t.Fatalf("persist file: %v", pf)
	}
	// Not handed out twice while assigned.
	if cmd, _ := f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid}); cmd.CommandType != alluxiopb.CommandType_COMMAND_NOTHING {
		t.Fatalf("second heartbeat: %v", cmd)
	}
	// The worker writes the file, then reports it.
	if err := os.WriteFile(pf.UfsPath, []byte("1234567"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid, PersistedFileIds: []int64{pf.FileId}}); err != nil {
		t.Fatal(err)
	}
	fi, _ = f.m.GetStatus(bg, "/x/async")
	if fi.PersistenceState != "PERSISTED" || f.m.PendingPersists() != 0 {
		t.Fatalf("after report: %v", fi.PersistenceState)
	}
	if d, _ := f.m.GetStatus(bg, "/x"); !d.Persisted {
		t.Fatal("parent not marked persisted")
	}
	// Now it may be freed; the worker gets FREE.
	if err := f.m.Free(bg, &alluxiopb.FreeRequest{Path: "/x", Recursive: true}); err != nil {
		t.Fatal(err)
	}
	if cmd, _ := f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid}); cmd.CommandType != alluxiopb.CommandType_COMMAND_FREE || cmd.BlockIds[0] != b {
		t.Fatalf("free command: %v", cmd)
	}
}

func TestDedup(t *testing.T) {
	f := newFixture(t)
	op := &alluxiopb.OperationId{MostSignificantBits: 7, LeastSignificantBits: 9}
	req := &alluxiopb.CreateFileRequest{Path: "/f", OperationId: op}
	fi1, err := f.m.CreateFile(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	fi2, err := f.m.CreateFile(bg, req)
	if err != nil || fi2.FileId != fi1.FileId {
		t.Fatalf("retried create: %v %v", fi2, err)
	}
	rm := &alluxiopb.DeleteRequest{Path: "/f", OperationId: &alluxiopb.OperationId{LeastSignificantBits: 11}}
	if err := f.m.Remove(bg, rm); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Remove(bg, rm); err != nil {
		t.Fatalf("retried remove: %v", err)
	}
	// A fresh request id is not deduplicated.
	if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/f", OperationId: &alluxiopb.OperationId{LeastSignificantBits: 12}}); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("new remove: %v", err)
	}
	// The cache is rebuilt by replay.
	m2, _ := newMaster(f.ufs)
	for _, e := range f.w.all() {
		if err := m2.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	m2.StartLeading(&memWriter{epoch: 2, seq: f.w.seq}, nil)
	if err := m2.Remove(bg, rm); err != nil {
		t.Fatalf("retried remove after replay: %v", err)
	}
	// And by loading a checkpoint.
	m3, _ := newMaster(f.ufs)
	for _, e := range snapshotOf(t, f.m) {
		if err := m3.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	m3.StartLeading(&memWriter{epoch: 2, seq: f.w.seq}, nil)
	if err := m3.Remove(bg, rm); err != nil {
		t.Fatalf("retried remove after checkpoint: %v", err)
	}
	// The cache is bounded.
	for i := 0; i < 100; i++ {
		f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: fmt.Sprintf("/d%d", i), OperationId: &alluxiopb.OperationId{LeastSignificantBits: int64(100 + i)}})
	}
	if n := len(f.m.ops.seqs); n > 64 {
		t.Fatalf("op cache holds %d", n)
	}
}

func TestJournalFailureStopsWrites(t *testing.T) {
	f := newFixture(t)
	f.mkdir(t, "/ok")
	f.w.failAfter = len(f.w.all())
	if _, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/bad"}); !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("write with failing journal: %v", err)
	}
	f.w.failAfter = 0
	if _, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/bad2"}); !errors.Is(err, rpcstatus.ErrUnavailable) {
		t.Fatalf("write after failure: %v", err)
	}
	if _, err := f.m.GetStatus(bg, "/ok"); err != nil {
		t.Fatalf("reads still work: %v", err)
	}
	if _, err := f.m.GetStatus(bg, "/bad"); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("failed write visible: %v", err)
	}
}

func TestDigestChangesWithState(t *testing.T) {
	f := newFixture(t)
	_, d0, _ := f.m.Digest()
	f.mkdir(t, "/a")
	seq, d1, _ := f.m.Digest()
	if d0 == d1 || seq != f.m.LastSeq() {
		t.Fatalf("digest did not change: %s %s", d0, d1)
	}
	// Block locations are not journaled state.
	id, _ := f.bm.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "w", RpcPort: 1})
	f.touch(t, "/a/f", 10)
	_, d2, _ := f.m.Digest()
	if err := f.bm.RegisterWorker(bg, &alluxiopb.RegisterWorkerRequest{WorkerId: id, StorageTiers: []string{"MEM"},
		CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": {BlockIds: []int64{blockIDFor(inodeIDFor(2), 0)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, d3, _ := f.m.Digest(); d3 != d2 {
		t.Fatal("digest covers block locations")
	}
}

// notLeaderWriter refuses every flush the way the server's term-checking
// writer does once the term is over.
type notLeaderWriter struct{ *memWriter }

func (w notLeaderWriter) Flush(ctx context.Context, seq int64) error {
	return fmt.Errorf("term over: %w", rpcstatus.ErrNotLeader)
}

func TestFlushAfterTermEndsIsNotLeaderAndNotBroken(t *testing.T) {
	m, _ := newMaster(t.TempDir())
	var failures int
	m.cfg.OnJournalFailure = func(error) { failures++ }
	m.StartLeading(notLeaderWriter{&memWriter{epoch: 1}}, nil)
	if _, err := m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/x"}); !errors.Is(err, rpcstatus.ErrNotLeader) {
		t.Fatalf("got %v", err)
	}
	if failures != 0 || m.Writable() != nil {
		t.Fatalf("a deposed term's flush broke the journal: failures=%d writable=%v", failures, m.Writable())
	}
	// A real journal failure is reported once.
	w := &memWriter{epoch: 2, failAfter: 1}
	m.StartLeading(w, nil)
	m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/y"})
	m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/z"})
	if failures != 1 {
		t.Fatalf("failures reported: %d", failures)
	}
}

func TestNotLeader(t *testing.T) {
	m, _ := newMaster(t.TempDir())
	if _, err := m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/x"}); !errors.Is(err, rpcstatus.ErrNotLeader) {
		t.Fatalf("got %v", err)
	}
}

func snapshotOf(t *testing.T, m *Master) []*journalpb.JournalEntry {
	t.Helper()
	var out []*journalpb.JournalEntry
	if err := m.Snapshot(func(e *journalpb.JournalEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(a, b []*journalpb.JournalEntry) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d entries vs %d", len(a), len(b))
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return fmt.Sprintf("entry %d:\n%v\nvs\n%v", i, a[i], b[i])
		}
	}
	return ""
}

// TestReplayDeterminism applies a random sequence of operations, then
// rebuilds the state from the journal entries, and from a snapshot, and
// compares.
func TestReplayDeterminism(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := newFixture(t)
			r := rand.New(rand.NewSource(seed))
			randomOps(t, f, r, 400)
			want := snapshotOf(t, f.m)
			// Replay the journal into a fresh master.
			m2, _ := newMaster(f.ufs)
			for _, e := range f.w.all() {
				if err := m2.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			if d := diffSnapshots(want, snapshotOf(t, m2)); d != "" {
				t.Fatalf("replayed state differs: %s", d)
			}
			if m2.LastSeq() != f.m.LastSeq() || m2.InodeCount() != f.m.InodeCount() {
				t.Fatalf("seq %d/%d inodes %d/%d", m2.LastSeq(), f.m.LastSeq(), m2.InodeCount(), f.m.InodeCount())
			}
			// Load the snapshot (as a checkpoint) into a third.
			m3, _ := newMaster(f.ufs)
			m3.Reset()
			for _, e := range want {
				if err := m3.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			if d := diffSnapshots(want, snapshotOf(t, m3)); d != "" {
				t.Fatalf("checkpointed state differs: %s", d)
			}
			// The digests agree: written, replayed, checkpointed.
			seq1, d1, err := f.m.Digest()
			if err != nil {
				t.Fatal(err)
			}
			seq2, d2, _ := m2.Digest()
			_, d3, _ := m3.Digest()
			if seq1 != seq2 || d1 != d2 || d1 != d3 || len(d1) != 64 {
				t.Fatalf("digests: %d %s / %d %s / %s", seq1, d1, seq2, d2, d3)
			}
			// The rebuilt master continues without id collisions.
			m3.StartLeading(&memWriter{epoch: 2, seq: f.w.seq}, nil)
			fx := &fixture{m: m3, w: nil, ufs: f.ufs}
			fx.mkdir(t, "/after/checkpoint")
		})
	}
}

func randomOps(t *testing.T, f *fixture, r *rand.Rand, n int) {
	names := []string{"a", "b", "c", "d"}
	randPath := func() string {
		depth := 1 + r.Intn(3)
		var sb strings.Builder
		for i := 0; i < depth; i++ {
			sb.WriteString("/" + names[r.Intn(len(names))])
		}
		return sb.String()
	}
	for i := 0; i < n; i++ {
		p := randPath()
		op := &alluxiopb.OperationId{LeastSignificantBits: int64(i + 1)}
		var err error
		switch r.Intn(9) {
		case 0, 1:
			_, err = f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: p, Recursive: r.Intn(2) == 0, OperationId: op})
		case 2, 3:
			_, err = f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: p, Recursive: true, BlockSizeBytes: 1024, OperationId: op,
				WriteType: []alluxiopb.WriteType{alluxiopb.WriteType_MUST_CACHE, alluxiopb.WriteType_ASYNC_THROUGH}[r.Intn(2)]})
			if err == nil && r.Intn(3) > 0 {
				length := int64(r.Intn(4000))
				if err = writeBlocks(f.m, p, length); err == nil {
					err = f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: p, Length: length})
				}
			}
		case 4:
			err = f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: p, Recursive: r.Intn(2) == 0, OperationId: op})
		case 5:
			err = f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: p, DstPath: randPath(), OperationId: op})
		case 6:
			mode := int32(r.Intn(0o777))
			pin := r.Intn(2) == 0
			err = f.m.SetAttribute(bg, &alluxiopb.SetAttributeRequest{Path: p, Mode: &mode, Pinned: &pin, Recursive: r.Intn(2) == 0, OperationId: op})
		case 7:
			err = f.m.ScheduleAsyncPersistence(bg, p)
		case 8:
			var ids []int64
			f.m.mu.RLock()
			for id, n := range f.m.byID {
				if !n.isDir() && n.persist == uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED) {
					ids = append(ids, id)
				}
			}
			f.m.mu.RUnlock()
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			// Play the worker: write each file to the UFS.
			for _, id := range ids {
				f.m.mu.RLock()
				n := f.m.byID[id]
				_, up := f.m.resolveLocked(pathOf(n))
				length := n.length
				f.m.mu.RUnlock()
				os.MkdirAll(filepath.Dir(up), 0o755)
				os.WriteFile(up, make([]byte, length), 0o644)
			}
			hooks{f.m}.FilesPersisted(bg, 1, ids, nil)
		}
		if err != nil && errors.Is(err, rpcstatus.ErrUnavailable) {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := fmt.Sprintf("/g/%d", i)
			if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: p, Recursive: true}); err != nil {
				t.Error(err)
				return
			}
			if _, err := f.m.GetStatus(bg, p); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if n := f.m.InodeCount(); n != 52 {
		t.Fatalf("inodes %d", n)
	}
}

func TestTTL(t *testing.T) {
	f := newFixture(t)
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/t/short", Recursive: true, Ttl: 5}); err != nil {
		t.Fatal(err)
	}
	f.touch(t, "/t/long", 0)
	ttl, action := int64(5), "FREE"
	if err := f.m.SetAttribute(bg, &alluxiopb.SetAttributeRequest{Path: "/t/long", Ttl: &ttl, TtlAction: &action}); err != nil {
		t.Fatal(err)
	}
	// The fixture's clock advances 1ms per reading; read it enough.
	for i := 0; i < 20; i++ {
		f.m.cfg.Now()
	}
	done := f.m.CheckTTL(bg)
	if strings.Join(done, ",") != "/t/long,/t/short" {
		t.Fatalf("acted on %v", done)
	}
	if _, err := f.m.GetStatus(bg, "/t/short"); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("expired file kept: %v", err)
	}
	if fi, err := f.m.GetStatus(bg, "/t/long"); err != nil || fi.Ttl != -1 {
		t.Fatalf("freed file: %v %v", fi, err)
	}
}

func TestRenameWhilePersisting(t *testing.T) {
	f := newFixture(t)
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/s/a", Recursive: true, WriteType: alluxiopb.WriteType_ASYNC_THROUGH}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: "/s/a", Length: 0}); err != nil {
		t.Fatal(err)
	}
	wid, _ := f.bm.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "w", RpcPort: 1})
	f.bm.RegisterWorker(bg, &alluxiopb.RegisterWorkerRequest{WorkerId: wid})
	cmd, _ := f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid})
	if len(cmd.GetPersistFiles()) != 1 {
		t.Fatalf("no persist command: %v", cmd)
	}
	old := cmd.PersistFiles[0].UfsPath
	// Renamed while the worker persists it to the old path.
	if err := f.m.Rename(bg, &alluxiopb.RenameRequest{SrcPath: "/s/a", DstPath: "/s/b"}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(old, nil, 0o644)
	// Written but not yet reported: the old path must not be loaded as a new file.
	if _, err := f.m.GetStatus(bg, "/s/a"); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("in-flight persist target loaded: %v", err)
	}
	f.bm.Heartbeat(bg, &alluxiopb.BlockHeartbeatRequest{WorkerId: wid, PersistedFileIds: []int64{cmd.PersistFiles[0].FileId}})
	fi, _ := f.m.GetStatus(bg, "/s/b")
	if !fi.Persisted {
		t.Fatalf("renamed file not persisted: %v", fi.PersistenceState)
	}
	if _, err := os.Stat(filepath.Join(f.ufs, "s", "b")); err != nil {
		t.Fatalf("UFS copy not moved: %v", err)
	}
	if _, err := f.m.GetStatus(bg, "/s/a"); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("old path reappeared: %v", err)
	}
}

// TestPendingPersistsTracked: the files a new leader must persist are known
// from apply alone (no scan at StartLeading), and match a scan.
func TestPendingPersistsTracked(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		f := newFixture(t)
		randomOps(t, f, rand.New(rand.NewSource(seed)), 300)
		m2, _ := newMaster(f.ufs)
		for _, e := range f.w.all() {
			if err := m2.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []*Master{f.m, m2} {
			m.mu.RLock()
			want := map[int64]struct{}{}
			for id, n := range m.byID {
				if !n.isDir() && n.has(flagCompleted) && n.persist == uint8(alluxiopb.PersistenceState_TO_BE_PERSISTED) {
					want[id] = struct{}{}
				}
			}
			got := len(m.toPersist)
			for id := range want {
				if _, ok := m.toPersist[id]; !ok {
					t.Errorf("seed %d: file %d waits for persistence but is not tracked", seed, id)
				}
			}
			m.mu.RUnlock()
			if got != len(want) {
				t.Errorf("seed %d: %d tracked, %d waiting", seed, got, len(want))
			}
		}
		// Files completed with ASYNC_THROUGH wait; removing or persisting
		// one ends its wait.
		for i := 0; i < 3; i++ {
			p := fmt.Sprintf("/async%d", i)
			if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: p, WriteType: alluxiopb.WriteType_ASYNC_THROUGH}); err != nil {
				t.Fatal(err)
			}
			if err := f.m.CompleteFile(bg, &alluxiopb.CompleteFileRequest{Path: p}); err != nil {
				t.Fatal(err)
			}
		}
		f.m.mu.RLock()
		waiting := len(f.m.toPersist)
		f.m.mu.RUnlock()
		if waiting < 3 {
			t.Fatalf("seed %d: %d files tracked after 3 async completes", seed, waiting)
		}
		if err := f.m.Remove(bg, &alluxiopb.DeleteRequest{Path: "/async0"}); err != nil {
			t.Fatal(err)
		}
		fi, _ := f.m.GetStatus(bg, "/async1")
		os.WriteFile(filepath.Join(f.ufs, "async1"), nil, 0o644)
		hooks{f.m}.FilesPersisted(bg, 1, []int64{fi.FileId}, nil)
		f.m.mu.RLock()
		if _, ok := f.m.toPersist[fi.FileId]; ok || len(f.m.toPersist) != waiting-2 {
			t.Errorf("seed %d: after remove and persist: %d tracked, want %d", seed, len(f.m.toPersist), waiting-2)
		}
		f.m.mu.RUnlock()
		m2, _ = newMaster(f.ufs)
		for _, e := range f.w.all() {
			if err := m2.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
		m2.StartLeading(&memWriter{epoch: 2, seq: f.w.seq}, nil)
		if m2.PendingPersists() != waiting-2 {
			t.Fatalf("pending persists %d, tracked %d", m2.PendingPersists(), len(m2.toPersist))
		}
	}
}
