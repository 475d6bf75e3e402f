package blockmaster

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func ids(b ...int64) *alluxiopb.BlockIdList { return &alluxiopb.BlockIdList{BlockIds: b} }

// TestWorkerRequestValidation sends malformed worker requests; each must
// fail with the wanted error naming the field on one line, and a refused
// registration must not make the worker live (a write target).
func TestWorkerRequestValidation(t *testing.T) {
	m, h, _ := setup(t)
	ctx := context.Background()
	w := register(t, m, "real", 1)
	fake, err := m.GetWorkerID(&alluxiopb.WorkerNetAddress{Host: "fake", RpcPort: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: w, BlockId: 7, Length: 50, TierAlias: "MEM"}); err != nil {
		t.Fatal(err)
	}
	mem := []string{"MEM"}
	reg := func(r *alluxiopb.RegisterWorkerRequest) func() error {
		return func() error {
			if r.WorkerId == 0 {
				r.WorkerId = fake
			}
			return m.RegisterWorker(ctx, r)
		}
	}
	hb := func(r *alluxiopb.BlockHeartbeatRequest) func() error {
		return func() error { r.WorkerId = w; _, err := m.Heartbeat(ctx, r); return err }
	}
	commit := func(r *alluxiopb.CommitBlockRequest) func() error {
		return func() error { r.WorkerId = w; return m.CommitBlock(ctx, r) }
	}
	addr := func(a *alluxiopb.WorkerNetAddress) func() error {
		return func() error { _, err := m.GetWorkerID(a); return err }
	}
	inv, fp := rpcstatus.ErrInvalidArgument, rpcstatus.ErrFailedPrecondition
	tests := []struct {
		name, field string
		run         func() error
		want        error
	}{
		{"address/nil", "worker_address", addr(nil), inv},
		{"address/empty host", "host", addr(&alluxiopb.WorkerNetAddress{RpcPort: 1}), inv},
		{"address/NUL host", "host", addr(&alluxiopb.WorkerNetAddress{Host: "a\x00", RpcPort: 1}), inv},
		{"address/port 0", "rpc_port", addr(&alluxiopb.WorkerNetAddress{Host: "h", RpcPort: 0}), inv},
		{"address/port -1", "rpc_port", addr(&alluxiopb.WorkerNetAddress{Host: "h", RpcPort: -1}), inv},
		{"address/port 70000", "rpc_port", addr(&alluxiopb.WorkerNetAddress{Host: "h", RpcPort: 70000}), inv},
		{"address/web port 70000", "web_port", addr(&alluxiopb.WorkerNetAddress{Host: "h", RpcPort: 1, WebPort: 70000}), inv},

		{"register/negative capacity", "total_bytes_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, TotalBytesOnTiers: map[string]int64{"MEM": -1}}), inv},
		{"register/capacity on undeclared tier", "total_bytes_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, TotalBytesOnTiers: map[string]int64{"SSD": 1}}), inv},
		{"register/negative used", "used_bytes_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, UsedBytesOnTiers: map[string]int64{"MEM": -1}}), inv},
		{"register/used over capacity", "used_bytes_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, TotalBytesOnTiers: map[string]int64{"MEM": 1}, UsedBytesOnTiers: map[string]int64{"MEM": 1 << 40}}), inv},
		{"register/used on undeclared tier", "used_bytes_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, UsedBytesOnTiers: map[string]int64{"NOPE": 1}}), inv},
		{"register/blocks on undeclared tier", "current_blocks_on_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"NOPE": ids(1)}}), inv},
		{"register/negative block length", "block_lengths", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: mem, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": ids(7)}, BlockLengths: map[int64]int64{7: -5}}), inv},
		{"register/duplicate tiers", "storage_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: []string{"MEM", "MEM"}}), inv},
		{"register/empty tier alias", "storage_tiers", reg(&alluxiopb.RegisterWorkerRequest{StorageTiers: []string{""}}), inv},
		{"register/negative worker id", "worker_id", reg(&alluxiopb.RegisterWorkerRequest{WorkerId: -1, StorageTiers: mem}), inv},

		{"heartbeat/negative used", "used_bytes_on_tiers", hb(&alluxiopb.BlockHeartbeatRequest{UsedBytesOnTiers: map[string]int64{"MEM": -1}}), inv},
		{"heartbeat/used on undeclared tier", "used_bytes_on_tiers", hb(&alluxiopb.BlockHeartbeatRequest{UsedBytesOnTiers: map[string]int64{"NOPE": 1}}), inv},
		{"heartbeat/negative added length", "added_block_lengths", hb(&alluxiopb.BlockHeartbeatRequest{AddedBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": ids(8)}, AddedBlockLengths: map[int64]int64{8: -1}}), inv},
		{"heartbeat/added on undeclared tier", "added_blocks_on_tiers", hb(&alluxiopb.BlockHeartbeatRequest{AddedBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"NOPE": ids(8)}}), inv},

		{"commit/negative length", "length", commit(&alluxiopb.CommitBlockRequest{TierAlias: "MEM", BlockId: 8, Length: -1}), inv},
		{"commit/length over block size", "block size", commit(&alluxiopb.CommitBlockRequest{TierAlias: "MEM", BlockId: 8, Length: 101}), inv},
		{"commit/unknown tier", "tier_alias", commit(&alluxiopb.CommitBlockRequest{TierAlias: "NOPE", BlockId: 8, Length: 1}), inv},
		{"commit/empty tier", "tier_alias", commit(&alluxiopb.CommitBlockRequest{BlockId: 8, Length: 1}), inv},
		{"commit/negative used", "used_bytes_on_tier", commit(&alluxiopb.CommitBlockRequest{TierAlias: "MEM", BlockId: 8, Length: 1, UsedBytesOnTier: -1}), inv},
		{"commit/other length of committed", "length", commit(&alluxiopb.CommitBlockRequest{TierAlias: "MEM", BlockId: 7, Length: 51}), fp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.field) || strings.Contains(msg, "\n") {
				t.Fatalf("message %q does not name %s on one line", msg, tc.field)
			}
		})
	}
	live, _ := m.WorkerInfoList()
	if len(live) != 1 || live[0].Id != w {
		t.Fatalf("live workers after refused registrations: %v", live)
	}
	if _, ok := h.committed[8]; ok {
		t.Fatal("a refused commit journaled a length")
	}
	if l, _ := m.BlockLength(7); l != 50 {
		t.Fatalf("committed length changed to %d", l)
	}
	// A retried commit with the same length succeeds.
	if err := m.CommitBlock(ctx, &alluxiopb.CommitBlockRequest{WorkerId: w, BlockId: 7, Length: 50, TierAlias: "MEM"}); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
}

// TestReportBounds: a report over MaxReportBlocks is refused whole, and
// DELETE commands carry at most MaxCommandBlocks ids each.
func TestReportBounds(t *testing.T) {
	m, _, _ := setup(t)
	ctx := context.Background()
	w := register(t, m, "h1")
	huge := make([]int64, MaxReportBlocks+1)
	err := m.RegisterWorker(ctx, &alluxiopb.RegisterWorkerRequest{WorkerId: w, StorageTiers: []string{"MEM"},
		TotalBytesOnTiers: map[string]int64{"MEM": 100}, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": ids(huge...)}})
	if !errors.Is(err, rpcstatus.ErrResourceExhausted) {
		t.Fatalf("oversized report: %v", err)
	}
	orphans := make([]int64, MaxCommandBlocks+10)
	for i := range orphans {
		orphans[i] = 5000 + int64(i)
	}
	if err := m.RegisterWorker(ctx, &alluxiopb.RegisterWorkerRequest{WorkerId: w, StorageTiers: []string{"MEM"},
		TotalBytesOnTiers: map[string]int64{"MEM": 100}, CurrentBlocksOnTiers: map[string]*alluxiopb.BlockIdList{"MEM": ids(append(orphans, 1, 2)...)}}); err != nil {
		t.Fatal(err)
	}
	if !m.WorkerHolds(w, 1) || !m.WorkerHolds(w, 2) || m.WorkerHolds(w, 5000) {
		t.Fatal("live blocks not recorded or orphans recorded")
	}
	for _, want := range []int{MaxCommandBlocks, 10} {
		cmd, err := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w})
		if err != nil || cmd.CommandType != alluxiopb.CommandType_COMMAND_DELETE || len(cmd.BlockIds) != want {
			t.Fatalf("delete command: %v ids, %v (want %d)", len(cmd.GetBlockIds()), err, want)
		}
	}
	if cmd, _ := m.Heartbeat(ctx, &alluxiopb.BlockHeartbeatRequest{WorkerId: w}); cmd.CommandType != alluxiopb.CommandType_COMMAND_NOTHING {
		t.Fatalf("after the orphans: %v", cmd.CommandType)
	}
}
