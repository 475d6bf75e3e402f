package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// tracedClient dials the worker with an otelgrpc client handler that
// propagates W3C trace context.
func tracedClient(t *testing.T, addr string, tp *sdktrace.TracerProvider) alluxiopb.BlockWorkerClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{}))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return alluxiopb.NewBlockWorkerClient(conn)
}

func TestTraceContextReachesWorkerSpans(t *testing.T) {
	m := startFakeMaster(t, "")
	serverRec := tracetest.NewSpanRecorder()
	w := startWorkerWith(t, workerProps(t, m.addr), Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(serverRec))})
	waitFor(t, "registration", func() bool { return w.Master.Registered() })

	clientRec := tracetest.NewSpanRecorder()
	ctp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(clientRec))
	c := tracedClient(t, w.Addr(), ctp)
	ctx, parent := ctp.Tracer("test").Start(context.Background(), "client call")
	stream, err := c.ReadBlock(ctx, &alluxiopb.ReadBlockRequest{BlockId: 12345, Length: 1})
	if err == nil {
		_, err = stream.Recv()
	}
	if err == nil {
		t.Fatal("reading a missing block succeeded")
	}
	parent.End()

	var server sdktrace.ReadOnlySpan
	waitFor(t, "the server span", func() bool {
		for _, s := range serverRec.Ended() {
			if strings.Contains(s.Name(), "BlockWorker/ReadBlock") {
				server = s
				return true
			}
		}
		return false
	})
	if server.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("server span in trace %s, client in %s", server.SpanContext().TraceID(), parent.SpanContext().TraceID())
	}
	if !server.Parent().IsRemote() {
		t.Error("server span's parent is not the remote client span")
	}
}

// TestTracingFromEnvironmentFlushedByShutdown starts the worker without a
// provider: it sets one up from OTEL_EXPORTER_OTLP_ENDPOINT, and Shutdown
// flushes its spans to the collector.
func TestTracingFromEnvironmentFlushedByShutdown(t *testing.T) {
	var mu sync.Mutex
	var names, services []string
	col := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collpb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					services = append(services, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
		mu.Unlock()
		b, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
		rw.Header().Set("Content-Type", "application/x-protobuf")
		rw.Write(b)
	}))
	defer col.Close()
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)

	m := startFakeMaster(t, "")
	w := startWorker(t, workerProps(t, m.addr))
	waitFor(t, "registration", func() bool { return w.Master.Registered() })
	ctp := sdktrace.NewTracerProvider()
	c := tracedClient(t, w.Addr(), ctp)
	if _, err := writeBlock(t, c, 777, []byte("traced"), 4); err != nil {
		t.Fatal(err)
	}
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, n := range names {
		found = found || strings.Contains(n, "BlockWorker/WriteBlock")
	}
	if !found || len(services) == 0 || services[0] != "alluxio-worker" {
		t.Errorf("collector got spans %v from %v", names, services)
	}
}
