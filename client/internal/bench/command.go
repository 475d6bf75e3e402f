package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/uri"
)

// Command is `alluxio bench`. config loads the client configuration (the
// CLI's --conf-dir and -D applied); progress and reports go to stdout.
func Command(config func() (*conf.Config, error), stdout io.Writer) *cli.Command {
	common := []cli.Flag{
		&cli.StringFlag{Name: "master", Usage: "master `host:port` (default: from the configuration)"},
		&cli.BoolFlag{Name: "start-cluster", Usage: "start a private local master and worker from --bin-dir instead of using the configured cluster"},
		&cli.StringFlag{Name: "bin-dir", Usage: "directory of alluxio-master and alluxio-worker for --start-cluster (default: next to this executable)"},
		&cli.StringFlag{Name: "doc", Usage: "rewrite this command's sections of a Markdown `file` (docs/benchmarks.md)"},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of this (client) process to `file`"},
		&cli.DurationFlag{Name: "baseline-duration", Value: 3 * time.Second, Usage: "length of the TCP and fsync baselines"},
		&cli.StringFlag{Name: "journal-dir", Usage: "directory on the journal's disk for the fsync baseline (default: alluxio.master.journal.folder)"},
	}
	masterFlags := []cli.Flag{
		&cli.IntFlag{Name: "clients", Value: 32, Usage: "concurrent clients, one gRPC connection each"},
		&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "length of each closed loop"},
		&cli.StringFlag{Name: "ops", Value: strings.Join(MasterOps, ","), Usage: "operations to run"},
		&cli.BoolFlag{Name: "search", Usage: "also search the maximum throughput of create and getStatus by doubling the clients"},
		&cli.IntFlag{Name: "search-max", Value: 256, Usage: "most clients in the search"},
		&cli.StringFlag{Name: "sweep", Usage: "create-file at these client counts for the plot, e.g. 1,2,4,8,16,32,64,128"},
		&cli.DurationFlag{Name: "step", Value: 3 * time.Second, Usage: "length of each search or sweep step"},
		&cli.StringFlag{Name: "plot", Usage: "write the sweep's PNG plot to `file`"},
	}
	ioFlags := []cli.Flag{
		&cli.StringFlag{Name: "size", Value: "256MB", Usage: "size of each file"},
		&cli.StringFlag{Name: "io-clients", Value: "1,4", Usage: "concurrency levels"},
		&cli.StringFlag{Name: "grpc-window", Usage: "client HTTP/2 stream and connection window (e.g. 8MB; default: gRPC's, 64 KiB growing by BDP estimation), to test the read path"},
	}
	memFlags := []cli.Flag{
		&cli.IntFlag{Name: "files", Value: 1_000_000, Usage: "empty files to create"},
		&cli.IntFlag{Name: "master-pid", Usage: "the master's pid (RSS from /proc; SIGTERM for the restart)"},
		&cli.StringFlag{Name: "restart-cmd", Usage: "shell command that starts the master again (with --master-pid)"},
		&cli.StringFlag{Name: "metrics-url", Usage: "the master's /metrics (default http://<master host>:<alluxio.master.web.port>/metrics)"},
		&cli.StringFlag{Name: "section", Value: "memory", Usage: "name of the doc section to write"},
		&cli.BoolFlag{Name: "keep", Usage: "leave the files in place (e.g. to take a heap profile of the master afterwards)"},
	}
	run := func(kind string) cli.ActionFunc {
		return func(c *cli.Context) error {
			r := &runner{c: c, out: stdout, config: config, kind: kind}
			return r.run(c.Context)
		}
	}
	cat := func(name string, fs []cli.Flag) []cli.Flag {
		for _, f := range fs {
			switch f := f.(type) {
			case *cli.StringFlag:
				f.Category = name
			case *cli.IntFlag:
				f.Category = name
			case *cli.BoolFlag:
				f.Category = name
			case *cli.DurationFlag:
				f.Category = name
			}
		}
		return fs
	}
	all := func(groups ...[]cli.Flag) []cli.Flag {
		var out []cli.Flag
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}
	cat("cluster", common)
	cat("master", masterFlags)
	cat("io", ioFlags)
	cat("memory", memFlags)
	return &cli.Command{
		Name:  "bench",
		Usage: "benchmark the cluster beside physical baselines (docs/benchmarks.md)",
		Subcommands: []*cli.Command{
			{Name: "master", Usage: "metadata throughput and latency: create-file, getStatus, listStatus, rename, delete", Flags: all(common, masterFlags), Action: run("master")},
			{Name: "io", Usage: "sequential write and read of large files: remote and short-circuit, cold and warm", Flags: all(common, ioFlags), Action: run("io")},
			{Name: "memory", Usage: "master memory per file and start-to-serving time after replay and from a checkpoint", Flags: all(common, memFlags, []cli.Flag{&cli.IntFlag{Name: "clients", Value: 32, Usage: "concurrent creators"}}), Action: run("memory")},
			{Name: "baseline", Usage: "the physical baselines only", Flags: all(common, []cli.Flag{&cli.IntFlag{Name: "clients", Value: 32}, &cli.DurationFlag{Name: "duration", Value: 10 * time.Second}, &cli.StringFlag{Name: "size", Value: "256MB"}}), Action: run("baseline")},
			{Name: "noop-server", Hidden: true, Usage: "serve the no-op gRPC baseline until stdin closes", Action: func(c *cli.Context) error {
				return ServeNoop(c.Context, os.Stdin, stdout)
			}},
			{Name: "all", Usage: "the standard set (make bench): baselines, master with search and sweep, io, memory", Flags: all(common, masterFlags, ioFlags, memFlags), Action: run("all")},
		},
	}
}

type runner struct {
	c       *cli.Context
	out     io.Writer
	config  func() (*conf.Config, error)
	kind    string
	cfg     *conf.Config
	addr    string
	cluster *LocalCluster
	at      time.Time
	cmdline string
	base    Baselines
}

// Baselines are the physical references of one run.
type Baselines struct {
	GRPCNoop        float64 // ops/s at GRPCClients
	GRPCNoopLat     Latencies
	GRPCClients     int
	GRPCHow         string        // "separate process" or "in-process"
	GRPCCPU         time.Duration // CPU time per call, client and server; -1 unknown
	TCP             float64       // bytes/s
	TCPCPU          time.Duration // CPU time of both ends per GiB
	Tmpfs           float64       // bytes/s
	TmpfsCPU        time.Duration // CPU time per GiB
	TmpfsSize       int64
	Fsync           float64 // per second
	FsyncDir        string
	measuredGRPC    bool
	measuredStreams bool
	measuredFsync   bool
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (r *runner) run(ctx context.Context) (err error) {
	r.at = time.Now()
	r.cmdline = "alluxio " + strings.Join(os.Args[1:], " ")
	if p := r.c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if r.c.Bool("start-cluster") {
		bin := r.c.String("bin-dir")
		if bin == "" {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			bin = filepath.Dir(exe)
		}
		r.logf("starting a local cluster from %s", bin)
		r.cluster, err = StartLocalCluster(ctx, bin, 6<<30, nil)
		if err != nil {
			return err
		}
		defer func() {
			if r.cluster == nil {
				return
			}
			if cerr := r.cluster.Close(); err == nil {
				err = cerr
			}
		}()
		if r.cfg, err = r.cluster.ClientConf(); err != nil {
			return err
		}
		r.addr = r.cluster.MasterAddr()
		r.logf("cluster up: master %s, journal %s, tier %s", r.addr, r.cluster.Journal, r.cluster.Tier)
	} else {
		if r.cfg, err = r.config(); err != nil {
			return err
		}
		r.addr = r.c.String("master")
		if r.addr == "" {
			// The leader, through ZooKeeper when the configuration enables it.
			ic, err := client.InquireClientFromURI(uri.URI{}, r.cfg)
			if err != nil {
				return err
			}
			if c, ok := ic.(io.Closer); ok {
				defer c.Close()
			}
			if r.addr, err = ic.GetPrimaryRPCAddress(ctx); err != nil {
				return fmt.Errorf("find the leader master: %w", err)
			}
		}
	}
	var sections []Section
	add := func(s []Section, err error) error {
		sections = append(sections, s...)
		for _, x := range s {
			fmt.Fprintf(r.out, "\n%s\n", x.Body)
		}
		return err
	}
	switch r.kind {
	case "master":
		err = add(r.master(ctx))
	case "io":
		err = add(r.io(ctx))
	case "memory":
		err = add(r.memory(ctx))
	case "baseline":
		if err = r.baselines(ctx, true, true, true); err == nil {
			err = add([]Section{r.baselineSection()}, nil)
		}
	case "all":
		if err = r.baselines(ctx, true, true, true); err != nil {
			return err
		}
		for _, f := range []func(context.Context) ([]Section, error){r.master, r.io, r.memory} {
			if err = add(f(ctx)); err != nil {
				break
			}
		}
		sections = append([]Section{r.baselineSection()}, sections...)
	}
	if err != nil {
		return err
	}
	if doc := r.c.String("doc"); doc != "" {
		if err := UpdateDoc(doc, sections); err != nil {
			return err
		}
		r.logf("updated %s", doc)
	}
	return nil
}

func (r *runner) journalDir() string {
	if d := r.c.String("journal-dir"); d != "" {
		return d
	}
	if r.cluster != nil {
		return r.cluster.Journal
	}
	return r.cfg.Get("alluxio.master.journal.folder")
}

// baselines measures the physical references not yet measured.
func (r *runner) baselines(ctx context.Context, grpcNoop, streams, fsync bool) error {
	b := &r.base
	if grpcNoop && !b.measuredGRPC {
		clients := 32
		if r.c.IsSet("clients") || r.kind != "all" {
			clients = max(1, r.c.Int("clients"))
		}
		d := r.c.Duration("duration")
		if d <= 0 {
			d = 10 * time.Second
		}
		addr, how, pid := "", "in-process", 0
		// A separate process, as the master is; not from a test binary.
		if exe, err := os.Executable(); err == nil && strings.HasPrefix(filepath.Base(exe), "alluxio") {
			a, p, stop, err := StartNoopServer(exe)
			if err != nil {
				return err
			}
			defer stop()
			addr, how, pid = a, "separate process", p
		}
		rate, lat, cpu, err := GRPCNoopCPU(ctx, addr, pid, clients, d)
		if err != nil {
			return err
		}
		b.GRPCHow, b.GRPCCPU = how, cpu
		b.GRPCNoop, b.GRPCNoopLat, b.GRPCClients, b.measuredGRPC = rate, lat, clients, true
		r.logf("baseline: no-op gRPC %s ops/s with %d clients (p50 %s, p99 %s)", fmtNum(rate), clients, fmtDur(lat.P50), fmtDur(lat.P99))
	}
	if streams && !b.measuredStreams {
		tcp, tcpCPU, err := TCPLoopbackCPU(ctx, r.c.Duration("baseline-duration"))
		if err != nil {
			return err
		}
		size, err := conf.ParseBytes(r.c.String("size"))
		if err != nil || size <= 0 {
			size = 256 << 20
		}
		tmpfs, tmpfsCPU, err := TmpfsReadCPU(ctx, "/dev/shm", size)
		if err != nil {
			return err
		}
		b.TCP, b.TCPCPU, b.Tmpfs, b.TmpfsCPU, b.TmpfsSize, b.measuredStreams = tcp, tcpCPU, tmpfs, tmpfsCPU, size, true
		r.logf("baseline: loopback TCP %s, tmpfs read %s", fmtBytesRate(tcp), fmtBytesRate(tmpfs))
	}
	if fsync && !b.measuredFsync {
		dir := r.journalDir()
		rate, err := FsyncRate(ctx, dir, r.c.Duration("baseline-duration"))
		if err != nil {
			return err
		}
		b.Fsync, b.FsyncDir, b.measuredFsync = rate, dir, true
		r.logf("baseline: fsync %s/s in %s", fmtNum(rate), dir)
	}
	return nil
}

func (r *runner) baselineSection() Section {
	b := r.base
	var s strings.Builder
	s.WriteString("## Baselines\n\n")
	s.WriteString(Provenance(r.cmdline, r.at))
	s.WriteString("\n| baseline | value | how |\n|---|---:|---|\n")
	if b.measuredGRPC {
		fmt.Fprintf(&s, "| no-op gRPC round trip on loopback | %s ops/s (p50 %s, p99 %s; %s CPU per call) | grpc.health Check server (%s: `alluxio bench noop-server`), %d clients with one connection each, closed loop |\n",
			fmtNum(b.GRPCNoop), fmtDur(b.GRPCNoopLat.P50), fmtDur(b.GRPCNoopLat.P99), fmtDur(b.GRPCCPU), b.GRPCHow, b.GRPCClients)
	}
	if b.measuredStreams {
		fmt.Fprintf(&s, "| loopback TCP, one stream | %s (%.2f CPU-s/GiB) | 1 MiB writes for %s, both ends in this process |\n", fmtBytesRate(b.TCP), b.TCPCPU.Seconds(), r.c.Duration("baseline-duration"))
		fmt.Fprintf(&s, "| sequential read of a tmpfs file | %s (%.2f CPU-s/GiB) | %s file in /dev/shm, 1 MiB reads, best of 5 |\n", fmtBytesRate(b.Tmpfs), b.TmpfsCPU.Seconds(), fmtBytes(b.TmpfsSize))
	}
	if b.measuredFsync {
		fmt.Fprintf(&s, "| fsync of small appends on the journal disk | %s /s | 128-byte append + fsync for %s in the journal folder's file system (%s) |\n", fmtNum(b.Fsync), r.c.Duration("baseline-duration"), b.FsyncDir)
	}
	return Section{Name: "baselines", Body: s.String()}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
