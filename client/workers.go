package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

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

// workerWait bounds how long a call waits for the master to know a live
// worker (or a block's location): a newly elected leader learns them as the
// workers register with it, within seconds of the failover.
const workerWait = 30 * time.Second

// noWorkersError says the master knows no suitable worker (yet); it wraps
// ErrUnavailable and is what awaitWorkers retries.
type noWorkersError struct{ msg string }

func (e *noWorkersError) Error() string { return e.msg }
func (e *noWorkersError) Unwrap() error { return rpcstatus.ErrUnavailable }

// awaitWorkers runs op, which fails with a *noWorkersError while the master
// knows no suitable worker, under the retry policy for at most workerWait
// (and the policy's max duration). Other errors end it at once.
func (f *FileSystem) awaitWorkers(ctx context.Context, op func(ctx context.Context) error) error {
	p := f.retry
	if p.MaxDuration <= 0 || p.MaxDuration > workerWait {
		p.MaxDuration = workerWait
	}
	return p.Do(ctx, func(ctx context.Context, _ int) error { return op(ctx) },
		func(err error) bool { var nw *noWorkersError; return errors.As(err, &nw) })
}

// liveWorkers returns the live workers, waiting (see awaitWorkers) while the
// master knows none, as after a failover.
func (f *FileSystem) liveWorkers(ctx context.Context) ([]WorkerInfo, error) {
	var live []WorkerInfo
	err := f.awaitWorkers(ctx, func(ctx context.Context) error {
		all, err := f.GetWorkerInfoList(ctx)
		if err != nil {
			return err
		}
		live = live[:0]
		for _, w := range all {
			if w.State != "LOST" {
				live = append(live, w)
			}
		}
		if len(live) == 0 {
			return &noWorkersError{"client: no live workers"}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
