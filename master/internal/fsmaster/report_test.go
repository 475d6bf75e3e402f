package fsmaster

import (
	"sort"
	"testing"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func TestPartitionLive(t *testing.T) {
	f := newFixture(t)
	fi, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/f"})
	if err != nil {
		t.Fatal(err)
	}
	b0, err := f.m.GetNewBlockID(bg, "/f")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := f.m.CreateDirectory(bg, &alluxiopb.CreateDirectoryRequest{Path: "/d"})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{
		blockIDFor(fi.FileId, 1), // not allocated yet
		b0,
		blockIDFor(dir.FileId, 0), // a directory's "block"
		-1, 0, 1 << 62,
	}
	n := hooks{f.m}.PartitionLive(ids)
	if n != 1 || ids[0] != b0 {
		t.Fatalf("live %d: %v", n, ids)
	}
	rest := append([]int64(nil), ids[1:]...)
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	if len(rest) != 5 || rest[0] != -1 {
		t.Fatalf("orphans %v", rest)
	}
}

// BenchmarkRegisterUnknownBlocks registers a worker reporting 1M blocks no
// file owns: one namespace lookup per id, no per-id allocation.
func BenchmarkRegisterUnknownBlocks(b *testing.B) {
	f := newFixture(b)
	id, err := f.bm.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "h", RpcPort: 1})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 1<<20)
	for i := 0; i < b.N; i++ {
		for j := range ids {
			ids[j] = 1<<40 + int64(j)
		}
		if err := f.bm.RegisterWorker(bg, &alluxiopb.RegisterWorkerRequest{WorkerId: id, StorageTiers: []string{"MEM"},
			TotalBytesOnTiers: map[string]int64{"MEM": 1}, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": {BlockIds: ids}}}); err != nil {
			b.Fatal(err)
		}
	}
}
