package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/telemetry"
)

// tracing is the tracing state of one CLI run: the provider from
// telemetry.Setup (OTEL_* export), the in-memory collector of --trace, and
// the root span of the command.
type tracing struct {
	collector *spanCollector // nil without --trace
	shutdown  func(context.Context) error
	root      trace.Span
}

// startTracing sets up tracing for the command named by args (the words
// after the global flags) and returns the context carrying its root span.
// Without --trace and without OTEL_* variables it does nothing. A bad OTEL_*
// setting fails the command only when --trace asks for a trace.
func (e *env) startTracing(ctx context.Context, show bool, args []string) (context.Context, error) {
	var opts []telemetry.Option
	var col *spanCollector
	if show {
		col = &spanCollector{}
		opts = append(opts, telemetry.WithSpanProcessor(col))
	}
	if e.telemetryEnv != nil {
		opts = append(opts, telemetry.WithEnv(e.telemetryEnv))
	}
	shutdown, tp, err := telemetry.Setup(ctx, "alluxio-cli", opts...)
	if err != nil {
		if show {
			return ctx, err
		}
		return ctx, nil
	}
	if _, ok := tp.(*sdktrace.TracerProvider); !ok {
		return ctx, nil // nothing to export, nothing to show
	}
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	name := strings.TrimSpace("alluxio " + strings.Join(words, " "))
	ctx, root := tp.Tracer("github.com/alluxio-go/alluxio/client/cli").Start(ctx, name,
		trace.WithAttributes(attribute.StringSlice("alluxio.cli.args", args)))
	e.tracing = &tracing{collector: col, shutdown: shutdown, root: root}
	e.clientOpts = append(e.clientOpts, client.WithTracerProvider(tp))
	return ctx, nil
}

// finishTracing ends the root span, flushes the exporters and, with --trace,
// prints the span tree to w.
func (e *env) finishTracing(err error, w io.Writer) {
	t := e.tracing
	if t == nil {
		return
	}
	e.tracing = nil
	if err != nil {
		t.root.SetStatus(otelcodes.Error, oneLine(err.Error()))
	}
	t.root.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.shutdown(ctx) // export errors are the exporter's to report
	if t.collector != nil {
		printSpanTree(w, t.collector.spans())
	}
}

// spanCollector is a SpanProcessor that keeps ended spans in memory.
type spanCollector struct {
	mu    sync.Mutex
	ended []sdktrace.ReadOnlySpan
}

func (c *spanCollector) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *spanCollector) OnEnd(s sdktrace.ReadOnlySpan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = append(c.ended, s)
}
func (c *spanCollector) Shutdown(context.Context) error   { return nil }
func (c *spanCollector) ForceFlush(context.Context) error { return nil }

func (c *spanCollector) spans() []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), c.ended...)
}

// hiddenAttrs are attributes of gRPC spans the tree leaves out: the span
// name says them.
var hiddenAttrs = map[attribute.Key]bool{
	"rpc.system": true, "rpc.service": true, "rpc.method": true, "rpc.system.name": true, "network.type": true,
}

// printSpanTree prints spans as an indented tree, children in start order:
//
//	name  duration  key=value ...  [ERROR: description]
//	  - event-name key=value ... (+offset)
func printSpanTree(w io.Writer, spans []sdktrace.ReadOnlySpan) {
	if len(spans) == 0 {
		return
	}
	byID := map[trace.SpanID]bool{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = true
	}
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && byID[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(l []sdktrace.ReadOnlySpan) {
		sort.SliceStable(l, func(i, j int) bool { return l[i].StartTime().Before(l[j].StartTime()) })
	}
	byStart(roots)
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		ind := strings.Repeat("  ", depth)
		var b strings.Builder
		fmt.Fprintf(&b, "%s%s  %s", ind, s.Name(), fmtDuration(s.EndTime().Sub(s.StartTime())))
		grpcSpan := strings.Contains(s.InstrumentationScope().Name, "otelgrpc")
		for _, kv := range s.Attributes() {
			if grpcSpan && hiddenAttrs[kv.Key] || kv.Key == "alluxio.cli.args" {
				continue
			}
			fmt.Fprintf(&b, "  %s=%s", strings.TrimPrefix(string(kv.Key), "alluxio."), kv.Value.String())
		}
		if st := s.Status(); st.Code == otelcodes.Error {
			fmt.Fprintf(&b, "  ERROR")
			if st.Description != "" {
				fmt.Fprintf(&b, ": %s", oneLine(st.Description))
			}
		}
		fmt.Fprintln(w, b.String())
		for _, ev := range s.Events() {
			if ev.Name == "exception" {
				continue // the status says it
			}
			var eb strings.Builder
			fmt.Fprintf(&eb, "%s  - %s", ind, ev.Name)
			for _, kv := range ev.Attributes {
				fmt.Fprintf(&eb, "  %s=%s", strings.TrimPrefix(string(kv.Key), "alluxio."), kv.Value.String())
			}
			fmt.Fprintf(&eb, "  (+%s)", fmtDuration(ev.Time.Sub(s.StartTime())))
			fmt.Fprintln(w, eb.String())
		}
		kids := children[s.SpanContext().SpanID()]
		byStart(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	fmt.Fprintf(w, "trace %s\n", roots[0].SpanContext().TraceID())
	for _, r := range roots {
		walk(r, 0)
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
