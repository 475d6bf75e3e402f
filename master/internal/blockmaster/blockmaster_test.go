package blockmaster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

type fakeHooks struct {
	mu        sync.Mutex
	committed map[int64]int64
	m         *Master
}

func (h *fakeHooks) CommitBlockInfos(ctx context.Context, lengths map[int64]int64) error {
	for id, length := range lengths {
		if _, ok := h.m.BlockLength(id); ok || id >= 1000 || length > 100 {
			continue
		}
		h.mu.Lock()
		h.committed[id] = length
		h.mu.Unlock()
		h.m.ApplyBlockInfo(id, length)
	}
	return nil
}

// Blocks below 1000 belong to files of block size 100.
func (h *fakeHooks) BlockSize(id int64) (int64, bool) {
	if id < 1000 {
		return 100, true
	}
	return 0, false
}
func (h *fakeHooks) PartitionLive(ids []int64) int {
	live := 0
	for i, b := range ids {
		if b < 1000 {
			ids[live], ids[i] = b, ids[live]
			live++
		}
	}
	return live
}
func (h *fakeHooks) PersistCommands(int64) []*alluxiopb.PersistFile                   { return nil }
func (h *fakeHooks) FilesPersisted(context.Context, int64, []int64, map[int64]string) {}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T) (*Master, *fakeHooks, *clock) {
	clk := &clock{t: time.Unix(1000, 0)}
	m := New(Config{WorkerTimeout: time.Minute, Now: clk.now})
	h := &fakeHooks{committed: map[int64]int64{}, m: m}
	m.SetHooks(h)
	return m, h, clk
}

func register(t *testing.T, m *Master, host string, blocks ...int64) int64 {
	t.Helper()
	id, err := m.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: host, RpcPort: 29999})
	if err != nil {
		t.Fatal(err)
	}
	lengths := map[int64]int64{}
	for _, b := range blocks {
		lengths[b] = 10
	}
	if err := m.RegisterWorker(context.Background(), &alluxiopb.RegisterWorkerRequest{WorkerId: id, StorageTiers: []string{"MEM", "SSD"},
		TotalBytesOnTiers: map[string]int64{"MEM": 100, "SSD": 1000}, UsedBytesOnTiers: map[string]int64{"MEM": 10},
		CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": {BlockIds: blocks}}, BlockLengths: lengths}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRegisterHeartbeatLost(t *testing.T) {
	m, h, clk := setup(t)
	ctx := context.Background()
	w1 := register(t, m, "h1", 1, 2, 5000)
	w2 := register(t, m, "h2", 2)
	if w1 == w2 {
		t.Fatal("two addresses, one id")
	}
	if again, _ := m.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "h1", RpcPort: 29999}); again != w1 {
		t.Fatal("same address, new id")
	}
	if len(h.committed) != 2 {
		t.Fatalf("lengths committed from the report: %v", h.committed)
	}
	if bi := m.BlockInfo(2); len(bi.Locations) != 2 || bi.Length != 10 {
		t.Fatalf("block 2: %v", bi)
	}
	// The orphan 5000 is deleted at the next heartbeat.
	cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w1})
	if cmd.CommandType != alluxiopb.CommandType_COMMAND_DELETE || len(cmd.BlockIds) != 1 || cmd.BlockIds[0] != 5000 {
		t.Fatalf("orphan: %v", cmd)
	}
	// Heartbeat deltas.
	cmd, _ = m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w1, RemovedBlockIds: []int64{1},
		AddedBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"SSD": {BlockIds: []int64{3}}}, AddedBlockLengths: map[int64]int64{3: 7}})
	if cmd.CommandType != alluxiopb.CommandType_COMMAND_NOTHING {
		t.Fatalf("cmd %v", cmd)
	}
	if m.HasLocation(1) || !m.WorkerHolds(w1, 3) || m.BlockInfo(3).Locations[0].TierAlias != "SSD" || h.committed[3] != 7 {
		t.Fatal("heartbeat deltas not applied")
	}
	// Re-registration replaces the report.
	register(t, m, "h1", 4)
	if m.WorkerHolds(w1, 3) || !m.WorkerHolds(w1, 4) {
		t.Fatal("register did not replace locations")
	}
	// Free and delete commands.
	m.FreeBlocks([]int64{2})
	if cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w2}); cmd.CommandType != alluxiopb.CommandType_COMMAND_FREE {
		t.Fatalf("free: %v", cmd)
	}
	info := m.Info()
	if info.LiveWorkerNum != 2 || info.CapacityBytes != 2200 || info.CapacityBytesOnTiers["MEM"] != 200 || info.UsedBytes != 20 {
		t.Fatalf("info %v", info)
	}
	// w2 goes silent and is lost; w1 keeps heartbeating.
	clk.add(40 * time.Second)
	m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w1})
	clk.add(40 * time.Second)
	if lost := m.DetectLost(); len(lost) != 1 || lost[0] != w2 {
		t.Fatalf("lost %v", lost)
	}
	if m.HasLocation(2) {
		t.Fatal("lost worker's locations kept")
	}
	live, lostList := m.WorkerInfoList()
	if len(live) != 1 || len(lostList) != 1 || lostList[0].State != "LOST" {
		t.Fatalf("lists %v %v", live, lostList)
	}
	if cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w2}); cmd.CommandType != alluxiopb.CommandType_COMMAND_REGISTER {
		t.Fatalf("lost worker heartbeat: %v", cmd)
	}
	// It comes back under the same id.
	if id := register(t, m, "h2", 2); id != w2 {
		t.Fatal("returning worker got a new id")
	}
	if _, lostList := m.WorkerInfoList(); len(lostList) != 0 {
		t.Fatal("returned worker still lost")
	}
}

func TestCommitBlock(t *testing.T) {
	m, h, _ := setup(t)
	ctx := context.Background()
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: 42, BlockId: 1}); err == nil {
		t.Fatal("commit from unknown worker accepted")
	}
	w := register(t, m, "h1")
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: w, BlockId: 9, Length: 5, TierAlias: "MEM"}); err != nil {
		t.Fatal(err)
	}
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: w, BlockId: 9, Length: 5, TierAlias: "MEM"}); err != nil {
		t.Fatal(err)
	}
	if h.committed[9] != 5 || len(m.BlockInfo(9).Locations) != 1 {
		t.Fatalf("commit: %v %v", h.committed, m.BlockInfo(9))
	}
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: w, BlockId: 5000, Length: 5, TierAlias: "MEM"}); err == nil {
		t.Fatal("commit of an orphan accepted")
	}
	if cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w}); cmd.CommandType != alluxiopb.CommandType_COMMAND_DELETE {
		t.Fatalf("orphan commit not deleted: %v", cmd)
	}
}

func TestTermsForgetWorkersAndGraceLostDetection(t *testing.T) {
	m, _, clk := setup(t)
	ctx := context.Background()
	w1 := register(t, m, "h1", 1)
	m.EndTerm()
	if live, lost := m.WorkerInfoList(); len(live)+len(lost) != 0 || m.HasLocation(1) {
		t.Fatalf("standby kept workers: %v %v", live, lost)
	}
	if _, ok := m.BlockLength(1); !ok {
		t.Fatal("journaled block length dropped with the workers")
	}
	m.BeginTerm()
	if cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w1}); cmd.CommandType != alluxiopb.CommandType_COMMAND_REGISTER {
		t.Fatalf("new leader's answer to an unknown worker: %v", cmd)
	}
	register(t, m, "h1", 1)
	// Within the grace period that started with the term: nobody is lost.
	clk.add(59 * time.Second)
	if lost := m.DetectLost(); len(lost) != 0 {
		t.Fatalf("lost within the grace period: %v", lost)
	}
	clk.add(2 * time.Minute)
	if lost := m.DetectLost(); len(lost) != 1 || lost[0] != w1 {
		t.Fatalf("after the grace period: %v", lost)
	}
}

// TestIssuedIDNeverRegistered: a worker id issued but never registered is
// not a lost worker (it was never live); it is forgotten after
// minTempWorkerTTL, and a lost worker that only asked for its id again
// stays lost until it registers.
func TestIssuedIDNeverRegistered(t *testing.T) {
	m, _, clk := setup(t)
	ctx := context.Background()
	temp, err := m.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "temp", RpcPort: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := register(t, m, "h1")
	clk.add(2 * time.Minute)
	if lost := m.DetectLost(); len(lost) != 1 || lost[0] != w {
		t.Fatalf("lost %v, want only the registered worker %d", lost, w)
	}
	if err := m.RegisterWorker(ctx, &alluxiopb.RegisterWorkerRequest{WorkerId: temp, StorageTiers: []string{"MEM"}}); !errors.Is(err, rpcstatus.ErrNotFound) {
		t.Fatalf("register with a forgotten id: %v", err)
	}
	if _, err := m.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "h1", RpcPort: 29999}); err != nil {
		t.Fatal(err)
	}
	if _, lost := m.WorkerInfoList(); len(lost) != 1 {
		t.Fatalf("a lost worker that only asked for its id: lost list %v", lost)
	}
	register(t, m, "h1")
	if live, lost := m.WorkerInfoList(); len(live) != 1 || len(lost) != 0 {
		t.Fatalf("after registering again: %v %v", live, lost)
	}
}
