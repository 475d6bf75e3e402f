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

// Resolve implements MasterResolver.
func (r ZKResolver) Resolve(ctx context.Context) (string, error) {
	return r.Inquirer.Leader(ctx)
}

// Watch implements LeaderWatcher.
func (r ZKResolver) Watch(ctx context.Context) <-chan string {
	return r.Inquirer.Watch(ctx)
}
