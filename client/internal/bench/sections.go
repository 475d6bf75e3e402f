package bench

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
)

// Targets of issue 5 (ratios to baselines, or absolute).
const (
	TargetGetStatus   = 0.7  // of the no-op gRPC rate
	TargetCreate      = 0.35 // of the no-op gRPC rate
	TargetRemoteRead  = 0.6  // of loopback TCP
	TargetRemoteWrite = 0.5  // of loopback TCP
	TargetSCRead      = 0.8  // of tmpfs read
	TargetHeapPerFile = 400  // bytes
	TargetStart       = 5 * time.Second
)

var opLabel = map[string]string{
	OpCreate:     "create-file (create + complete, durable journal)",
	OpGetStatus:  "getStatus",
	OpListStatus: "listStatus (1,000 entries)",
	OpRename:     "rename",
	OpDelete:     "delete",
}

func (r *runner) master(ctx context.Context) ([]Section, error) {
	if err := r.baselines(ctx, true, false, true); err != nil {
		return nil, err
	}
	ops := strings.Split(r.c.String("ops"), ",")
	if r.kind == "all" || len(ops) == 0 || ops[0] == "" {
		ops = MasterOps
	}
	o := MasterOptions{Addr: r.addr, Clients: r.c.Int("clients"), Duration: r.c.Duration("duration"), Ops: ops, Logf: r.logf}
	if r.cluster != nil {
		o.MasterPID = r.cluster.PID()
	}
	mb, err := NewMasterBench(ctx, o)
	if err != nil {
		return nil, err
	}
	defer mb.Close(context.WithoutCancel(ctx))
	var results []OpResult
	for _, op := range mb.o.Ops {
		res, err := mb.Run(ctx, strings.TrimSpace(op), mb.o.Clients, mb.o.Duration)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	b := r.base
	noop := fmt.Sprintf("%s ops/s no-op gRPC (%d clients)", fmtNum(b.GRPCNoop), b.GRPCClients)
	var rows []Row
	for _, res := range results {
		row := Row{Name: fmt.Sprintf("%s, %d clients", opLabel[res.Op], res.Clients), Figure: fmtNum(res.Rate) + " ops/s",
			Value: res.Rate, Baseline: noop, Base: b.GRPCNoop}
		switch res.Op {
		case OpCreate:
			row.Target, row.TargetText = TargetCreate, fmt.Sprintf("≥ %.2f", TargetCreate)
		case OpGetStatus:
			row.Target, row.TargetText = TargetGetStatus, fmt.Sprintf("≥ %.2f", TargetGetStatus)
		}
		rows = append(rows, row)
	}
	var s strings.Builder
	s.WriteString("## Master metadata operations\n\n")
	s.WriteString(Provenance(r.cmdline, r.at))
	fmt.Fprintf(&s, "\n%d clients, one gRPC connection each, closed loop for %s per operation; files are empty MUST_CACHE files in one directory per client; "+
		"getStatus picks files of the 1,000-entry listStatus directory; rename moves one file per client back and forth; delete removes the files create made.\n\n",
		mb.o.Clients, mb.o.Duration)
	s.WriteString(Table(rows))
	s.WriteString("\nCPU per op is the CPU time of the benchmark client and the master process together per operation (the baseline's: client and no-op server), a cost that does not depend on how busy the machine is.\n")
	s.WriteString("\n| operation | clients | ops | ops/s | p50 | p99 | p99.9 | CPU per op | × no-op's |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range results {
		cpu, x := "—", "—"
		if res.CPUPerOp > 0 {
			cpu = fmtDur(res.CPUPerOp)
			if b.GRPCCPU > 0 {
				x = fmt.Sprintf("%.1f", float64(res.CPUPerOp)/float64(b.GRPCCPU))
			}
		}
		fmt.Fprintf(&s, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", res.Op, res.Clients, fmtNum(float64(res.Ops)), fmtNum(res.Rate), fmtDur(res.Lat.P50), fmtDur(res.Lat.P99), fmtDur(res.Lat.P999), cpu, x)
	}
	fmt.Fprintf(&s, "| no-op gRPC (baseline) | %d | | %s | %s | %s | %s | %s | 1 |\n", b.GRPCClients, fmtNum(b.GRPCNoop), fmtDur(b.GRPCNoopLat.P50), fmtDur(b.GRPCNoopLat.P99), fmtDur(b.GRPCNoopLat.P999), fmtDur(b.GRPCCPU))
	for _, res := range results {
		if res.Op == OpCreate && b.Fsync > 0 {
			fmt.Fprintf(&s, "\nThe journal disk does %s fsyncs/s (baseline); create-file at %s ops/s writes two journal entries per file, so the master "+
				"shares each fsync among about %.1f entries (group commit), or is %.2f× the one-fsync-per-entry rate.\n",
				fmtNum(b.Fsync), fmtNum(res.Rate), 2*res.Rate/b.Fsync, 2*res.Rate/b.Fsync)
		}
	}
	sections := []Section{{Name: "master", Body: s.String()}}

	if r.c.Bool("search") || r.kind == "all" {
		var ss strings.Builder
		ss.WriteString("## Master maximum throughput (search)\n\n")
		ss.WriteString(Provenance(r.cmdline, r.at))
		fmt.Fprintf(&ss, "\nAs StressMasterBench: double the clients from 1 until throughput has not improved by 5%% for two steps (%s per step, at most %d clients).\n\n", r.c.Duration("step"), r.c.Int("search-max"))
		ss.WriteString("| operation | best clients | max ops/s | ratio to no-op gRPC (" + fmt.Sprint(b.GRPCClients) + " clients) | p99 at best | steps (clients: ops/s) |\n|---|---:|---:|---:|---:|---|\n")
		for _, op := range []string{OpCreate, OpGetStatus} {
			steps, best, err := mb.Search(ctx, op, r.c.Int("search-max"), r.c.Duration("step"))
			if err != nil {
				return sections, err
			}
			var parts []string
			for _, st := range steps {
				parts = append(parts, fmt.Sprintf("%d: %s", st.Clients, fmtNum(st.Result.Rate)))
			}
			fmt.Fprintf(&ss, "| %s | %d | %s | %.2f | %s | %s |\n", op, best.Clients, fmtNum(best.Result.Rate), best.Result.Rate/b.GRPCNoop, fmtDur(best.Result.Lat.P99), strings.Join(parts, ", "))
		}
		sections = append(sections, Section{Name: "master-search", Body: ss.String()})
	}
	sweep := r.c.String("sweep")
	if r.kind == "all" && sweep == "" {
		sweep = "1,2,4,8,16,32,64,128"
	}
	if sweep != "" {
		counts, err := parseInts(sweep)
		if err != nil {
			return sections, err
		}
		steps, err := mb.Sweep(ctx, OpCreate, counts, r.c.Duration("step"))
		if err != nil {
			return sections, err
		}
		var pts []PlotPoint
		var ps strings.Builder
		ps.WriteString("## Create-file throughput and p99 latency against concurrency\n\n")
		ps.WriteString(Provenance(r.cmdline, r.at))
		fmt.Fprintf(&ps, "\n%s per point.\n\n", r.c.Duration("step"))
		plot := r.c.String("plot")
		if plot != "" {
			fmt.Fprintf(&ps, "![create-file throughput and p99 latency against clients](%s)\n\n", path.Base(plot))
		}
		ps.WriteString("| clients | ops/s | p50 | p99 | p99.9 |\n|---:|---:|---:|---:|---:|\n")
		for _, st := range steps {
			pts = append(pts, PlotPoint{Clients: st.Clients, Rate: st.Result.Rate, P99: st.Result.Lat.P99})
			fmt.Fprintf(&ps, "| %d | %s | %s | %s | %s |\n", st.Clients, fmtNum(st.Result.Rate), fmtDur(st.Result.Lat.P50), fmtDur(st.Result.Lat.P99), fmtDur(st.Result.Lat.P999))
		}
		if plot != "" {
			f, err := os.Create(plot)
			if err != nil {
				return sections, err
			}
			err = PlotCreate(f, "create-file (create + complete, durable journal)", pts, TargetCreate*b.GRPCNoop,
				fmt.Sprintf("target: %.2f x no-op gRPC (%d clients)", TargetCreate, b.GRPCClients))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return sections, err
			}
			r.logf("wrote %s", plot)
		}
		sections = append(sections, Section{Name: "create-plot", Body: ps.String()})
	}
	return sections, nil
}

func (r *runner) io(ctx context.Context) ([]Section, error) {
	if err := r.baselines(ctx, false, true, false); err != nil {
		return nil, err
	}
	size, err := conf.ParseBytes(r.c.String("size"))
	if err != nil {
		return nil, err
	}
	clients, err := parseInts(r.c.String("io-clients"))
	if err != nil {
		return nil, err
	}
	o := IOOptions{Conf: r.cfg, Size: size, Clients: clients, Logf: r.logf}
	window := ""
	if w := r.c.String("grpc-window"); w != "" {
		n, err := conf.ParseBytes(w)
		if err != nil || n < 64<<10 || n > 1<<30 {
			return nil, fmt.Errorf("--grpc-window %q: want a size between 64KB and 1GB", w)
		}
		o.ClientOptions = append(o.ClientOptions, client.WithDialOptions(grpc.WithInitialWindowSize(int32(n)), grpc.WithInitialConnWindowSize(int32(n))))
		window = fmt.Sprintf(" Client HTTP/2 windows set to %s (--grpc-window).", fmtBytes(n))
	}
	if r.cluster != nil {
		o.UFSDir, o.WorkerPID = r.cluster.UFS, r.cluster.WorkerPID()
	}
	res, err := RunIO(ctx, o)
	if err != nil {
		return nil, err
	}
	b := r.base
	tcp := fmtBytesRate(b.TCP) + " loopback TCP"
	tmpfs := fmtBytesRate(b.Tmpfs) + " tmpfs read"
	var rows []Row
	for _, x := range res {
		row := Row{Name: fmt.Sprintf("%s, %d client(s)", x.Case, x.Clients), Figure: fmtBytesRate(x.Rate), Value: x.Rate, Baseline: tcp, Base: b.TCP}
		switch x.Case {
		case IOWriteRemote:
			row.Target = TargetRemoteWrite
		case IOReadWarm:
			row.Target = TargetRemoteRead
		case IOReadShortCirc:
			row.Baseline, row.Base, row.Target = tmpfs, b.Tmpfs, TargetSCRead
		}
		if row.Target > 0 {
			row.TargetText = fmt.Sprintf("≥ %.2f", row.Target)
		}
		rows = append(rows, row)
	}
	var s strings.Builder
	s.WriteString("## Data path: sequential write and read\n\n")
	s.WriteString(Provenance(r.cmdline, r.at))
	fmt.Fprintf(&s, "\nOne file of %s per client, 1 MiB application reads and writes; rates are all clients together. "+
		"Remote = short-circuit disabled, block bytes moved through the worker's data server (plain TCP; the client's default alluxio.user.data.transport=AUTO, where GRPC would use gRPC streams); cold = the THROUGH-written file read from the UFS through the worker "+
		"(page cache of the UFS files dropped first when the benchmark owns the cluster), which caches it; warm = read again from the MEM tier. "+
		"Several clients share one loopback TCP stream's worth of CPU on this machine, so the ratios for 4 clients compare an aggregate to one stream.%s\n\n", fmtBytes(size), window)
	s.WriteString(Table(rows))
	if len(res) > 0 && res[0].CPU >= 0 && b.TCPCPU > 0 {
		fmt.Fprintf(&s, "\nCPU cost, which does not depend on how busy the machine is: CPU seconds of the benchmark client and the worker together per GiB moved, "+
			"against %.2f CPU-s/GiB for the loopback TCP baseline (both ends) and %.2f for the tmpfs read (short-circuit's baseline).\n\n"+
			"| case | clients | CPU-s/GiB | × its baseline's |\n|---|---:|---:|---:|\n", b.TCPCPU.Seconds(), b.TmpfsCPU.Seconds())
		for _, x := range res {
			per := x.CPU.Seconds() / (float64(x.Bytes) / (1 << 30))
			base := b.TCPCPU.Seconds()
			if x.Case == IOReadShortCirc && b.TmpfsCPU > 0 {
				base = b.TmpfsCPU.Seconds()
			}
			fmt.Fprintf(&s, "| %s | %d | %.2f | %.1f |\n", x.Case, x.Clients, per, per/base)
		}
	}
	return []Section{{Name: "io", Body: s.String()}}, nil
}

func (r *runner) memory(ctx context.Context) ([]Section, error) {
	if r.cluster != nil && r.kind == "all" {
		// Memory per file needs a master that has seen nothing else.
		r.logf("memory: starting a fresh cluster")
		if err := r.cluster.Close(); err != nil {
			return nil, err
		}
		lc, err := StartLocalCluster(ctx, r.cluster.BinDir, 1<<30, nil)
		if err != nil {
			r.cluster = nil
			return nil, err
		}
		r.cluster, r.addr = lc, lc.MasterAddr()
	}
	o := MemoryOptions{Addr: r.addr, Files: r.c.Int("files"), Clients: r.c.Int("clients"), Logf: r.logf, MetricsURL: r.c.String("metrics-url")}
	if r.cluster != nil {
		o.Control, o.JournalDir, o.Keep = r.cluster, r.cluster.Journal, true
		if o.MetricsURL == "" {
			o.MetricsURL = r.cluster.MetricsURL()
		}
	} else {
		o.PID, o.Keep = r.c.Int("master-pid"), r.c.Bool("keep")
		if o.MetricsURL == "" {
			o.MetricsURL = fmt.Sprintf("http://%s:%s/metrics", r.cfg.Get("alluxio.master.hostname"), r.cfg.Get("alluxio.master.web.port"))
		}
		if cmd := r.c.String("restart-cmd"); cmd != "" && o.PID > 0 {
			o.Control = &pidControl{pid: o.PID, command: cmd}
		}
	}
	if o.Clients <= 0 {
		o.Clients = 32
	}
	res, err := RunMemory(ctx, o)
	if err != nil {
		return nil, err
	}
	rows := []Row{}
	heapName := "master Go heap (in use, no collection forced) per file"
	if res.HeapAfterGC {
		heapName = "master Go heap (in use after a collection) per file"
	}
	if v := res.HeapPerFile(); v >= 0 {
		rows = append(rows, Row{Name: heapName, Figure: fmt.Sprintf("%.0f B", v), Value: v, Target: TargetHeapPerFile, AtMost: true, TargetText: "≤ 400 B"})
	} else {
		rows = append(rows, Row{Name: heapName, Figure: "not exported", Value: -1, Target: TargetHeapPerFile, AtMost: true, TargetText: "≤ 400 B"})
	}
	if v := res.RSSPerFile(); v >= 0 {
		// The target is the heap's; RSS (the heap plus freed pages the
		// runtime has not returned yet, stacks and binary) is for operators.
		rows = append(rows, Row{Name: "master RSS per file (for operators; the target is the heap's)", Figure: fmt.Sprintf("%.0f B", v), Value: v})
	}
	if res.ReplayToServing > 0 {
		rows = append(rows, Row{Name: fmt.Sprintf("start to serving, journal replay of %s files", fmtNum(float64(res.Files))), Figure: fmtDur(res.ReplayToServing),
			Value: res.ReplayToServing.Seconds(), Target: TargetStart.Seconds(), AtMost: true, TargetText: "≤ 5 s"})
	}
	if res.CheckpointToServing > 0 {
		rows = append(rows, Row{Name: fmt.Sprintf("start to serving, checkpoint of %s files", fmtNum(float64(res.Files))), Figure: fmtDur(res.CheckpointToServing),
			Value: res.CheckpointToServing.Seconds(), Target: TargetStart.Seconds(), AtMost: true, TargetText: "≤ 5 s"})
	}
	title := "## Master memory per file and start time"
	if name := r.c.String("section"); name != "memory" {
		title += " (" + name + ")"
	}
	var s strings.Builder
	s.WriteString(title + "\n\n")
	s.WriteString(Provenance(r.cmdline, r.at))
	fmt.Fprintf(&s, "\n%s empty files in directories of 1,000, created by %d clients at %s files/s. "+
		"Memory per file is (after − before) / files, with \"after\" taken once the master restarted from the journal (live state only, no garbage from the creates) when the restart was measured. "+
		"%s"+
		"Start to serving = from the new process's start to its first successful GetStatus of the last file.\n\n", fmtNum(float64(res.Files)), o.Clients, fmtNum(res.CreateRate), heapNote(res.HeapAfterGC))
	s.WriteString(Table(rows))
	fmt.Fprintf(&s, "\n| sample | RSS | Go heap in use |\n|---|---:|---:|\n| before | %s | %s |\n| after the creates | %s | %s |\n",
		bytesOr(res.RSSBefore), bytesOr(res.HeapBefore), bytesOr(res.RSSAfter), bytesOr(res.HeapAfter))
	if res.RSSRestarted > 0 {
		fmt.Fprintf(&s, "| after a restart (journal replay) | %s | %s |\n", bytesOr(res.RSSRestarted), bytesOr(res.HeapRestarted))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&s, "\nNote: %s.\n", n)
	}
	return []Section{{Name: r.c.String("section"), Body: s.String()}}, nil
}

func bytesOr(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return fmtBytes(n)
}

// heapNote says how the heap samples were taken.
func heapNote(afterGC bool) string {
	if afterGC {
		return "Each Go heap sample is read right after a garbage collection the benchmark asks the master for (`/debug/pprof/heap?gc=1`, opt-in `alluxio.master.debug.pprof.enabled`, on in the benchmark's cluster): live objects and the spans holding them, not garbage awaiting the next cycle. "
	}
	return "The master's profiling endpoint was not reachable, so the Go heap samples include garbage awaiting the next collection (an upper bound). "
}
