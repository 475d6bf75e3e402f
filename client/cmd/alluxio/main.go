// Command alluxio is the command line of the Alluxio-compatible caching file
// system: `alluxio fs <cmd>`, `alluxio fsadmin report`, `alluxio getConf`,
// `alluxio version` and `alluxio format`. The logic lives in
// client/internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/otel"

	"github.com/alluxio-go/alluxio/client/internal/cli"
)

func main() {
	// Span export failures (OTEL_EXPORTER_OTLP_* pointing nowhere) are
	// reported once, on one line, instead of by the OpenTelemetry default
	// logger; the command's own outcome is unaffected.
	var once sync.Once
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		once.Do(func() {
			fmt.Fprintln(os.Stderr, "alluxio: tracing: "+strings.Join(strings.Fields(err.Error()), " "))
		})
	}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
