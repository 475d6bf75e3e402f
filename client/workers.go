package client

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// workerClient returns a BlockWorker client for addr.
func (f *FileSystem) workerClient(addr WorkerAddress) (pb.BlockWorkerClient, error) {
	cc, err := f.conn(addr.String())
	if err != nil {
		return nil, err
	}
	return pb.NewBlockWorkerClient(cc), nil
}

// liveWorkers returns the live workers.
func (f *FileSystem) liveWorkers(ctx context.Context) ([]WorkerInfo, error) {
	all, err := f.GetWorkerInfoList(ctx)
	if err != nil {
		return nil, err
	}
	var live []WorkerInfo
	for _, w := range all {
		if w.State != "LOST" {
			live = append(live, w)
		}
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("client: no live workers: %w", rpcstatus.ErrUnavailable)
	}
	return live, nil
}

// pickWorker chooses where to write: the local worker if it has free space,
// else a random worker with room for a whole block (need bytes), else a
// random worker with any free space.
func (f *FileSystem) pickWorker(ctx context.Context, need int64) (WorkerAddress, error) {
	live, err := f.liveWorkers(ctx)
	if err != nil {
		return WorkerAddress{}, err
	}
	free := func(w WorkerInfo) int64 {
		if w.Capacity == 0 { // capacity unknown: assume room
			return need + 1
		}
		return w.Capacity - w.Used
	}
	for _, w := range live {
		if f.isLocal(w.Address.Host) && (need == 0 || free(w) > 0) {
			return w.Address, nil
		}
	}
	var roomy, some []WorkerInfo
	for _, w := range live {
		switch {
		case need == 0 || free(w) >= need:
			roomy = append(roomy, w)
		case free(w) > 0:
			some = append(some, w)
		}
	}
	if len(roomy) == 0 {
		roomy = some
	}
	if len(roomy) == 0 {
		return WorkerAddress{}, fmt.Errorf("client: no worker has free space: %w", rpcstatus.ErrResourceExhausted)
	}
	return roomy[rand.IntN(len(roomy))].Address, nil
}

// orderLocations returns the locations with local ones first, the others
// shuffled, skipping addresses in bad.
func (f *FileSystem) orderLocations(locs []BlockLocation, bad map[string]bool) []BlockLocation {
	var local, remote []BlockLocation
	for _, l := range locs {
		if bad[l.Address.String()] {
			continue
		}
		if f.isLocal(l.Address.Host) {
			local = append(local, l)
		} else {
			remote = append(remote, l)
		}
	}
	rand.Shuffle(len(remote), func(i, j int) { remote[i], remote[j] = remote[j], remote[i] })
	return append(local, remote...)
}
