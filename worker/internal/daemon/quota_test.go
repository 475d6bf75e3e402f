package daemon

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// TestComponentQuotaPerDirectory: dirs.quota=1MB,3MB gives each directory
// of dirs.path its own capacity: the registration counts 4MB for the tier,
// a 2MB block fits only in the second directory, and with it pinned a
// second one fits in neither.
func TestComponentQuotaPerDirectory(t *testing.T) {
	m := startFakeMaster(t, "")
	props := workerProps(t, m.addr)
	small, large := t.TempDir(), t.TempDir()
	props["alluxio.worker.tieredstore.level0.dirs.path"] = small + "," + large
	props["alluxio.worker.tieredstore.level0.dirs.quota"] = "1MB,3MB"
	props["alluxio.worker.tieredstore.level0.watermark.high.ratio"] = "1"
	props["alluxio.worker.tieredstore.level0.watermark.low.ratio"] = "1"
	w := startWorker(t, props)
	waitFor(t, "registration", w.Master.Registered)
	reg := m.lastRegistration()
	if got := reg.GetTotalBytesOnTiers()["MEM"]; got != 4<<20 {
		t.Fatalf("registered capacity of MEM = %d, want 4MB (1MB + 3MB)", got)
	}
	write := func(id int64, data []byte) error {
		stream, err := w.client.WriteBlock(context.Background())
		if err != nil {
			return err
		}
		stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{
			BlockId: id, SpaceToReserve: int64(len(data))}}})
		stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: data}})
		_, err = stream.CloseAndRecv()
		return err
	}
	data := randBytes(2 << 20)
	if err := write(1, data); err != nil {
		t.Fatalf("a 2MB block in a 1MB and a 3MB directory: %v", err)
	}
	meta, ok := w.Store.Get(1)
	if !ok || !strings.HasPrefix(meta.Path, filepath.Clean(large)+string(filepath.Separator)) {
		t.Fatalf("the 2MB block is at %q, want under the 3MB directory %s", meta.Path, large)
	}
	if got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1}); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	// Pinned, the block stays: 1MB is left in each directory, so another
	// 2MB block fits in neither, a 1MB one does.
	if err := w.Store.SetPinned(1, true); err != nil {
		t.Fatal(err)
	}
	if err := write(2, randBytes(2<<20)); err == nil {
		m, _ := w.Store.Get(2)
		t.Fatalf("a second 2MB block was stored (at %s); each directory has 1MB left", m.Path)
	}
	if err := write(3, randBytes(1<<20)); err != nil {
		t.Fatalf("a 1MB block: %v", err)
	}
}
