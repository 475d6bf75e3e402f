package blockmaster

import (
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Validation of BlockMasterWorkerService requests. The validate* functions
// check what the request alone decides (ranges, tiers it declares itself);
// checks against a worker's registration are the worker methods below. Every
// failure is one line naming the field and its value.

const (
	// MaxReportBlocks bounds the block ids of one RegisterWorker or
	// BlockHeartbeat message. The gRPC message limit (64 MB) allows about
	// 16M real block ids; a report beyond this bound is refused with
	// ResourceExhausted rather than processed.
	MaxReportBlocks = 1 << 24
	// MaxCommandBlocks bounds the block ids of one FREE or DELETE command,
	// keeping the heartbeat answer well under a worker's 4 MB receive
	// limit; the rest follow in later heartbeats.
	MaxCommandBlocks = 1 << 18
	// maxTiers bounds the storage tiers a worker may declare.
	maxTiers = 64
	// maxHostLen bounds a worker's host name (DNS names have at most 253).
	maxHostLen = 255
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("blockmaster: "+format+": %w", append(args, rpcstatus.ErrInvalidArgument)...)
}

// validName refuses empty names and control characters (NUL included).
func validName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func validateAddress(a *alluxiopb.WorkerNetAddress) error {
	switch {
	case a == nil:
		return invalidf("worker_address missing")
	case len(a.GetHost()) > maxHostLen:
		return invalidf("worker_address.host of %d bytes (at most %d)", len(a.GetHost()), maxHostLen)
	case !validName(a.GetHost()):
		return invalidf("worker_address.host %q is empty or has control characters", a.GetHost())
	case a.GetRpcPort() < 1 || a.GetRpcPort() > 65535:
		return invalidf("worker_address.rpc_port %d outside 1..65535", a.GetRpcPort())
	case a.GetWebPort() < 0 || a.GetWebPort() > 65535:
		return invalidf("worker_address.web_port %d outside 0..65535", a.GetWebPort())
	}
	return nil
}

func validateRegister(req *alluxiopb.RegisterWorkerRequest) error {
	if req.GetWorkerId() <= 0 {
		return invalidf("worker_id %d (ask GetWorkerId for one)", req.GetWorkerId())
	}
	tiers := req.GetStorageTiers()
	if len(tiers) > maxTiers {
		return invalidf("storage_tiers has %d aliases (at most %d)", len(tiers), maxTiers)
	}
	declared := make(map[string]bool, len(tiers))
	for i, t := range tiers {
		if !validName(t) {
			return invalidf("storage_tiers[%d] %q is empty or has control characters", i, t)
		}
		if declared[t] {
			return invalidf("storage_tiers[%d] %q is declared twice", i, t)
		}
		declared[t] = true
	}
	total := req.GetTotalBytesOnTiers()
	for t, n := range total {
		if !declared[t] {
			return invalidf("total_bytes_on_tiers names undeclared tier %q", t)
		}
		if n < 0 {
			return invalidf("total_bytes_on_tiers[%q] = %d is negative", t, n)
		}
	}
	for t, n := range req.GetUsedBytesOnTiers() {
		if !declared[t] {
			return invalidf("used_bytes_on_tiers names undeclared tier %q", t)
		}
		if n < 0 {
			return invalidf("used_bytes_on_tiers[%q] = %d is negative", t, n)
		}
		if n > total[t] {
			return invalidf("used_bytes_on_tiers[%q] = %d exceeds total_bytes_on_tiers[%q] = %d", t, n, t, total[t])
		}
	}
	count := 0
	for t, l := range req.GetCurrentBlocksOnTiers() {
		if !declared[t] {
			return invalidf("current_blocks_on_tiers names undeclared tier %q", t)
		}
		count += len(l.GetBlockIds())
	}
	if count > MaxReportBlocks {
		return fmt.Errorf("blockmaster: current_blocks_on_tiers holds %d block ids (at most %d per report): %w", count, MaxReportBlocks, rpcstatus.ErrResourceExhausted)
	}
	for b, n := range req.GetBlockLengths() {
		if n < 0 {
			return invalidf("block_lengths[%d] = %d is negative", b, n)
		}
	}
	return nil
}

func validateHeartbeat(req *alluxiopb.BlockHeartbeatRequest) error {
	if req.GetWorkerId() <= 0 {
		return invalidf("worker_id %d (ask GetWorkerId for one)", req.GetWorkerId())
	}
	for t, n := range req.GetUsedBytesOnTiers() {
		if n < 0 {
			return invalidf("used_bytes_on_tiers[%q] = %d is negative", t, n)
		}
	}
	count := len(req.GetRemovedBlockIds())
	for _, l := range req.GetAddedBlocksOnTiers() {
		count += len(l.GetBlockIds())
	}
	if count > MaxReportBlocks {
		return fmt.Errorf("blockmaster: heartbeat holds %d added and removed block ids (at most %d): %w", count, MaxReportBlocks, rpcstatus.ErrResourceExhausted)
	}
	for b, n := range req.GetAddedBlockLengths() {
		if n < 0 {
			return invalidf("added_block_lengths[%d] = %d is negative", b, n)
		}
	}
	return nil
}

func validateCommit(req *alluxiopb.CommitBlockRequest) error {
	switch {
	case req.GetWorkerId() <= 0:
		return invalidf("worker_id %d (ask GetWorkerId for one)", req.GetWorkerId())
	case req.GetLength() < 0:
		return invalidf("length %d of block %d is negative", req.GetLength(), req.GetBlockId())
	case req.GetUsedBytesOnTier() < 0:
		return invalidf("used_bytes_on_tier %d is negative", req.GetUsedBytesOnTier())
	case !validName(req.GetTierAlias()):
		return invalidf("tier_alias %q is empty or has control characters", req.GetTierAlias())
	}
	return nil
}

// hasTier reports whether the worker declared tier at registration.
func (w *worker) hasTier(tier string) bool {
	for _, t := range w.tiers {
		if t == tier {
			return true
		}
	}
	return false
}

// tierName returns the worker's own copy of a declared tier alias, so block
// locations share it rather than keep request strings alive.
func (w *worker) tierName(tier string) string {
	for _, t := range w.tiers {
		if t == tier {
			return t
		}
	}
	return tier
}

// checkHeartbeat checks a heartbeat against the worker's registration.
func (w *worker) checkHeartbeat(req *alluxiopb.BlockHeartbeatRequest) error {
	for t := range req.GetUsedBytesOnTiers() {
		if !w.hasTier(t) {
			return invalidf("used_bytes_on_tiers names tier %q, not a tier of worker %d %v", t, w.id, w.tiers)
		}
	}
	for t := range req.GetAddedBlocksOnTiers() {
		if !w.hasTier(t) {
			return invalidf("added_blocks_on_tiers names tier %q, not a tier of worker %d %v", t, w.id, w.tiers)
		}
	}
	return nil
}

// checkCommit checks a commit against the worker's registration.
func (w *worker) checkCommit(req *alluxiopb.CommitBlockRequest) error {
	if !w.hasTier(req.GetTierAlias()) {
		return invalidf("tier_alias %q is not a tier of worker %d %v", req.GetTierAlias(), w.id, w.tiers)
	}
	return nil
}
