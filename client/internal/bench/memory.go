package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// MasterControl stops and starts the master for the restart measurement.
type MasterControl interface {
	// PID is the master's process id.
	PID() int
	// Restart stops the master with SIGTERM, waits for it to exit, and
	// starts it again with props added to its configuration. It returns
	// the time the new process was started.
	Restart(ctx context.Context, props map[string]string) (time.Time, error)
}

// MemoryOptions configure the memory and restart benchmark.
type MemoryOptions struct {
	// Addr is the master's RPC host:port; MetricsURL its /metrics.
	Addr, MetricsURL string
	// Files is the number of empty files to create; 0 means 1,000,000.
	Files int
	// Clients create them concurrently; 0 means 32.
	Clients int
	// PID is the master's process id for RSS (Control's PID if set).
	PID int
	// Control, when set, restarts the master to time start-to-serving.
	Control MasterControl
	// JournalDir, with Control, also times a start from a checkpoint: the
	// master is restarted with a small checkpoint period, one mutation
	// triggers a checkpoint, and the next start loads it.
	JournalDir string
	// Base is the directory; "" means /alluxio-bench/memory-<time>.
	Base string
	// Keep leaves the files in place (the cluster is thrown away).
	Keep bool
	Logf func(format string, args ...any)
}

// MemoryResult is the outcome of the memory benchmark.
type MemoryResult struct {
	Files                 int
	CreateRate            float64
	RSSBefore, RSSAfter   int64 // bytes; -1 unknown
	RSSRestarted          int64 // RSS after the replay restart
	HeapBefore, HeapAfter int64 // go_memstats_heap_inuse_bytes; -1 if not exported
	HeapRestarted         int64
	// HeapAfterGC: every heap sample was read right after a garbage
	// collection the benchmark asked the master for (its opt-in
	// /debug/pprof/heap?gc=1), so it counts live objects, not garbage
	// waiting for the next cycle.
	HeapAfterGC         bool
	ReplayToServing     time.Duration // 0 if not measured
	CheckpointToServing time.Duration
	Notes               []string
}

// RSSPerFile is the RSS growth per file: after a restart (live state only)
// when measured, else after the creates.
func (m MemoryResult) RSSPerFile() float64 {
	after := m.RSSAfter
	if m.RSSRestarted > 0 {
		after = m.RSSRestarted
	}
	if m.RSSBefore < 0 || after < 0 || m.Files == 0 {
		return -1
	}
	return float64(after-m.RSSBefore) / float64(m.Files)
}

// HeapPerFile is the in-use heap growth per file, or -1.
func (m MemoryResult) HeapPerFile() float64 {
	after := m.HeapAfter
	if m.HeapRestarted > 0 {
		after = m.HeapRestarted
	}
	if m.HeapBefore < 0 || after < 0 || m.Files == 0 {
		return -1
	}
	return float64(after-m.HeapBefore) / float64(m.Files)
}

// RunMemory creates Files empty files in directories of 1,000 and measures
// the master's memory before and after, then (with Control) its start time.
func RunMemory(ctx context.Context, o MemoryOptions) (MemoryResult, error) {
	if o.Files <= 0 {
		o.Files = 1_000_000
	}
	if o.Clients <= 0 {
		o.Clients = 32
	}
	if o.Base == "" {
		o.Base = fmt.Sprintf("/alluxio-bench/memory-%d", time.Now().UnixNano())
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Control != nil {
		o.PID = o.Control.PID()
	}
	res := MemoryResult{Files: o.Files}
	res.RSSBefore = ProcRSS(o.PID)
	var gcBefore bool
	res.HeapBefore, gcBefore = heapSample(ctx, o.MetricsURL)
	res.HeapAfterGC = gcBefore
	if res.HeapBefore < 0 {
		res.Notes = append(res.Notes, "the master's /metrics has no go_memstats_heap_inuse_bytes (no Go collector registered): heap per file not measured, RSS only")
	}
	if res.RSSBefore < 0 {
		res.Notes = append(res.Notes, "no master pid (or /proc unreadable): RSS not measured")
	}

	mb, err := NewMasterBench(ctx, MasterOptions{Addr: o.Addr, Clients: o.Clients, Base: o.Base, Logf: o.Logf})
	if err != nil {
		return res, err
	}
	dirs := (o.Files + 999) / 1000
	if err := parallel(ctx, o.Clients, dirs, func(ctx context.Context, c, i int) error {
		return mb.mkdirWith(ctx, c, fmt.Sprintf("%s/d%d", o.Base, i))
	}); err != nil {
		mb.Close(ctx)
		return res, fmt.Errorf("bench: %w", err)
	}
	start := time.Now()
	last := start
	var done atomic.Int64
	err = parallel(ctx, o.Clients, o.Files, func(ctx context.Context, c, i int) error {
		if c == 0 && time.Since(last) > 10*time.Second {
			last = time.Now()
			o.Logf("memory: %d files created (%.0f/s)", i, float64(i)/time.Since(start).Seconds())
		}
		done.Store(int64(i))
		return createEmpty(ctx, mb.fs[c], fmt.Sprintf("%s/d%d/f%d", o.Base, i/1000, i%1000))
	})
	el := time.Since(start)
	if !o.Keep {
		defer mb.Close(context.WithoutCancel(ctx))
	} else {
		defer func() {
			for _, cc := range mb.conns {
				cc.Close()
			}
		}()
	}
	if err != nil {
		return res, fmt.Errorf("bench: memory: after about %d files: %w", done.Load(), err)
	}
	res.CreateRate = float64(o.Files) / el.Seconds()
	res.RSSAfter = ProcRSS(o.PID)
	var gcAfter bool
	res.HeapAfter, gcAfter = heapSample(ctx, o.MetricsURL)
	res.HeapAfterGC = res.HeapAfterGC && gcAfter
	o.Logf("memory: %d files in %s (%.0f/s); RSS %s -> %s", o.Files, el.Round(time.Millisecond), res.CreateRate, fmtBytes(res.RSSBefore), fmtBytes(res.RSSAfter))
	if o.Control == nil {
		res.Notes = append(res.Notes, "no way to restart the master (give --master-pid and --restart-cmd): start-to-serving not measured")
		return res, nil
	}
	probe := fmt.Sprintf("%s/d%d/f%d", o.Base, (o.Files-1)/1000, (o.Files-1)%1000)
	d, err := timeRestart(ctx, o.Control, o.Addr, probe, nil)
	if err != nil {
		return res, err
	}
	res.ReplayToServing = d
	res.RSSRestarted = ProcRSS(o.Control.PID())
	var gcRestarted bool
	res.HeapRestarted, gcRestarted = heapSample(ctx, o.MetricsURL)
	res.HeapAfterGC = res.HeapAfterGC && gcRestarted
	o.Logf("memory: start to serving by journal replay %s; RSS after restart %s", d.Round(time.Millisecond), fmtBytes(res.RSSRestarted))
	if o.JournalDir == "" {
		return res, nil
	}
	// A start with a small checkpoint period, then one mutation, makes the
	// master write a checkpoint; the next start loads it.
	if _, err := timeRestart(ctx, o.Control, o.Addr, probe, map[string]string{"alluxio.master.journal.checkpoint.period.entries": "10"}); err != nil {
		return res, err
	}
	cps := filepath.Join(o.JournalDir, "FileSystemMaster", "v1", "checkpoints")
	if err := mb.mkdirWith(ctx, 0, o.Base+"/checkpoint-trigger"); err != nil {
		// The connection was to the old process; make a new one.
		if err := mkdirAt(ctx, o.Addr, o.Base+"/checkpoint-trigger"); err != nil {
			return res, err
		}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if dirNames(cps) != "" {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return res, fmt.Errorf("bench: memory: no checkpoint appeared in %s", cps)
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.Logf("memory: checkpoint written (%s)", dirNames(cps))
	d, err = timeRestart(ctx, o.Control, o.Addr, probe, nil)
	if err != nil {
		return res, err
	}
	res.CheckpointToServing = d
	o.Logf("memory: start to serving from a checkpoint %s", d.Round(time.Millisecond))
	return res, nil
}

func dirNames(dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func (b *MasterBench) mkdirWith(ctx context.Context, c int, p string) error {
	_, err := b.fs[c].CreateDirectory(ctx, &pb.CreateDirectoryRequest{Path: p, Recursive: true, AllowExists: true,
		WriteType: pb.WriteType_MUST_CACHE, OperationId: opID()})
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", p, err)
	}
	return nil
}

func mkdirAt(ctx context.Context, addr, p string) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	_, err = pb.NewFileSystemMasterClientServiceClient(cc).CreateDirectory(ctx, &pb.CreateDirectoryRequest{Path: p, Recursive: true,
		AllowExists: true, WriteType: pb.WriteType_MUST_CACHE, OperationId: opID()})
	if err != nil {
		return fmt.Errorf("bench: mkdir %s: %w", p, err)
	}
	return nil
}

// timeRestart restarts the master and returns the time from process start
// until GetStatus(probe) succeeds.
func timeRestart(ctx context.Context, mc MasterControl, addr, probe string, props map[string]string) (time.Duration, error) {
	started, err := mc.Restart(ctx, props)
	if err != nil {
		return 0, err
	}
	return WaitServing(ctx, addr, probe, started, 10*time.Minute)
}

// WaitServing waits until the master's port accepts connections (polled
// every 2 ms), then until GetStatus(probe) succeeds, and returns the time
// since since. gRPC reconnects with a 5 ms backoff, not its 1 s default.
func WaitServing(ctx context.Context, addr, probe string, since time.Time, limit time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("bench: master %s not listening within %s: %w", addr, limit, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.2, MaxDelay: 50 * time.Millisecond}, MinConnectTimeout: time.Second}))
	if err != nil {
		return 0, err
	}
	defer cc.Close()
	fs := pb.NewFileSystemMasterClientServiceClient(cc)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = fs.GetStatus(actx, &pb.GetStatusRequest{Path: probe}, grpc.WaitForReady(true))
		cancel()
		if err == nil {
			return time.Since(since), nil
		}
		last = err
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("bench: master %s not serving %s within %s: %v", addr, probe, limit, last)
}

// ProcRSS returns VmRSS of pid from /proc in bytes, or -1.
func ProcRSS(pid int) int64 {
	if pid <= 0 {
		return -1
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

// MetricsValue reads one unlabelled sample from a Prometheus text endpoint,
// or -1 if the URL is empty, unreachable or lacks it.
// heapSample reads the master's go_memstats_heap_inuse_bytes (-1 if not
// exported), first asking it for a garbage collection through its opt-in
// profiling endpoint (alluxio.master.debug.pprof.enabled: /debug/pprof/heap
// with gc=1 collects before it answers); gc says whether that worked.
func heapSample(ctx context.Context, metricsURL string) (heap int64, gc bool) {
	if base, ok := strings.CutSuffix(metricsURL, "/metrics"); ok {
		gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, err := http.NewRequestWithContext(gctx, http.MethodGet, base+"/debug/pprof/heap?gc=1", nil)
		if err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<20))
				resp.Body.Close()
				gc = resp.StatusCode == http.StatusOK
			}
		}
		cancel()
	}
	return MetricsValue(ctx, metricsURL, "go_memstats_heap_inuse_bytes"), gc
}

func MetricsValue(ctx context.Context, url, name string) int64 {
	if url == "" {
		return -1
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return int64(v)
			}
		}
	}
	return -1
}
