package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/client"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// benchCommand is how docs/benchmarks.md says the figures were produced.
const benchCommand = "make bench-failover"

// failoverSample is one measured failover.
type failoverSample struct {
	files   int64
	event   string // "kill -9" or "SIGTERM"
	elapsed time.Duration
	from    string
	to      string
}

// TestBenchFailover is the failover benchmark, not a timed test: it runs
// only with ALLUXIO_BENCH=failover (make bench-failover). On a cluster of
// three masters it creates the namespace sizes of ALLUXIO_BENCH_SIZES
// (default 10000,1000000 files) and at each size measures, several times
// (ALLUXIO_BENCH_TRIALS, default 3), the time from kill -9 of the leader,
// and from SIGTERM, to the first successful client operation (a mkdir by a
// client that finds the leader through ZooKeeper). With ALLUXIO_BENCH_OUT
// set it writes the figures there as Markdown (docs/benchmarks.md).
func TestBenchFailover(t *testing.T) {
	if os.Getenv("ALLUXIO_BENCH") != "failover" {
		t.Skip("benchmark: run with ALLUXIO_BENCH=failover (make bench-failover)")
	}
	sizes := []int64{10000, 1000000}
	if s := os.Getenv("ALLUXIO_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("ALLUXIO_BENCH_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	trials := 3
	if s := os.Getenv("ALLUXIO_BENCH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ALLUXIO_BENCH_TRIALS=%q", s)
		}
		trials = n
	}
	populateLimit := 10 * time.Minute
	if s := os.Getenv("ALLUXIO_BENCH_POPULATE_LIMIT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ALLUXIO_BENCH_POPULATE_LIMIT: %v", err)
		}
		populateLimit = d
	}

	// One worker: the client places even an empty file's (absent) blocks,
	// so it wants a live worker.
	session := haSessionTimeout
	if s := os.Getenv("ALLUXIO_BENCH_SESSION_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 400*time.Millisecond || d > 4*time.Second {
			t.Fatalf("ALLUXIO_BENCH_SESSION_TIMEOUT=%q: want a duration from 400ms to 4s (ZooKeeper tickTime 200ms)", s)
		}
		session = d
	}
	c := newHACluster(t, haConfig{masters: 3, workers: 1, sessionTimeout: session, props: map[string]string{
		// Many small entries: let the log rotate as it would in production.
		"alluxio.master.journal.log.size.bytes.max": "64MB",
		// No checkpoint: the probes' epochs are read back from the logs.
		"alluxio.master.journal.checkpoint.period.entries": "1000000000",
	}})
	c.startAll()
	c.waitLeader(nil)

	// The probing client retries quickly: the figure is the cluster's
	// failover time, not the client's backoff.
	probeProps := map[string]string{
		"alluxio.user.rpc.retry.base.sleep":   "10ms",
		"alluxio.user.rpc.retry.max.sleep":    "50ms",
		"alluxio.user.rpc.retry.max.duration": "120s",
	}
	var created atomic.Int64
	var samples []failoverSample
	var pending []pendingTrial
	var notes []string
	probeN := 0

	for _, size := range sizes {
		start := time.Now()
		n0 := created.Load()
		reached := populate(t, c, &created, size, populateLimit)
		rate := float64(reached-n0) / time.Since(start).Seconds()
		note := fmt.Sprintf("%d files created in %v (%.0f creates/s, each a CreateFile and a CompleteFile RPC, %d in flight)",
			reached, time.Since(start).Round(time.Second), rate, populateConcurrency)
		if reached < size {
			note += fmt.Sprintf("; %d did not fit in the %v population limit, so this row is at %d files", size, populateLimit, reached)
		}
		t.Log(note)
		notes = append(notes, note)
		c.waitCaughtUp(5 * time.Minute)

		for trial := 0; trial < trials; trial++ {
			for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
				probe := c.mustClient(probeProps)
				ctx := context.Background()
				probeN++
				if err := probe.CreateDirectory(ctx, fmt.Sprintf("/probe/warm-%d", probeN), client.Recursive()); err != nil {
					t.Fatalf("warm-up mkdir: %v", err)
				}
				old, oldEpoch := c.waitLeader(nil)
				t0 := time.Now()
				if err := old.p.Cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				// Probe with mkdirs one after another until a different
				// master has been published in ZooKeeper for 300ms; which
				// term applied each probe is read from the journal later,
				// so a probe the old leader still acknowledged (one that
				// raced SIGTERM) does not count as served by the new one.
				var hits []probeHit
				var newSeen time.Time
				for k := 0; ; k++ {
					if time.Since(t0) > 2*time.Minute {
						t.Fatalf("no new leader within 2 minutes of %v", sig)
					}
					name := fmt.Sprintf("after-%d-%d", probeN, k)
					err := probe.CreateDirectory(ctx, "/probe/"+name, client.Recursive())
					if err == nil {
						hits = append(hits, probeHit{name: name, at: time.Since(t0)})
					}
					if newSeen.IsZero() {
						lctx, cancel := context.WithTimeout(ctx, time.Second)
						if a, err := c.inquirer.Leader(lctx); err == nil && a != old.addr() {
							newSeen = time.Now()
						}
						cancel()
					} else if time.Since(newSeen) > 300*time.Millisecond && len(hits) > 0 {
						break
					}
				}
				c.signal(old, sig) // waits for the exit
				next, _ := c.waitLeader(old)
				event := "kill -9"
				if sig == syscall.SIGTERM {
					event = "SIGTERM"
				}
				pending = append(pending, pendingTrial{files: reached, event: event, from: old.name, to: next.name, oldEpoch: oldEpoch, hits: hits})
				restart := time.Now()
				c.start(old)
				// A write after the term started: a new leader's own NewTerm
				// entry is not counted in its journal_sequence until then.
				if err := probe.CreateDirectory(ctx, fmt.Sprintf("/probe/settle-%d", probeN), client.Recursive()); err != nil {
					t.Fatal(err)
				}
				c.waitCaughtUp(5 * time.Minute)
				t.Logf("restarted %s caught up in %v", old.name, time.Since(restart).Round(time.Millisecond))
				probe.Close()
			}
		}
		samples = append(samples, resolveTrials(t, c, pending)...)
		pending = nil
	}
	report := benchReport(samples, notes, session)
	t.Logf("\n%s", report)
	if out := os.Getenv("ALLUXIO_BENCH_OUT"); out != "" {
		// Only the section between <!-- BEGIN bench:failover --> and
		// <!-- END bench:failover --> is rewritten; make bench owns others.
		if err := updateDocSection(out, "failover", report); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote the failover section of %s", out)
	}
}

// probeHit is a probe mkdir that succeeded, at this long after the signal.
type probeHit struct {
	name string
	at   time.Duration
}

// pendingTrial is a failover whose figure is known once the journal says
// which term applied each probe.
type pendingTrial struct {
	files    int64
	event    string
	from, to string
	oldEpoch int64
	hits     []probeHit
}

// resolveTrials reads the journal once and turns each trial into a sample:
// the time of the first probe applied in a later term than the old
// leader's. Probes applied by the old leader after the signal are logged.
func resolveTrials(t *testing.T, c *haCluster, trials []pendingTrial) []failoverSample {
	t.Helper()
	epochOf := map[string]int64{}
	nameRe := regexp.MustCompile(`"name":"(after-[0-9]+-[0-9]+)"`)
	c.scanJournal(`"after-`, func(l journalLine) {
		if m := nameRe.FindStringSubmatch(l.JSON); m != nil {
			epochOf[m[1]] = l.Epoch
		}
	})
	var out []failoverSample
	for _, tr := range trials {
		late := 0
		found := false
		for _, h := range tr.hits {
			e, ok := epochOf[h.name]
			if !ok {
				t.Errorf("acknowledged probe %s is not in the journal", h.name)
				continue
			}
			if e <= tr.oldEpoch {
				late++
				continue
			}
			out = append(out, failoverSample{files: tr.files, event: tr.event, elapsed: h.at, from: tr.from, to: tr.to})
			t.Logf("%d files, %s of %s: first operation applied by the new leader %s %v after the signal (%d acknowledged by the old leader after the signal)",
				tr.files, tr.event, tr.from, tr.to, h.at.Round(time.Millisecond), late)
			found = true
			break
		}
		if !found {
			t.Errorf("%s of %s: no probe was applied by a new leader", tr.event, tr.from)
		}
	}
	return out
}

// populate creates empty, complete files (a CreateFile and a CompleteFile
// RPC each, straight to the leader over several gRPC connections) until
// created reaches target or limit passes, and returns the count reached.
func populate(t *testing.T, c *haCluster, created *atomic.Int64, target int64, limit time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(limit)
	lc := &leaderConns{c: c}
	defer lc.close()
	if err := lc.refresh(""); err != nil {
		t.Fatal(err)
	}
	for d := 0; d < 1000; d++ {
		p := fmt.Sprintf("/bench/d%04d", d)
		err := lc.do(func(fs pb.FileSystemMasterClientServiceClient, ctx context.Context) error {
			_, err := fs.CreateDirectory(ctx, &pb.CreateDirectoryRequest{Path: p, Recursive: true, AllowExists: true, WriteType: pb.WriteType_MUST_CACHE})
			return err
		})
		if err != nil {
			t.Fatalf("mkdir %s: %v", p, err)
		}
	}
	var next atomic.Int64
	next.Store(created.Load())
	var wg sync.WaitGroup
	var firstErr atomic.Value
	// Unique per file (i) and per run (a random high half).
	opIDBase := rand.Int64()
	for g := 0; g < populateConcurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && firstErr.Load() == nil {
				i := next.Add(1) - 1
				if i >= target {
					return
				}
				p := fmt.Sprintf("/bench/d%04d/f%07d", i%1000, i)
				// Operation ids let a new leader deduplicate a create
				// retried after an (unplanned) leader change.
				createID := &pb.OperationId{MostSignificantBits: opIDBase, LeastSignificantBits: i<<1 | 0}
				completeID := &pb.OperationId{MostSignificantBits: opIDBase, LeastSignificantBits: i<<1 | 1}
				err := lc.do(func(fs pb.FileSystemMasterClientServiceClient, ctx context.Context) error {
					_, err := fs.CreateFile(ctx, &pb.CreateFileRequest{Path: p, BlockSizeBytes: 64 << 20, WriteType: pb.WriteType_MUST_CACHE, OperationId: createID})
					return err
				})
				if err == nil {
					err = lc.do(func(fs pb.FileSystemMasterClientServiceClient, ctx context.Context) error {
						_, err := fs.CompleteFile(ctx, &pb.CompleteFileRequest{Path: p, OperationId: completeID})
						return err
					})
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("create file %s: %w", p, err))
					return
				}
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok && err != nil {
		t.Fatal(err)
	}
	if n := lc.changes.Load(); n > 0 {
		t.Logf("population saw %d unplanned leader changes (ZooKeeper sessions lost under load)", n)
	}
	return created.Load()
}

// leaderConns are gRPC connections to the current leader, found again
// (through ZooKeeper and the masters' own role) when a call fails with
// Unavailable/NOT_LEADER.
type leaderConns struct {
	c       *haCluster
	mu      sync.Mutex
	addr    string
	ccs     []*grpc.ClientConn
	clients []pb.FileSystemMasterClientServiceClient
	n       atomic.Int64
	changes atomic.Int64
}

func (l *leaderConns) refresh(failed string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if failed != "" && l.addr != failed {
		return nil // another goroutine already moved on
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _, err := l.c.leader(context.Background())
		if err == nil && m.addr() != failed {
			if l.addr != "" {
				l.changes.Add(1)
			}
			for _, cc := range l.ccs {
				cc.Close()
			}
			l.ccs, l.clients = nil, nil
			for i := 0; i < 8; i++ {
				cc, err := grpc.NewClient(m.addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					return err
				}
				l.ccs = append(l.ccs, cc)
				l.clients = append(l.clients, pb.NewFileSystemMasterClientServiceClient(cc))
			}
			l.addr = m.addr()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no leader within 2 minutes: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// do runs op against the leader, retrying (same request, same operation
// id) on another leader after Unavailable/NOT_LEADER, up to 10 times.
func (l *leaderConns) do(op func(pb.FileSystemMasterClientServiceClient, context.Context) error) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		l.mu.Lock()
		addr, fs := l.addr, l.clients[int(l.n.Add(1))%len(l.clients)]
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = op(fs, ctx)
		cancel()
		if status.Code(err) != codes.Unavailable {
			return err
		}
		if rerr := l.refresh(addr); rerr != nil {
			return fmt.Errorf("%w (finding the leader again: %v)", err, rerr)
		}
	}
	return err
}

func (l *leaderConns) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cc := range l.ccs {
		cc.Close()
	}
}

// populateConcurrency is how many creates are in flight while populating.
const populateConcurrency = 256

func benchReport(samples []failoverSample, notes []string, session time.Duration) string {
	var b strings.Builder
	crashTarget := session + time.Second
	cleanTarget := time.Second
	b.WriteString("## Failover time (issue 3)\n\n")
	b.WriteString("Time from the signal to the leader master until the first successful client operation\n")
	b.WriteString("acknowledged by the new leader (a `mkdir` by a client that finds the leader through ZooKeeper\n")
	b.WriteString("and had already used the old leader; it retries at once), on a cluster of three `alluxio-master`\n")
	b.WriteString("processes sharing one journal folder and one worker,\n")
	b.WriteString("with one real ZooKeeper 3.8 server (tickTime 200 ms). Each failover is followed by a restart\n")
	b.WriteString("of the stopped master, which rejoins as a standby and catches up before the next trial.\n\n")
	fmt.Fprintf(&b, "- ZooKeeper session timeout (`alluxio.zookeeper.session.timeout`): **%v**\n", session)
	fmt.Fprintf(&b, "- Targets (issue 3): crash failover ≤ session timeout + 1 s = **%v**; clean failover (SIGTERM) < **%v**\n", crashTarget, cleanTarget)
	b.WriteString("- Probing client: `alluxio.user.rpc.retry.base.sleep=10ms`, `max.sleep=50ms` (so the figure is the\n")
	b.WriteString("  cluster's, not the client's back-off; with the default 50 ms / 3 s back-off a client may add up\n")
	b.WriteString("  to one more sleep)\n\n")
	b.WriteString("| files | event | trials | median | max | target | median / target |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|---:|\n")
	type key struct {
		files int64
		event string
	}
	var keys []key
	groups := map[key][]time.Duration{}
	for _, s := range samples {
		k := key{s.files, s.event}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s.elapsed)
	}
	for _, k := range keys {
		ds := append([]time.Duration(nil), groups[k]...)
		var parts []string
		for _, d := range ds {
			parts = append(parts, ms(d))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		med := ds[len(ds)/2]
		target := crashTarget
		if k.event == "SIGTERM" {
			target = cleanTarget
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.2f |\n", k.files, k.event, strings.Join(parts, ", "), ms(med), ms(ds[len(ds)-1]), ms(target), float64(med)/float64(target))
	}
	b.WriteString("\nNamespace population:\n\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\nThe probe loop, the epochs read back from the journal and the population are in\n")
	b.WriteString("`client/e2e/bench_failover_test.go`; `ALLUXIO_BENCH_SIZES`, `ALLUXIO_BENCH_TRIALS` and\n")
	b.WriteString("`ALLUXIO_BENCH_SESSION_TIMEOUT` change the sizes, the number of trials and the session timeout.\n\n")
	fmt.Fprintf(&b, "Command: `%s` · date: %s · machine: %s\n", benchCommand, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	return b.String()
}

// updateDocSection rewrites the part of the Markdown file at path between
// "<!-- BEGIN bench:NAME -->" and "<!-- END bench:NAME -->" (the markers
// make bench uses for its own sections), appending it when absent and
// creating the file when missing; the rest of the file is left alone.
func updateDocSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		old, err = []byte("# Benchmarks\n"), nil
	}
	if err != nil {
		return err
	}
	doc := string(old)
	begin, end := "<!-- BEGIN bench:"+name+" -->", "<!-- END bench:"+name+" -->"
	block := begin + "\n" + strings.TrimRight(body, "\n") + "\n" + end
	if i := strings.Index(doc, begin); i >= 0 {
		if k := strings.Index(doc[i:], end); k >= 0 {
			doc = doc[:i] + block + doc[i+k+len(end):]
		} else {
			return fmt.Errorf("%s: %q without %q", path, begin, end)
		}
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// machine describes this host for the provenance line.
func machine() string {
	parts := []string{fmt.Sprintf("%d cores", runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					parts = append(parts, strings.TrimSpace(l[i+1:]))
				}
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					parts = append(parts, fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20)))
				}
			}
		}
	}
	parts = append(parts, runtime.GOOS+"/"+runtime.GOARCH, runtime.Version())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			parts = append(parts, "load average at the end: "+strings.Join(f[:3], " "))
		}
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
