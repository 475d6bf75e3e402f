// Package telemetry sets up OpenTelemetry tracing for the Alluxio daemons and
// the CLI from the standard OTEL_* environment, without touching any global:
// the caller passes the returned TracerProvider to what it instruments
// (otelgrpc stats handlers, client.WithTracerProvider).
//
//	shutdown, tp, err := telemetry.Setup(ctx, "alluxio-worker")
//	if err != nil { ... }
//	defer shutdown(context.Background()) // flushes buffered spans
//	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(
//	    otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{}))))
//
// # Environment
//
// Spans are exported with OTLP when OTEL_TRACES_EXPORTER is "otlp", or when it
// is unset and OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is set. OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (else OTEL_EXPORTER_OTLP_PROTOCOL)
// chooses "grpc" or "http/protobuf" (the default, as the specification says).
// The exporters read the other OTEL_EXPORTER_OTLP_* variables (endpoint,
// headers, timeout, insecure, certificates) themselves; the SDK reads
// OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and OTEL_BSP_*.
// OTEL_TRACES_EXPORTER=none, or nothing set, exports nothing.
// OTEL_SDK_DISABLED=true disables tracing altogether.
//
// The resource carries service.name (the service argument, overridden by
// OTEL_SERVICE_NAME), service.version, and OTEL_RESOURCE_ATTRIBUTES.
//
// With nothing to export and no extra span processor (WithSpanProcessor),
// Setup returns a no-op provider, so tracing costs nothing.
package telemetry
