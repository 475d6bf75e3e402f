package bench

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/conf"
)

func startFake(t *testing.T) *fakecluster.Cluster {
	t.Helper()
	c, err := fakecluster.Start(fakecluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func fakeConf(t *testing.T, c *fakecluster.Cluster) *conf.Config {
	t.Helper()
	cfg, err := conf.FromMap(map[string]string{
		"alluxio.master.hostname":               c.Host(),
		"alluxio.master.rpc.port":               strings.TrimPrefix(c.Addr(), c.Host()+":"),
		"alluxio.user.block.size.bytes.default": "1MB",
		"alluxio.user.rpc.retry.max.duration":   "2s",
		"alluxio.master.journal.folder":         t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMasterBenchEveryOp(t *testing.T) {
	c := startFake(t)
	ctx := context.Background()
	mb, err := NewMasterBench(ctx, MasterOptions{Addr: c.Addr(), Clients: 2, ListSize: 20, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range MasterOps {
		r, err := mb.Run(ctx, op, 2, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.Ops == 0 || r.Rate <= 0 || r.Lat.P50 <= 0 || r.Lat.P99 < r.Lat.P50 {
			t.Errorf("%s: %+v", op, r)
		}
	}
	if _, err := mb.Run(ctx, "chmod", 1, time.Millisecond); err == nil {
		t.Error("unknown op: want an error")
	}
	steps, best, err := mb.Search(ctx, OpGetStatus, 4, 50*time.Millisecond)
	if err != nil || len(steps) == 0 || best.Clients == 0 {
		t.Fatalf("search: %v %+v %+v", err, steps, best)
	}
	sw, err := mb.Sweep(ctx, OpCreate, []int{1, 3}, 50*time.Millisecond)
	if err != nil || len(sw) != 2 || sw[1].Clients != 3 {
		t.Fatalf("sweep: %v %+v", err, sw)
	}
	if err := mb.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRunIO(t *testing.T) {
	c := startFake(t)
	res, err := RunIO(context.Background(), IOOptions{Conf: fakeConf(t, c), ClientOptions: []client.Option{client.WithMasterAddress(c.Addr())},
		Size: 3 << 20, Clients: []int{1, 2}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 10 {
		t.Fatalf("got %d results, want 10: %+v", len(res), res)
	}
	for _, r := range res {
		if r.Rate <= 0 || r.Bytes != int64(r.Clients)*3<<20 {
			t.Errorf("%+v", r)
		}
	}
	if s := c.Workers()[0].Stats(); s.LocalOpens == 0 || s.UfsReads == 0 {
		t.Errorf("no short-circuit read happened: %+v", s)
	}
}

func TestRunMemory(t *testing.T) {
	c := startFake(t)
	res, err := RunMemory(context.Background(), MemoryOptions{Addr: c.Addr(), Files: 1500, Clients: 4, PID: os.Getpid(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if res.RSSBefore <= 0 || res.RSSAfter <= 0 || res.HeapBefore != -1 || res.CreateRate <= 0 || len(res.Notes) == 0 {
		t.Errorf("%+v", res)
	}
	if _, err := WaitServing(context.Background(), c.Addr(), "/", time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestBaselines(t *testing.T) {
	ctx := context.Background()
	if r, lat, err := GRPCNoop(ctx, "", 2, 100*time.Millisecond); err != nil || r <= 0 || lat.P50 <= 0 {
		t.Errorf("grpc: %v %v %+v", r, err, lat)
	}
	if r, err := TCPLoopback(ctx, 100*time.Millisecond); err != nil || r <= 0 {
		t.Errorf("tcp: %v %v", r, err)
	}
	if r, err := TmpfsRead(ctx, t.TempDir(), 3<<20+5); err != nil || r <= 0 {
		t.Errorf("tmpfs: %v %v", r, err)
	}
	if r, err := FsyncRate(ctx, t.TempDir(), 50*time.Millisecond); err != nil || r <= 0 {
		t.Errorf("fsync: %v %v", r, err)
	}
	var out bytes.Buffer
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := ServeNoop(ctx2, strings.NewReader(""), &out); err != nil || !strings.HasPrefix(out.String(), "listening 127.0.0.1:") {
		t.Errorf("noop server: %v %q", err, out.String())
	}
}

func TestReplaceSections(t *testing.T) {
	doc := "# B\n\nintro\n\n<!-- BEGIN bench:master -->\nold\n<!-- END bench:master -->\n\n<!-- BEGIN bench:failover -->\ntheirs\n<!-- END bench:failover -->\n\n## hand-written\n"
	got := ReplaceSections(doc, []Section{{Name: "master", Body: "new\n"}, {Name: "io", Body: "io"}})
	for _, want := range []string{"intro", "<!-- BEGIN bench:master -->\nnew\n<!-- END bench:master -->", "theirs", "## hand-written", "<!-- BEGIN bench:io -->\nio\n<!-- END bench:io -->\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old") || strings.Count(got, "bench:master -->") != 2 {
		t.Errorf("old section kept:\n%s", got)
	}
	if again := ReplaceSections(got, []Section{{Name: "master", Body: "new\n"}, {Name: "io", Body: "io"}}); again != got {
		t.Errorf("not idempotent:\n%s", again)
	}
	p := filepath.Join(t.TempDir(), "b.md")
	if err := UpdateDoc(p, []Section{{Name: "x", Body: "y"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !strings.HasPrefix(string(b), "# Benchmarks") || !strings.Contains(string(b), "bench:x -->\ny\n") {
		t.Errorf("new doc:\n%s", b)
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		r    Row
		want string
	}{
		{Row{Value: 40, Baseline: "b", Base: 100, Target: 0.35}, "pass"},
		{Row{Value: 30, Baseline: "b", Base: 100, Target: 0.35}, "**MISS** (86% of target)"},
		{Row{Value: 800, Target: 400, AtMost: true}, "**MISS** (2.0× over)"},
		{Row{Value: 3, Target: 5, AtMost: true}, "pass"},
		{Row{Value: 3}, "—"},
		{Row{Value: -1, Target: 400, AtMost: true}, "—"},
	} {
		if got := tc.r.Verdict(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestPlotCreate(t *testing.T) {
	var buf bytes.Buffer
	pts := []PlotPoint{{1, 500, 2 * time.Millisecond}, {2, 900, 3 * time.Millisecond}, {128, 4000, 90 * time.Millisecond}}
	if err := PlotCreate(&buf, "create-file", pts, 3000, "target"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
		t.Errorf("plot is %v", b)
	}
	for _, r := range "create-file ops/s p99 latency (ms) concurrent clients target: 0.35 x no-op gRPC" {
		if _, ok := glyphs[[]rune(strings.ToUpper(string(r)))[0]]; !ok {
			t.Errorf("no glyph for %q", r)
		}
	}
}

// TestCommand runs `bench master`, `bench io` and `bench memory` through
// the CLI command against the fake cluster, as `alluxio bench` would.
func TestCommand(t *testing.T) {
	c := startFake(t)
	cfg := fakeConf(t, c)
	dir := t.TempDir()
	doc, plot := filepath.Join(dir, "benchmarks.md"), filepath.Join(dir, "create.png")
	var out bytes.Buffer
	app := &cli.App{Name: "alluxio", Writer: &out, ErrWriter: &out,
		Commands: []*cli.Command{Command(func() (*conf.Config, error) { return cfg, nil }, &out)}}
	for _, args := range [][]string{
		{"bench", "master", "--clients", "2", "--duration", "100ms", "--step", "50ms", "--search", "--search-max", "2", "--sweep", "1,2", "--plot", plot, "--doc", doc, "--journal-dir", dir, "--baseline-duration", "50ms"},
		{"bench", "io", "--size", "2MB", "--io-clients", "1", "--doc", doc, "--baseline-duration", "50ms"},
		{"bench", "memory", "--files", "300", "--clients", "2", "--master-pid", "1", "--doc", doc},
	} {
		if err := app.RunContext(context.Background(), append([]string{"alluxio"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bench:master -->", "bench:master-search -->", "bench:create-plot -->", "bench:io -->", "bench:memory -->",
		"create-file (create + complete, durable journal), 2 clients", "read warm short-circuit, 1 client(s)", "master RSS per file", "create.png"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("doc lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(plot); err != nil {
		t.Error(err)
	}
}

// TestIntegrationLocalCluster starts the real binaries (ALLUXIO_BIN_DIR, as
// make test sets it) and runs the memory benchmark with its restarts from
// the journal and from a checkpoint at a tiny size.
func TestIntegrationLocalCluster(t *testing.T) {
	bin := os.Getenv("ALLUXIO_BIN_DIR")
	if testing.Short() || bin == "" {
		t.Skip("needs ALLUXIO_BIN_DIR with alluxio-master and alluxio-worker (make test sets it)")
	}
	ctx := context.Background()
	lc, err := StartLocalCluster(ctx, bin, 64<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	res, err := RunMemory(ctx, MemoryOptions{Addr: lc.MasterAddr(), MetricsURL: lc.MetricsURL(), Files: 300, Clients: 4,
		Control: lc, JournalDir: lc.Journal, Keep: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReplayToServing <= 0 || res.CheckpointToServing <= 0 || res.RSSRestarted <= 0 {
		t.Errorf("%+v", res)
	}
	mb, err := NewMasterBench(ctx, MasterOptions{Addr: lc.MasterAddr(), Clients: 2, ListSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close(ctx)
	for _, op := range MasterOps {
		if _, err := mb.Run(ctx, op, 2, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}
