package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/alluxio-go/alluxio/common/version"
)

// Option adjusts Setup.
type Option func(*options)

type options struct {
	processors []sdktrace.SpanProcessor
	lookup     func(string) (string, bool)
	attrs      []attribute.KeyValue
}

// WithSpanProcessor adds a span processor (e.g. one that keeps spans in
// memory for the CLI's --trace, or a test recorder) besides the exporter the
// environment asks for. With one, Setup always returns an SDK provider.
func WithSpanProcessor(sp sdktrace.SpanProcessor) Option {
	return func(o *options) { o.processors = append(o.processors, sp) }
}

// WithEnv replaces os.LookupEnv for the variables Setup itself reads
// (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*ENDPOINT, *PROTOCOL,
// OTEL_SDK_DISABLED). The exporters and the SDK still read the process
// environment for their own settings.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookup = lookup }
}

// WithAttributes adds resource attributes (e.g. the process's address).
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(o *options) { o.attrs = append(o.attrs, attrs...) }
}

// Exporter names of OTEL_TRACES_EXPORTER.
const (
	exporterNone = "none"
	exporterOTLP = "otlp"
)

// Setup builds the TracerProvider of one process named service from the
// OTEL_* environment (see the package documentation). It sets no global.
// shutdown flushes and stops the exporter; it is idempotent and safe to call
// with a no-op provider.
func Setup(ctx context.Context, service string, opts ...Option) (shutdown func(context.Context) error, tp trace.TracerProvider, err error) {
	o := options{lookup: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	env := func(k string) string {
		v, _ := o.lookup(k)
		return strings.TrimSpace(v)
	}
	nop := func(context.Context) error { return nil }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return nop, noop.NewTracerProvider(), nil
	}
	exporters, err := exporterNames(env)
	if err != nil {
		return nil, nil, err
	}
	if len(exporters) == 0 && len(o.processors) == 0 {
		return nop, noop.NewTracerProvider(), nil
	}

	res, err := resource.New(ctx,
		resource.WithAttributes(append([]attribute.KeyValue{
			attribute.String("service.name", service),
			attribute.String("service.version", version.Version),
		}, o.attrs...)...),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, name := range exporters {
		switch name {
		case exporterOTLP:
			exp, err := otlpExporter(ctx, env)
			if err != nil {
				return nil, nil, err
			}
			tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		}
	}
	for _, sp := range o.processors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
	}
	sdk := sdktrace.NewTracerProvider(tpOpts...)
	var once sync.Once
	var shutdownErr error
	shutdown = func(ctx context.Context) error {
		once.Do(func() {
			if err := sdk.Shutdown(ctx); err != nil {
				shutdownErr = fmt.Errorf("telemetry: shutdown: %w", err)
			}
		})
		return shutdownErr
	}
	return shutdown, sdk, nil
}

// exporterNames reads OTEL_TRACES_EXPORTER (a comma-separated list).
func exporterNames(env func(string) string) ([]string, error) {
	v := env("OTEL_TRACES_EXPORTER")
	if v == "" {
		if env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
			return []string{exporterOTLP}, nil
		}
		return nil, nil
	}
	var out []string
	for _, name := range strings.Split(v, ",") {
		switch name = strings.ToLower(strings.TrimSpace(name)); name {
		case "", exporterNone:
		case exporterOTLP:
			out = append(out, name)
		default:
			return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q: unsupported exporter %q (want otlp or none)", v, name)
		}
	}
	return out, nil
}

// otlpExporter builds the OTLP exporter of the configured protocol. The
// exporter reads its endpoint and other settings from the environment.
func otlpExporter(ctx context.Context, env func(string) string) (sdktrace.SpanExporter, error) {
	proto := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch strings.ToLower(proto) {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "http/json":
		err = errors.New("http/json is not supported (want grpc or http/protobuf)")
	default:
		err = fmt.Errorf("unknown protocol %q (want grpc or http/protobuf)", proto)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	return exp, nil
}
