package masterclient

import (
	"context"

	"github.com/alluxio-go/alluxio/common/zkleader"
)

// ZKResolver finds the leader master through ZooKeeper: the name of the
// leader's node under alluxio.zookeeper.leader.path. Every reconnection asks
// again, so the worker follows failovers.
type ZKResolver struct {
	Inquirer *zkleader.Inquirer
}

// Resolve implements MasterResolver. While no leader is published it waits
// for one (returning as soon as one is), up to the inquiry retries.
func (r ZKResolver) Resolve(ctx context.Context) (string, error) {
	return r.Inquirer.Leader(ctx)
}

// Watch implements LeaderWatcher: every new leader node, and "" when the
// leader's node goes away.
func (r ZKResolver) Watch(ctx context.Context) <-chan string {
	out := make(chan string, 1)
	in := r.Inquirer.WatchInfo(ctx)
	go func() {
		defer close(out)
		for info := range in {
			select { // keep only the latest
			case <-out:
			default:
			}
			out <- info.Address
		}
	}()
	return out
}
