// Package server runs a master: it replays the journal into the file system
// and block masters, starts a new journal term, and serves the gRPC services
// (FileSystemMasterClientService, BlockMasterWorkerService,
// BlockMasterClientService, MetaMasterClientService) and a web endpoint with
// /metrics (Prometheus text) and /healthz.
//
// Errors are translated to gRPC status codes in one place, the interceptors
// here, which also recover panics and refuse leader-only RPCs when the
// Leadership says this master is not the leader.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/blockmaster"
	"github.com/alluxio-go/alluxio/master/internal/fsmaster"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/journalstore"
	"github.com/alluxio-go/alluxio/master/internal/leadership"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// MaxMessageBytes bounds gRPC messages in both directions.
const MaxMessageBytes = 64 << 20

// streamWorkers is how many goroutines the gRPC server keeps to serve RPCs
// (grpc.NumStreamWorkers): enough for the usual number of concurrent
// clients, each of which may wait on a journal flush.
const streamWorkers = 64

// Flow-control windows of the gRPC server (the most a client may send
// before the server reads it): large enough for a worker's registration
// with many blocks at loopback speed.
const (
	streamWindow = 8 << 20
	connWindow   = 16 << 20
)

// tracing reports whether tp makes spans worth instrumenting RPCs for: any
// provider except the no-op one (what telemetry.Setup returns when no
// exporter is configured).
func tracing(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	return true
}

// Options configure a Server.
type Options struct {
	Conf    *conf.Config
	Logger  *slog.Logger
	Version string
	// UFS opens under file systems; nil means ufs.NewRegistry().
	UFS *ufs.Registry
	// TTLCheckInterval is how often expired TTLs are acted on (default 1 minute).
	TTLCheckInterval time.Duration
	// TracerProvider makes the server spans of every RPC (otelgrpc); nil
	// means no tracing.
	TracerProvider trace.TracerProvider
	// TailInterval is how often a standby looks for new journal entries
	// (default 20ms; a look that finds the logs unchanged costs two
	// directory listings).
	TailInterval time.Duration
	// FlushHook, if set, is called by the leader's journal writer at each
	// Flush: with stage "before" ahead of the fsync and with "after" once
	// the entries are durable, just before leadership is checked. Fault
	// tests use it to pause a leader in the middle of a write.
	FlushHook func(stage string, seq int64)
}

// Server is one running master.
type Server struct {
	opts  Options
	conf  *conf.Config
	log   *slog.Logger
	start time.Time

	journal *journal.Journal
	jstore  journal.Storage // the journal folder's storage (local or HDFS)
	// metricsJournal is journal for the metrics handler, which may run
	// before (HA) or while openJournal sets it.
	metricsJournal atomic.Pointer[journal.Journal]
	fs             *fsmaster.Master
	bm             *blockmaster.Master
	lead           leadership.Leadership
	static         *leadership.Static // SINGLE mode
	ha             *haMaster          // ZooKeeper mode
	replay         journal.ReplayResult

	grpc    *grpc.Server
	rpcLis  net.Listener
	web     *http.Server
	webLis  net.Listener
	reg     *prometheus.Registry
	rpcs    *prometheus.CounterVec
	okRPCs  sync.Map // full method name -> prometheus.Counter of its OK RPCs
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	stopped sync.Once
	stopErr error
}

// ErrJournalType is returned for journal types other than UFS.
var ErrJournalType = errors.New("server: unsupported journal type")

// Start replays the journal and starts serving. Without ZooKeeper
// (alluxio.zookeeper.enabled=false) the master is the only one (SINGLE): it
// starts a new journal term at once. With ZooKeeper it serves as a STANDBY
// that tails the journal and campaigns for leadership in the background
// (see ha.go). The caller must Shutdown.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = noop.NewTracerProvider()
	}
	c := opts.Conf
	s := &Server{opts: opts, conf: c, log: opts.Logger, start: time.Now()}
	if jt := c.Get("alluxio.master.journal.type"); jt != "UFS" {
		return nil, fmt.Errorf("%w: alluxio.master.journal.type=%s (from %s); only UFS is supported", ErrJournalType, jt, c.Source("alluxio.master.journal.type"))
	}
	haMode := c.GetBool("alluxio.zookeeper.enabled")
	// The folder's storage, by its scheme (a path, file:// or hdfs://); an
	// HDFS folder that cannot be reached or written fails here, naming it.
	if s.jstore, err = journalstore.OpenConfigured(ctx, c); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.jstore.Close()
		}
	}()
	if haMode {
		if err := checkSharedJournal(ctx, s.jstore); err != nil {
			return nil, err
		}
		warnLoopback(ctx, s.log, c)
	} else if err := s.ensureFormatted(ctx); err != nil {
		return nil, err
	}
	reg := opts.UFS
	if reg == nil {
		reg = ufs.NewRegistry()
	}
	root := c.Get("alluxio.master.mount.table.root.ufs")
	rootOpts := c.GetPrefixed(conf.RootUFSOptionPrefix)
	if u, err := reg.Open(ctx, root, rootOpts); err != nil {
		s.log.Warn("cannot open the root UFS; namespace operations that touch it will fail", "alluxio.master.mount.table.root.ufs", root, "err", err)
	} else {
		if st, err := u.GetStatus(ctx, root); err != nil || !st.IsDir {
			s.log.Warn("the root UFS is not a reachable directory", "alluxio.master.mount.table.root.ufs", root, "err", err)
		}
		_ = u.Close()
	}
	s.bm = blockmaster.New(blockmaster.Config{WorkerTimeout: c.GetDuration("alluxio.master.worker.timeout"), Logger: s.log.With("component", "blockmaster")})
	fcfg := fsmaster.Config{
		RootUFS:          root,
		RootUFSOptions:   rootOpts,
		DefaultBlockSize: c.GetBytes("alluxio.user.block.size.bytes.default"),
		UFS:              reg,
		Blocks:           s.bm,
		Logger:           s.log.With("component", "fsmaster"),
	}
	if haMode {
		return s.startHA(ctx, fcfg)
	}
	s.fs = fsmaster.New(fcfg)
	self := net.JoinHostPort(c.Get("alluxio.master.hostname"), strconv.Itoa(c.GetInt("alluxio.master.rpc.port")))
	j, err := s.openJournal(self)
	if err != nil {
		return nil, err
	}
	if err := s.replayAll(ctx); err != nil {
		return nil, err
	}
	epoch := s.replay.LastEpoch + 1
	w, err := j.StartWriting(ctx, epoch)
	if err != nil {
		return nil, fmt.Errorf("start journal term %d: %w", epoch, err)
	}
	if err := s.applyNewTerm(epoch, self); err != nil {
		_ = w.Close()
		return nil, err
	}
	s.fs.StartLeading(w, j)
	// UFS operations journaled before a crash are performed before serving.
	s.fs.ResumeUfsOps(ctx)
	s.static = leadership.NewStatic(epoch, leadership.RoleSingle)
	s.lead = s.static
	if err := s.listen(); err != nil {
		s.fs.StopLeading()
		_ = w.Close()
		return nil, err
	}
	bgctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.bg.Add(3)
	go func() { defer s.bg.Done(); s.fs.RunUfsOps(bgctx) }()
	go func() { defer s.bg.Done(); s.bm.RunLostDetector(bgctx) }()
	go func() { defer s.bg.Done(); s.fs.RunTTLChecker(bgctx, opts.TTLCheckInterval) }()
	s.serve()
	s.log.Info("master serving", "rpc", s.rpcLis.Addr().String(), "web", s.webLis.Addr().String(), "epoch", epoch, "role", s.lead.Role())
	return s, nil
}

// openJournal opens the journal folder; leader names this master in the
// NewTermEntry of its terms.
func (s *Server) openJournal(leader string) (*journal.Journal, error) {
	c := s.conf
	j, err := journal.Open(journal.Config{
		Folder:                  c.Get("alluxio.master.journal.folder"),
		Storage:                 s.jstore,
		LogSizeBytesMax:         c.GetBytes("alluxio.master.journal.log.size.bytes.max"),
		CheckpointPeriodEntries: c.GetInt64("alluxio.master.journal.checkpoint.period.entries"),
		Logger:                  s.log,
		Leader:                  leader,
	})
	if err != nil {
		return nil, err
	}
	s.journal = j
	s.metricsJournal.Store(j)
	return j, nil
}

// replayAll rebuilds the namespace from the journal (start-up).
func (s *Server) replayAll(ctx context.Context) error {
	t0 := time.Now()
	folder := s.conf.Get("alluxio.master.journal.folder")
	res, err := s.journal.Replay(ctx, s.fs)
	if err != nil {
		return fmt.Errorf("replay journal %s: %w", folder, err)
	}
	s.fs.Replayed(res.LastSeq, res.LastEpoch)
	s.replay = res
	s.log.Info("journal replayed", "folder", folder, "entries", res.Entries, "last_seq", res.LastSeq, "last_epoch", res.LastEpoch,
		"checkpoint_seq", res.CheckpointSeq, "inodes", s.fs.InodeCount(), "took", time.Since(t0))
	return nil
}

// applyNewTerm applies to the namespace the NewTermEntry that
// journal.StartWriting has just written as seq LastSeq()+1 (the journal
// checked that the state machine ends where the journal did), so that the
// leader's journal sequence counts it as the standbys' does.
func (s *Server) applyNewTerm(epoch int64, leader string) error {
	return s.fs.Apply(&journalpb.JournalEntry{SequenceNumber: s.fs.LastSeq() + 1, Epoch: epoch,
		Entry: &journalpb.JournalEntry_NewTerm{NewTerm: &journalpb.NewTermEntry{Epoch: epoch, Leader: leader, TimeMs: time.Now().UnixMilli()}}})
}

// serve starts the gRPC and web servers on their listeners.
func (s *Server) serve() {
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		if err := s.grpc.Serve(s.rpcLis); err != nil {
			s.log.Error("gRPC server stopped", "err", err)
		}
	}()
	go func() {
		defer s.bg.Done()
		if err := s.web.Serve(s.webLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web server stopped", "err", err)
		}
	}()
}

// ensureFormatted formats an absent or empty journal folder in single-master
// mode; otherwise an unformatted folder is an error.
func (s *Server) ensureFormatted(ctx context.Context) error {
	folder := s.jstore.URI()
	ok, err := journal.IsFormattedStorage(ctx, s.jstore)
	if err != nil {
		return fmt.Errorf("check journal folder %s: %w", folder, err)
	}
	if ok {
		return nil
	}
	ents, rerr := s.jstore.List(ctx, "")
	empty := errors.Is(rerr, fs.ErrNotExist) || (rerr == nil && len(ents) == 0)
	if s.conf.GetBool("alluxio.zookeeper.enabled") || !empty {
		return fmt.Errorf("journal folder %s is not formatted; run `alluxio-master --format` (or `alluxio format`) first", folder)
	}
	if err := journal.FormatStorage(ctx, s.jstore); err != nil {
		return fmt.Errorf("format journal folder %s: %w", folder, err)
	}
	s.log.Info("journal folder was absent or empty; formatted it", "folder", folder)
	return nil
}

func (s *Server) listen() error {
	bind := s.conf.Get("alluxio.master.bind.host")
	var err error
	s.rpcLis, err = net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(s.conf.GetInt("alluxio.master.rpc.port"))))
	if err != nil {
		return fmt.Errorf("listen for RPC (alluxio.master.rpc.port): %w", err)
	}
	s.webLis, err = net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(s.conf.GetInt("alluxio.master.web.port"))))
	if err != nil {
		s.rpcLis.Close()
		return fmt.Errorf("listen for web (alluxio.master.web.port): %w", err)
	}
	s.setupMetrics()
	gopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		// Clients and workers may ping to notice a dead master quickly.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		// Long-lived goroutines serve the RPCs: their stacks have grown
		// already, where a goroutine per RPC grows (copies) its stack on
		// every call. When all are busy gRPC starts a goroutine as usual.
		grpc.NumStreamWorkers(streamWorkers),
		// Fixed flow-control windows: with the default dynamic window the
		// server answers the data frame of nearly every request with a BDP
		// ping and a window update, sent on their own (a write for the
		// server, a read and a ping ack for the client) while a mutation
		// waits for its journal flush.
		grpc.StaticStreamWindowSize(streamWindow), grpc.StaticConnWindowSize(connWindow),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	}
	if tracing(s.opts.TracerProvider) {
		// Server spans, children of the caller's span (W3C trace context).
		// Without a tracer provider that records, the handler would only
		// copy every RPC's metadata to make spans nobody sees.
		gopts = append(gopts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(s.opts.TracerProvider),
			otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
			otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()))))
	}
	s.grpc = grpc.NewServer(gopts...)
	alluxiopb.RegisterFileSystemMasterClientServiceServer(s.grpc, &fsService{fs: s.fs})
	alluxiopb.RegisterBlockMasterWorkerServiceServer(s.grpc, &blockWorkerService{bm: s.bm})
	alluxiopb.RegisterBlockMasterClientServiceServer(s.grpc, &blockClientService{bm: s.bm})
	alluxiopb.RegisterMetaMasterClientServiceServer(s.grpc, &metaService{s: s})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.fs.Writable(); err != nil && s.lead.IsLeader() {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if s.conf.GetBool("alluxio.master.debug.pprof.enabled") {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.web = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

func (s *Server) setupMetrics() {
	s.reg = prometheus.NewRegistry()
	s.rpcs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alluxio_master_rpcs_total", Help: "RPCs served, by method and status code."}, []string{"method", "code"})
	// Go runtime (go_memstats_*, go_goroutines, ...) and process
	// (process_resident_memory_bytes, ...) metrics: `alluxio bench memory`
	// reads the heap per file from them.
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(s.rpcs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_inodes", Help: "Inodes in the namespace, including the root."},
			func() float64 { return float64(s.fs.InodeCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_journal_sequence", Help: "Last journal sequence number applied."},
			func() float64 { return float64(s.fs.LastSeq()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "alluxio_master_journal_syncs_total", Help: "fsyncs of the open journal log (group-commit rounds and rotations) by this master."},
			func() float64 {
				if j := s.metricsJournal.Load(); j != nil {
					return float64(j.Syncs())
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_workers_live", Help: "Registered live workers."},
			func() float64 { return float64(s.bm.LiveWorkers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_pending_persists", Help: "Files waiting for asynchronous persistence."},
			func() float64 { return float64(s.fs.PendingPersists()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_pending_ufs_operations", Help: "UFS renames and deletions journaled but not yet performed."},
			func() float64 { return float64(s.fs.PendingUfsOps()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_epoch", Help: "Epoch of this master's leadership term (0 unless leader)."},
			func() float64 { return float64(s.lead.Epoch()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "alluxio_master_is_leader", Help: "1 when this master is the leader."},
			func() float64 {
				if s.lead.IsLeader() {
					return 1
				}
				return 0
			}),
	)
}

const metaPrefix = "/alluxio.MetaMasterClientService/"

func methodName(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

// finish translates an RPC's error in one place and counts the RPC.
func (s *Server) finish(method string, err error, recovered any) error {
	if recovered != nil {
		s.log.Error("panic in RPC handler", "method", method, "panic", recovered, "stack", stackTrace())
		err = status.Errorf(codes.Internal, "internal error in %s", methodName(method))
	}
	err = rpcstatus.ToGRPC(err)
	if err == nil {
		s.okCounter(method).Inc()
		return nil
	}
	s.rpcs.WithLabelValues(methodName(method), status.Code(err).String()).Inc()
	if c := status.Code(err); c == codes.Internal || c == codes.Unknown {
		s.log.Warn("RPC failed", "method", method, "err", err)
	}
	return err
}

// okCounter returns the counter of method's successful RPCs, made once per
// method (WithLabelValues hashes and looks up the labels on every call).
func (s *Server) okCounter(method string) prometheus.Counter {
	if c, ok := s.okRPCs.Load(method); ok {
		return c.(prometheus.Counter)
	}
	c, _ := s.okRPCs.LoadOrStore(method, s.rpcs.WithLabelValues(methodName(method), codes.OK.String()))
	return c.(prometheus.Counter)
}

func (s *Server) checkLeader(method string) error {
	if strings.HasPrefix(method, metaPrefix) || s.lead.IsLeader() {
		return nil
	}
	return fmt.Errorf("server: %w", rpcstatus.ErrNotLeader)
}

// checkStillLeader runs after a handler succeeded: its answer stands only if
// this master led for the whole call, in the same term (epoch) it led at the
// start. A term that ended meanwhile may have reset the namespace for a
// replay under the handler (a listing streamed in batches would then miss
// entries), so the client is told NOT_LEADER and asks the new leader.
func (s *Server) checkStillLeader(method string, epoch int64) error {
	if strings.HasPrefix(method, metaPrefix) || (s.lead.IsLeader() && s.lead.Epoch() == epoch) {
		return nil
	}
	return fmt.Errorf("server: leadership of epoch %d ended during %s: %w", epoch, methodName(method), rpcstatus.ErrNotLeader)
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		r := recover()
		err = s.finish(info.FullMethod, err, r)
		if err != nil {
			resp = nil
		}
	}()
	epoch := s.lead.Epoch()
	if err = s.checkLeader(info.FullMethod); err != nil {
		return nil, err
	}
	if resp, err = handler(ctx, req); err != nil {
		return nil, err
	}
	return resp, s.checkStillLeader(info.FullMethod, epoch)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		r := recover()
		err = s.finish(info.FullMethod, err, r)
	}()
	epoch := s.lead.Epoch()
	if err = s.checkLeader(info.FullMethod); err != nil {
		return err
	}
	if err = handler(srv, ss); err != nil {
		return err
	}
	return s.checkStillLeader(info.FullMethod, epoch)
}

// RPCAddr is the address the gRPC server listens on.
func (s *Server) RPCAddr() string { return s.rpcLis.Addr().String() }

// WebAddr is the address of the web server.
func (s *Server) WebAddr() string { return s.webLis.Addr().String() }

// FS exposes the file system master (for tests).
func (s *Server) FS() *fsmaster.Master { return s.fs }

// Blocks exposes the block master (for tests).
func (s *Server) Blocks() *blockmaster.Master { return s.bm }

func (s *Server) advertised() *alluxiopb.MasterAddress {
	_, port, _ := net.SplitHostPort(s.rpcLis.Addr().String())
	p, _ := strconv.Atoi(port)
	return &alluxiopb.MasterAddress{Host: s.conf.Get("alluxio.master.hostname"), RpcPort: int32(p)}
}

// participantID is this master's advertised host:port.
func (s *Server) participantID() string {
	a := s.advertised()
	return net.JoinHostPort(a.GetHost(), strconv.Itoa(int(a.GetRpcPort())))
}

func (s *Server) selfStatus(withDigest bool) (*alluxiopb.MasterStatus, error) {
	epoch := s.lead.Epoch()
	role := s.lead.Role()
	if role == leadership.RoleLeader && epoch == 0 {
		role = leadership.RoleStandby // the term ended between the two calls
	}
	st := &alluxiopb.MasterStatus{Address: s.advertised(), Role: role, Epoch: epoch,
		JournalSequence: s.fs.LastSeq(), StartTimeMs: s.start.UnixMilli(), Version: s.opts.Version,
		ParticipantId: s.participantID()}
	if st.Role == leadership.RoleStandby {
		// A standby reports the epoch of the journal it follows.
		st.Epoch = s.fs.LastEpoch()
	}
	if withDigest {
		seq, d, err := s.fs.Digest()
		if err != nil {
			return nil, err
		}
		st.JournalSequence, st.StateDigest = seq, d
	}
	return st, nil
}

func (s *Server) masterInfo(ctx context.Context) *alluxiopb.GetMasterInfoResponse {
	_, wport, _ := net.SplitHostPort(s.webLis.Addr().String())
	wp, _ := strconv.Atoi(wport)
	self, _ := s.selfStatus(false)
	r := &alluxiopb.GetMasterInfoResponse{
		Masters: []*alluxiopb.MasterStatus{self}, Version: s.opts.Version,
		StartTimeMs: s.start.UnixMilli(), UpTimeMs: time.Since(s.start).Milliseconds(),
		JournalFolder: s.conf.Get("alluxio.master.journal.folder"), ZookeeperEnabled: s.conf.GetBool("alluxio.zookeeper.enabled"),
		ZookeeperAddresses: s.conf.GetList("alluxio.zookeeper.address"), RpcPort: s.advertised().GetRpcPort(), WebPort: int32(wp),
	}
	if s.ha != nil {
		r.LeaderAddress, r.Masters = s.ha.masters(ctx, self)
		return r
	}
	if s.lead.IsLeader() {
		r.LeaderAddress = s.advertised()
	}
	return r
}

// Shutdown stops the master; it is idempotent. In ZooKeeper mode a leader
// first stops acknowledging writes and resigns, so a standby takes over at
// once, without waiting for a session timeout, and a standby leaves the
// election. Then RPCs drain (GracefulStop until ctx ends, then Stop), the
// journal writer is closed and the web server stops.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopped.Do(func() {
		if s.ha != nil {
			s.ha.leave(ctx)
		}
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.log.Warn("graceful stop timed out; stopping RPCs now")
			s.grpc.Stop()
			<-done
		}
		var errs []error
		if s.ha != nil {
			s.ha.stop()
		} else {
			s.static.Resign()
			if w := s.fs.StopLeading(); w != nil {
				if err := w.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close journal writer: %w", err))
				}
			}
		}
		if err := s.web.Shutdown(ctx); err != nil {
			_ = s.web.Close()
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.bg.Wait()
		_ = s.fs.Close()
		if s.jstore != nil {
			if err := s.jstore.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close journal storage: %w", err))
			}
		}
		s.stopErr = errors.Join(errs...)
		s.log.Info("master stopped")
	})
	return s.stopErr
}
