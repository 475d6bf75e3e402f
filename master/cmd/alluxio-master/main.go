// Command alluxio-master runs an Alluxio master: the namespace, block
// metadata and journal. See package daemon for the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alluxio-go/alluxio/master/internal/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := daemon.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "alluxio-master: %v\n", err)
		os.Exit(1)
	}
}
