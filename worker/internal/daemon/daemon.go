// Package daemon assembles the alluxio-worker process: the tiered block store,
// the BlockWorker gRPC service, the master client and the web server
// (/metrics, /healthz). Run is the whole command line program, so tests run
// it in-process; Start is the same worker without flag parsing or signals.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/logging"
	"github.com/alluxio-go/alluxio/common/telemetry"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/common/version"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
	"github.com/alluxio-go/alluxio/worker/internal/masterclient"
	"github.com/alluxio-go/alluxio/worker/internal/metrics"
	"github.com/alluxio-go/alluxio/worker/internal/server"
)

// Options are optional knobs of Start, mostly for tests.
type Options struct {
	// Resolver finds the master; nil means ZooKeeper when
	// alluxio.zookeeper.enabled, else alluxio.master.hostname:alluxio.master.rpc.port.
	Resolver masterclient.MasterResolver
	// UFS is the UFS registry; nil means ufs.NewRegistry().
	UFS *ufs.Registry
	// LockLease overrides the short-circuit lock lease.
	LockLease time.Duration
	// LockJanitorInterval is how often expired leases are released; default 10s.
	LockJanitorInterval time.Duration
	// TracerProvider traces the gRPC server (otelgrpc stats handler, W3C
	// trace context from clients). nil means telemetry.Setup from the OTEL_*
	// environment, which Shutdown flushes; a given provider is the caller's
	// to shut down.
	TracerProvider trace.TracerProvider
}

// Worker is a running worker.
type Worker struct {
	log     *slog.Logger
	Store   *blockstore.Store
	Master  *masterclient.Client
	Metrics *metrics.Metrics

	svc     *server.Service
	grpc    *grpc.Server
	lis     net.Listener
	data    *server.DataServer
	dataLis net.Listener
	web     *http.Server
	webLis  net.Listener
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	// closers run at the end of Shutdown.
	closers []func() error
	// tracing flushes and stops the tracer provider Start set up (nil when
	// the caller passed one).
	tracing func(context.Context) error

	stopOnce sync.Once
	stopErr  error
}

// Start opens the store (recovering its blocks), starts serving gRPC and
// HTTP, and starts registering with the master in the background.
func Start(c *conf.Config, log *slog.Logger, opts Options) (*Worker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.GetBool("alluxio.zookeeper.enabled") && len(c.GetList("alluxio.zookeeper.address")) == 0 {
		return nil, fmt.Errorf("alluxio.zookeeper.enabled=true (from %s) but alluxio.zookeeper.address is empty", c.Source("alluxio.zookeeper.enabled"))
	}
	scfg, err := StoreConfig(c)
	if err != nil {
		return nil, err
	}
	scfg.Logger = log
	store, err := blockstore.Open(scfg)
	if err != nil {
		return nil, err
	}
	for _, t := range scfg.Tiers {
		for _, d := range t.Dirs {
			if mem, ok := onMemoryFS(d.Path); t.Alias == "MEM" && ok && !mem {
				log.Warn("worker: the MEM tier directory is not on tmpfs; blocks there are written to disk", "dir", d.Path)
			}
		}
	}
	reg := opts.UFS
	if reg == nil {
		reg = ufs.NewRegistry()
	}
	w := &Worker{log: log, Store: store, Metrics: metrics.New(store)}

	bind := net.JoinHostPort(c.Get("alluxio.worker.bind.host"), strconv.Itoa(c.GetInt("alluxio.worker.rpc.port")))
	w.lis, err = net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen for gRPC on %s (alluxio.worker.bind.host, alluxio.worker.rpc.port): %w", bind, err)
	}
	webBind := net.JoinHostPort(c.Get("alluxio.worker.bind.host"), strconv.Itoa(c.GetInt("alluxio.worker.web.port")))
	w.webLis, err = net.Listen("tcp", webBind)
	if err != nil {
		w.lis.Close()
		return nil, fmt.Errorf("listen for HTTP on %s (alluxio.worker.bind.host, alluxio.worker.web.port): %w", webBind, err)
	}

	dataBind := net.JoinHostPort(c.Get("alluxio.worker.bind.host"), strconv.Itoa(c.GetInt("alluxio.worker.data.port")))
	w.dataLis, err = net.Listen("tcp", dataBind)
	if err != nil {
		w.lis.Close()
		w.webLis.Close()
		return nil, fmt.Errorf("listen for data on %s (alluxio.worker.bind.host, alluxio.worker.data.port): %w", dataBind, err)
	}

	resolver := opts.Resolver
	switch {
	case resolver != nil:
	case c.GetBool("alluxio.zookeeper.enabled"):
		inq := zkleader.NewInquirer(zkleader.Config{
			Servers:           c.GetList("alluxio.zookeeper.address"),
			SessionTimeout:    c.GetDuration("alluxio.zookeeper.session.timeout"),
			ConnectionTimeout: c.GetDuration("alluxio.zookeeper.connection.timeout"),
			ElectionPath:      c.Get("alluxio.zookeeper.election.path"),
			LeaderPath:        c.Get("alluxio.zookeeper.leader.path"),
			InquiryRetry:      c.GetInt("alluxio.zookeeper.leader.inquiry.retry"),
			Logger:            log,
		})
		w.closers = append(w.closers, inq.Close)
		resolver = masterclient.ZKResolver{Inquirer: inq}
		log.Info("worker: finding the leader master through ZooKeeper", "zookeeper", c.Get("alluxio.zookeeper.address"), "leader_path", c.Get("alluxio.zookeeper.leader.path"))
	default:
		resolver = masterclient.NewStaticResolver(c.Get("alluxio.master.hostname"), c.GetInt("alluxio.master.rpc.port"))
	}
	addr := &alluxiopb.WorkerNetAddress{
		Host:           c.Get("alluxio.worker.hostname"),
		RpcPort:        int32(w.lis.Addr().(*net.TCPAddr).Port),
		WebPort:        int32(w.webLis.Addr().(*net.TCPAddr).Port),
		DataPort:       int32(w.dataLis.Addr().(*net.TCPAddr).Port),
		TieredIdentity: scfg.Tiers[0].Dirs[0].Path,
	}
	w.Master = masterclient.New(masterclient.Config{
		Resolver:          resolver,
		Store:             store,
		Address:           addr,
		HeartbeatInterval: c.GetDuration("alluxio.worker.block.heartbeat.interval"),
		UFS:               reg,
		Logger:            log,
	})
	w.Metrics.GaugeFunc("master_registered", "1 while the worker is registered with a master.", func() float64 {
		if w.Master.Registered() {
			return 1
		}
		return 0
	})
	w.Metrics.CounterFunc("heartbeats_total", "Heartbeats sent to the master.", func() float64 { return float64(w.Master.Counters().Heartbeats) })
	w.Metrics.CounterFunc("heartbeat_failures_total", "Heartbeats that failed.", func() float64 { return float64(w.Master.Counters().HeartbeatFailures) })
	w.Metrics.CounterFunc("registrations_total", "Registrations with a master (full block reports).", func() float64 { return float64(w.Master.Counters().Registrations) })
	w.svc = server.New(server.Config{
		Store: store, UFS: reg, Master: w.Master, MountProperties: w.Master.MountProperties, Metrics: w.Metrics, Logger: log, LockLease: opts.LockLease,
	})
	tp := opts.TracerProvider
	if tp == nil {
		var err error
		w.tracing, tp, err = telemetry.Setup(context.Background(), "alluxio-worker", telemetry.WithAttributes(
			attribute.String("alluxio.worker.address", net.JoinHostPort(addr.Host, strconv.Itoa(int(addr.RpcPort))))))
		if err != nil {
			w.lis.Close()
			w.webLis.Close()
			w.dataLis.Close()
			for _, f := range w.closers {
				_ = f()
			}
			return nil, fmt.Errorf("worker: tracing: %w", err)
		}
	}
	w.grpc = server.NewGRPCServer(w.svc, log, grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(propagation.TraceContext{}),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
	)))

	w.data = server.NewDataServer(w.svc, server.DataConfig{Logger: log})

	mux := http.NewServeMux()
	mux.Handle("/metrics", w.Metrics.Handler())
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		state := "registered"
		if !w.Master.Registered() {
			state = "not registered with a master"
		}
		fmt.Fprintf(rw, "ok (%s)\n", state)
	})
	w.web = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.bg.Add(5)
	go func() {
		defer w.bg.Done()
		if err := w.grpc.Serve(w.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			log.Error("worker: gRPC server stopped", "err", err)
		}
	}()
	go func() {
		defer w.bg.Done()
		if err := w.data.Serve(w.dataLis); err != nil && !errors.Is(err, server.ErrDataServerClosed) {
			log.Error("worker: data server stopped", "err", err)
		}
	}()
	go func() {
		defer w.bg.Done()
		if err := w.web.Serve(w.webLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker: web server stopped", "err", err)
		}
	}()
	go func() {
		defer w.bg.Done()
		_ = w.Master.Run(ctx)
	}()
	go func() {
		defer w.bg.Done()
		every := opts.LockJanitorInterval
		if every <= 0 {
			every = 10 * time.Second
		}
		w.svc.RunLockJanitor(ctx, every)
	}()
	usage := store.Usage()
	log.Info("worker: started", "rpc", w.lis.Addr().String(), "web", w.webLis.Addr().String(), "data", w.dataLis.Addr().String(),
		"advertised", net.JoinHostPort(addr.Host, strconv.Itoa(int(addr.RpcPort))), "blocks", store.BlockCount(), "tiers", fmt.Sprint(usage))
	return w, nil
}

// Addr is the gRPC listen address.
func (w *Worker) Addr() string { return w.lis.Addr().String() }

// DataAddr is the data server's listen address.
func (w *Worker) DataAddr() string { return w.dataLis.Addr().String() }

// WebAddr is the HTTP listen address.
func (w *Worker) WebAddr() string { return w.webLis.Addr().String() }

// Shutdown stops the worker: gRPC drains gracefully until ctx is done, then
// is stopped hard. It is idempotent.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() {
		w.cancel()
		done := make(chan struct{})
		go func() { w.grpc.GracefulStop(); close(done) }()
		dataDone := make(chan struct{})
		go func() { _ = w.data.Shutdown(ctx); close(dataDone) }()
		select {
		case <-done:
		case <-ctx.Done():
			w.grpc.Stop()
			<-done
		}
		<-dataDone
		w.stopErr = w.web.Shutdown(ctx)
		w.svc.Close()
		w.bg.Wait()
		for _, f := range w.closers {
			_ = f()
		}
		if w.tracing != nil {
			// Flush the spans of the last requests, even past ctx.
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := w.tracing(tctx); err != nil {
				w.log.Warn("worker: flushing traces failed", "err", err)
			}
			cancel()
		}
		w.log.Info("worker: stopped")
	})
	return w.stopErr
}

// defineFlags is -D key=value, repeatable.
type defineFlags map[string]string

func (d defineFlags) String() string { return "" }
func (d defineFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	d[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// splitD turns Java-style -Dkey=value into -D key=value for package flag.
func splitD(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if strings.HasPrefix(a, "-D") && len(a) > 2 && a[2] != '=' {
			out = append(out, "-D", a[2:])
			continue
		}
		out = append(out, a)
	}
	return out
}

// ErrUsage is returned for bad command line arguments (exit status 2).
var ErrUsage = errors.New("usage")

// Run is the alluxio-worker program: args are the arguments after the
// program name. It returns when ctx is done or on SIGTERM/SIGINT (nil after a
// graceful stop), or with an error for bad configuration.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("alluxio-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confDir := fs.String("conf-dir", "", "configuration directory (default $ALLUXIO_CONF_DIR, else $ALLUXIO_HOME/conf)")
	defines := defineFlags{}
	fs.Var(defines, "D", "override a property: -D key=value or -Dkey=value (repeatable)")
	format := fs.Bool("format", false, "delete the block data of every tier directory and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(splitD(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintf(stdout, "alluxio-worker %s\n", version.String())
		return nil
	}
	// Configuration warnings go to stderr at INFO until the level is known.
	c, err := conf.Load(conf.LoadOptions{
		Scope: conf.ScopeWorker, ConfDir: *confDir, Flags: defines,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, c.Get("alluxio.logger.level"))
	if err != nil {
		return err
	}
	if *format {
		scfg, err := StoreConfig(c)
		if err != nil {
			return err
		}
		if err := blockstore.Format(scfg); err != nil {
			return err
		}
		var dirs []string
		for _, t := range scfg.Tiers {
			for _, d := range t.Dirs {
				dirs = append(dirs, d.Path)
			}
		}
		sort.Strings(dirs)
		fmt.Fprintf(stdout, "Formatted worker storage: %s\n", strings.Join(dirs, ", "))
		return nil
	}
	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	w, err := Start(c, log, Options{})
	if err != nil {
		return err
	}
	<-sigCtx.Done()
	log.Info("worker: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return w.Shutdown(sctx)
}
