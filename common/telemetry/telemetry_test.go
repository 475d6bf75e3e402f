package telemetry

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// clearEnv unsets every variable Setup or the exporters read, so the
// machine's environment does not leak into a test.
func clearEnv(t *testing.T) {
	for _, k := range []string{
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	} {
		t.Setenv(k, "")
	}
}

func TestNothingConfiguredIsNoop(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
	} {
		clearEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		shutdown, tp, err := Setup(context.Background(), "svc")
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if _, ok := tp.(noop.TracerProvider); !ok {
			t.Errorf("%v: provider %T, want noop", env, tp)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func TestSpanProcessorAndResource(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
	rec := tracetest.NewSpanRecorder()
	shutdown, tp, err := Setup(context.Background(), "alluxio-test", WithSpanProcessor(rec), WithAttributes(attribute.String("alluxio.address", "h:1")))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "op" {
		t.Fatalf("spans %v", spans)
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource().Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range map[string]string{"service.name": "alluxio-test", "deployment.environment": "test", "alluxio.address": "h:1"} {
		if got[k] != v {
			t.Errorf("resource %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	t.Setenv("OTEL_SERVICE_NAME", "renamed")
	_, tp, err = Setup(context.Background(), "alluxio-test", WithSpanProcessor(tracetest.NewSpanRecorder()))
	if err != nil {
		t.Fatal(err)
	}
	if n := serviceName(t, tp); n != "renamed" {
		t.Errorf("OTEL_SERVICE_NAME: service.name = %q", n)
	}
}

func serviceName(t *testing.T, tp any) string {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	sdk := tp.(*sdktrace.TracerProvider)
	sdk.RegisterSpanProcessor(rec)
	_, span := sdk.Tracer("t").Start(context.Background(), "x")
	span.End()
	for _, kv := range rec.Ended()[0].Resource().Attributes() {
		if kv.Key == "service.name" {
			return kv.Value.AsString()
		}
	}
	return ""
}

func TestBadExporterIsAnError(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	if _, _, err := Setup(context.Background(), "svc"); err == nil || !strings.Contains(err.Error(), "zipkin") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	if _, _, err := Setup(context.Background(), "svc"); err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Errorf("err = %v", err)
	}
}

// collector gathers the spans of OTLP export requests.
type collector struct {
	collpb.UnimplementedTraceServiceServer
	mu       sync.Mutex
	spans    []string
	services []string
}

func (c *collector) add(req *collpb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				c.services = append(c.services, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, s.GetName())
			}
		}
	}
}

func (c *collector) Export(_ context.Context, req *collpb.ExportTraceServiceRequest) (*collpb.ExportTraceServiceResponse, error) {
	c.add(req)
	return &collpb.ExportTraceServiceResponse{}, nil
}

func (c *collector) got() ([]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.spans...), append([]string(nil), c.services...)
}

func exportOne(t *testing.T, service string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdown, tp, err := Setup(ctx, service)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tp.(*sdktrace.TracerProvider); !ok {
		t.Fatalf("provider %T, want the SDK's", tp)
	}
	_, span := tp.Tracer("t").Start(ctx, "exported-span")
	span.End()
	if err := shutdown(ctx); err != nil { // flushes
		t.Fatal(err)
	}
}

func TestOTLPHTTPExport(t *testing.T) {
	clearEnv(t)
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req := &collpb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL) // exporter chosen by the endpoint alone
	exportOne(t, "alluxio-http")
	spans, services := c.got()
	if len(spans) != 1 || spans[0] != "exported-span" || services[0] != "alluxio-http" {
		t.Errorf("collector got spans %v from %v", spans, services)
	}
}

func TestOTLPGRPCExport(t *testing.T) {
	clearEnv(t)
	c := &collector{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collpb.RegisterTraceServiceServer(srv, c)
	go srv.Serve(lis)
	defer srv.Stop()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+lis.Addr().String())
	exportOne(t, "alluxio-grpc")
	spans, services := c.got()
	if len(spans) != 1 || spans[0] != "exported-span" || services[0] != "alluxio-grpc" {
		t.Errorf("collector got spans %v from %v", spans, services)
	}
}
