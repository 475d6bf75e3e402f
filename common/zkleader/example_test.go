package zkleader_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/alluxio-go/alluxio/common/zkleader"
)

// A master's leadership loop: campaign, serve while the term holds, step
// down the moment it is lost, and stand again.
func ExampleElector() {
	ctx := context.Background()
	cfg := zkleader.Config{
		Servers:        []string{"zk1:2181", "zk2:2181", "zk3:2181"},
		SessionTimeout: 10 * time.Second,
		Logger:         slog.Default(),
	}
	e, err := zkleader.NewElector(ctx, cfg, "master1.example.com:19998")
	if err != nil {
		return // e.g. ZooKeeper unreachable within the connection timeout
	}
	defer e.Close()
	for ctx.Err() == nil {
		term, err := e.Campaign(ctx) // blocks while another master leads
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		// Become leader: seal the journal with term.Epoch(), then serve.
		// The write path checks term.Valid() before acknowledging.
		<-term.Lost() // connection lost, session expired, resigned...
		// Step down to standby at once: stop acknowledging writes.
	}
}

// Workers and clients find the leader, and follow it.
func ExampleInquirer() {
	ctx := context.Background()
	q := zkleader.NewInquirer(zkleader.Config{Servers: []string{"zk1:2181"}})
	defer q.Close()
	addr, err := q.Leader(ctx) // wraps rpcstatus.ErrUnavailable when there is none
	if err == nil {
		_ = addr // dial the leader master
	}
	for addr := range q.Watch(ctx) {
		_ = addr // re-register with the new leader
	}
}
