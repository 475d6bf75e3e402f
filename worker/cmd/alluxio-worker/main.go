// Command alluxio-worker runs an Alluxio worker: it caches blocks in tiered
// storage, serves them to clients and registers with the leader master.
//
//	alluxio-worker [--conf-dir DIR] [-D key=value]... [--format] [--version]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/alluxio-go/alluxio/worker/internal/daemon"
)

func main() {
	if err := daemon.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "alluxio-worker: %v\n", err)
		if errors.Is(err, daemon.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
