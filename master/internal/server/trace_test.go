package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// TestServerSpans checks that every RPC makes a server span, child of the
// caller's span when the request carries W3C trace context.
func TestServerSpans(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ufs"), 0o755)
	c, err := conf.FromMap(map[string]string{
		"alluxio.master.journal.folder":       filepath.Join(dir, "journal"),
		"alluxio.master.mount.table.root.ufs": filepath.Join(dir, "ufs"),
		"alluxio.master.rpc.port":             "0",
		"alluxio.master.web.port":             "0",
		"alluxio.master.bind.host":            "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv, err := Start(context.Background(), Options{Conf: c, Logger: slog.New(slog.DiscardHandler), TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	conn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The caller's span, sent as a traceparent header.
	ctx, parent := sdktrace.NewTracerProvider().Tracer("test").Start(context.Background(), "client call")
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rctx = metadataFrom(rctx, carrier)
	if _, err := alluxiopb.NewFileSystemMasterClientServiceClient(conn).CreateDirectory(rctx, &alluxiopb.CreateDirectoryRequest{Path: "/traced"}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	var found bool
	for _, s := range rec.Ended() {
		if s.Name() == "alluxio.FileSystemMasterClientService/CreateDirectory" {
			found = true
			if s.Parent().TraceID() != parent.SpanContext().TraceID() || s.Parent().SpanID() != parent.SpanContext().SpanID() || !s.Parent().IsRemote() {
				t.Fatalf("server span's parent %v, want the caller's span %v", s.Parent(), parent.SpanContext())
			}
		}
	}
	if !found {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.Name())
		}
		t.Fatalf("no server span for CreateDirectory among %v", names)
	}
}

func metadataFrom(ctx context.Context, c propagation.MapCarrier) context.Context {
	var kv []string
	for k, v := range c {
		kv = append(kv, k, v)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
