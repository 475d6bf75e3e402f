// Command alluxio is the command line of the Alluxio-compatible caching file
// system: `alluxio fs <cmd>`, `alluxio fsadmin report`, `alluxio getConf`,
// `alluxio version` and `alluxio format`. The logic lives in
// client/internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/alluxio-go/alluxio/client/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
