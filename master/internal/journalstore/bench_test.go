package journalstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// The journal append benchmark (make bench-journal): N concurrent writers
// append ~200-byte entries and Flush each, through the journal's group
// commit, on a local directory and on HDFS; beside them the raw rate of
// write+Sync of one 200-byte record on the same storage. Run with
// ALLUXIO_BENCH=journal; ALLUXIO_BENCH_OUT names a markdown file whose
// section between <!-- BEGIN bench:journal --> and <!-- END bench:journal -->
// is rewritten (appended at the end if absent). ALLUXIO_BENCH_DURATION
// sets each case's length (default 5s), ALLUXIO_BENCH_WRITERS the writer
// counts (default 1,8,32), ALLUXIO_BENCH_LOCAL_DIR the local folder's
// parent (default a temporary directory).

const (
	benchBegin = "<!-- BEGIN bench:journal -->"
	benchEnd   = "<!-- END bench:journal -->"
)

// countingStorage counts the Syncs of the logs it creates.
type countingStorage struct {
	journal.Storage
	syncs *atomic.Int64
}

func (s countingStorage) Create(ctx context.Context, name string) (journal.LogFile, error) {
	f, err := s.Storage.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	return countingLog{f, s.syncs}, nil
}

type countingLog struct {
	journal.LogFile
	syncs *atomic.Int64
}

func (l countingLog) Sync() error {
	l.syncs.Add(1)
	return l.LogFile.Sync()
}

// benchEntry is a journal entry of about 200 bytes.
func benchEntry(i int) *journalpb.JournalEntry {
	return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_InodeFile{InodeFile: &journalpb.InodeFileEntry{
		Id: int64(i) + 1000, ParentId: 1, Name: fmt.Sprintf("file-%09d-%s", i, strings.Repeat("x", 130)),
		Owner: "alluxio", Group: "alluxio", CreationTimeMs: 1700000000000, PersistenceState: "NOT_PERSISTED",
	}}}
}

type benchResult struct {
	backend    string
	writers    int
	entries    int64
	syncs      int64
	elapsed    time.Duration
	p50, p99   time.Duration
	entryBytes int
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// benchRawSync measures write+Sync of one 200-byte record on st.
func benchRawSync(t *testing.T, st journal.Storage, dur time.Duration) float64 {
	ctx := testCtx(t)
	name := "raw-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := st.Mkdirs(ctx, ""); err != nil {
		t.Fatal(err)
	}
	f, err := st.Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	rec := bytes.Repeat([]byte{'r'}, 200)
	n := 0
	start := time.Now()
	for time.Since(start) < dur {
		if _, err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	el := time.Since(start)
	f.Close()
	st.Delete(ctx, name)
	return float64(n) / el.Seconds()
}

// benchJournal runs writers concurrent appenders on a fresh journal in st.
func benchJournal(t *testing.T, st journal.Storage, backend string, writers int, dur time.Duration) benchResult {
	ctx := testCtx(t)
	var syncs atomic.Int64
	cs := countingStorage{st, &syncs}
	if err := journal.FormatStorage(ctx, cs); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.Config{Storage: cs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Replay(ctx, &historySM{}); err != nil {
		t.Fatal(err)
	}
	w, err := j.StartWriting(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	syncs.Store(0)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		entries   atomic.Int64
		wg        sync.WaitGroup
		failed    atomic.Value
	)
	start := time.Now()
	deadline := start.Add(dur)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := g; time.Now().Before(deadline); i += writers {
				seq, err := w.Append(benchEntry(i))
				if err == nil {
					t0 := time.Now()
					err = w.Flush(ctx, seq)
					mine = append(mine, time.Since(t0))
				}
				if err != nil {
					failed.Store(err)
					return
				}
				entries.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("%s, %d writers: %v", backend, writers, err)
	}
	return benchResult{backend: backend, writers: writers, entries: entries.Load(), syncs: syncs.Load(), elapsed: el,
		p50: percentile(latencies, 0.50), p99: percentile(latencies, 0.99), entryBytes: proto.Size(benchEntry(0))}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			load = ", load average at the end: " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s, %s%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
}

func TestBenchJournal(t *testing.T) {
	if os.Getenv("ALLUXIO_BENCH") != "journal" {
		t.Skip("the journal append benchmark runs with ALLUXIO_BENCH=journal (make bench-journal)")
	}
	dur := 5 * time.Second
	if v := os.Getenv("ALLUXIO_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ALLUXIO_BENCH_DURATION: %v", err)
		}
		dur = d
	}
	counts := []int{1, 8, 32}
	if v := os.Getenv("ALLUXIO_BENCH_WRITERS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("ALLUXIO_BENCH_WRITERS: bad count %q", f)
			}
			counts = append(counts, n)
		}
	}
	localParent := os.Getenv("ALLUXIO_BENCH_LOCAL_DIR")
	if localParent == "" {
		localParent = t.TempDir()
	} else {
		d, err := os.MkdirTemp(localParent, "bench-journal")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(d)
		localParent = d
	}
	c := sharedHDFS.Cluster(t)
	backends := []struct {
		name   string
		folder func(i int) string
	}{
		{"local", func(i int) string { return filepath.Join(localParent, "j"+strconv.Itoa(i)) }},
		{"HDFS", func(i int) string { return c.URI + "/bench/j" + strconv.Itoa(i) }},
	}
	raw := map[string]float64{}
	var results []benchResult
	for bi, b := range backends {
		for i, n := range counts {
			r := benchJournal(t, openT(t, b.folder(i), nil), b.name, n, dur)
			results = append(results, r)
			t.Logf("%s, %d writers: %.0f entries/s, %.0f flushes/s, %.1f entries per flush, Flush p50 %v p99 %v",
				b.name, n, float64(r.entries)/r.elapsed.Seconds(), float64(r.syncs)/r.elapsed.Seconds(),
				float64(r.entries)/float64(max(r.syncs, 1)), r.p50, r.p99)
		}
		// After the journal rows, so that both run on a warmed-up server.
		raw[b.name] = benchRawSync(t, openT(t, b.folder(100+bi), nil), dur)
		t.Logf("%s: raw write+Sync of 200 bytes: %.0f/s", b.name, raw[b.name])
	}

	var md strings.Builder
	fmt.Fprintf(&md, "%s\n## Journal appends: local disk vs HDFS (generated by `make bench-journal`)\n\n", benchBegin)
	fmt.Fprintf(&md, "N concurrent writers each append one %d-byte entry and Flush it (the journal's group commit:\n", results[0].entryBytes)
	md.WriteString("one Sync covers every entry appended before it), for " + dur.String() + " per row. *Flushes* are the\n")
	md.WriteString("Syncs of the open log. *Raw Sync rate* is write+Sync of one 200-byte record in a loop on the same\n")
	md.WriteString("storage, the ceiling of flushes/s. Local: fdatasync of a file on the machine's disk. HDFS: a\n")
	md.WriteString("single-DataNode MiniDFSCluster on loopback (`common/hdfstest`), where the open log stays open and a\n")
	md.WriteString("Sync is an hflush (every DataNode of the pipeline acknowledged every packet) followed by the\n")
	md.WriteString("NameNode's `fsync` with the last block's length (deploy/hdfs/JOURNAL-ON-HDFS.md).\n\n")
	md.WriteString("| storage | writers | entries/s | flushes/s | entries per flush | Flush p50 | Flush p99 | raw Sync rate |\n")
	md.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		fmt.Fprintf(&md, "| %s | %d | %.0f | %.0f | %.1f | %s | %s | %.0f/s |\n", r.backend, r.writers,
			float64(r.entries)/r.elapsed.Seconds(), float64(r.syncs)/r.elapsed.Seconds(),
			float64(r.entries)/float64(max(r.syncs, 1)), fmtDur(r.p50), fmtDur(r.p99), raw[r.backend])
	}
	fmt.Fprintf(&md, "\nCommand: `make bench-journal` · date: %s · machine: %s\n%s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), benchEnd)
	t.Logf("\n%s", md.String())

	out := os.Getenv("ALLUXIO_BENCH_OUT")
	if out == "" {
		return
	}
	doc, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s := string(doc)
	if i, k := strings.Index(s, benchBegin), strings.Index(s, benchEnd); i >= 0 && k > i {
		s = s[:i] + strings.TrimSuffix(md.String(), "\n") + s[k+len(benchEnd):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += "\n" + md.String()
	}
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the bench:journal section of %s", out)
}
