package torture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// root is the directory the clients work under.
const root = "/torture"

type tortureConfig struct {
	duration  time.Duration // how long the nemesis injects faults
	minFaults int           // ... and at least this many
	clients   int
	seed      uint64
	// faultDeadline bounds the nemesis: past it no fault is injected even
	// if minFaults are not reached (the checks follow).
	faultDeadline time.Duration
	// checkBudget bounds what follows the faults (stopping the clients,
	// reading the final state, the journal): the watchdog fires at
	// faultDeadline + checkBudget.
	checkBudget time.Duration
}

// envSeed returns TORTURE_SEED, or a seed from the clock (logged, so a run
// can be repeated).
func envSeed(t *testing.T) uint64 {
	if s := os.Getenv("TORTURE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TORTURE_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano() % 1000000)
}

func envClients(t *testing.T) int {
	if s := os.Getenv("TORTURE_CLIENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TORTURE_CLIENTS=%q: want a positive number", s)
		}
		return n
	}
	return 4
}

// TestIntegrationTortureShort is the short torture run of make test: about
// 60 s of faults, at least 10 (every kind at least once), then the checks.
func TestIntegrationTortureShort(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	runTorture(t, tortureConfig{
		duration: 60 * time.Second, minFaults: 10, clients: envClients(t), seed: envSeed(t),
		faultDeadline: 4 * time.Minute, checkBudget: 5 * time.Minute,
	})
}

// TestIntegrationTorture is the long run: make torture DURATION=30m SEED=1
// (TORTURE_DURATION and TORTURE_SEED).
func TestIntegrationTorture(t *testing.T) {
	s := os.Getenv("TORTURE_DURATION")
	if s == "" {
		t.Skip("set TORTURE_DURATION (make torture DURATION=30m SEED=1) for the long torture run")
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("TORTURE_DURATION=%q: want a Go duration such as 30m", s)
	}
	runTorture(t, tortureConfig{
		duration: d, minFaults: 10, clients: envClients(t), seed: envSeed(t),
		faultDeadline: d + 10*time.Minute, checkBudget: 10 * time.Minute,
	})
}

func runTorture(t *testing.T, cfg tortureConfig) {
	began := time.Now()
	home := t.TempDir()
	if out := os.Getenv("TORTURE_OUT"); out != "" {
		home = filepath.Join(out, fmt.Sprintf("torture-%s-seed%d", began.UTC().Format("20060102T150405"), cfg.seed))
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("torture: seed %d (TORTURE_SEED=%d repeats the fault schedule and the clients' choices), %v of faults (at least %d), %d clients; run directory %s",
		cfg.seed, cfg.seed, cfg.duration, cfg.minFaults, cfg.clients, home)
	c := newCluster(t, clusterConfig{masters: 3, workers: 2, home: home})
	// The hard deadline: faults, then the checks.
	stopWatchdog := c.watchdog(cfg.faultDeadline + cfg.checkBudget)
	t.Cleanup(stopWatchdog)
	if !c.netns {
		t.Logf("torture: the partition fault is disabled: %s", c.noNetns)
	}
	c.startAll()

	admin := c.mustClient(nil)
	var fixed []string
	for i := 0; i < cfg.clients; i++ {
		fixed = append(fixed, path.Join(root, fmt.Sprintf("c%d", i)))
	}
	for _, d := range fixed {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := admin.CreateDirectory(ctx, d, client.Recursive(), client.AllowExists())
		cancel()
		if err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	fixed = append(fixed, root)

	histFile, err := os.Create(filepath.Join(home, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer histFile.Close()
	hist := NewHistory(histFile)
	stop := make(chan struct{})
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	t.Cleanup(stopClients)
	wg := runWorkloads(c, cfg.clients, cfg.seed, root, hist, stop, 1<<30)
	waitAcked(t, hist, 10, 60*time.Second)

	// The nemesis: one fault at a time, each healed before the next.
	nem := newNemesis(c, hist, cfg.seed, t.Logf)
	start := time.Now()
	faults := 0
	for (time.Since(start) < cfg.duration || faults < cfg.minFaults) && time.Since(start) < cfg.faultDeadline {
		f := nem.inject(nem.next())
		faults++
		if f.Err != "" && strings.HasPrefix(f.Err, "recovery:") {
			t.Errorf("the cluster did not recover from %s: %s", f.Kind, f.Err)
			break
		}
		// Normal operation between faults.
		hold(nem.between(300*time.Millisecond, 1500*time.Millisecond))
	}
	if faults < cfg.minFaults {
		t.Errorf("only %d faults injected before the deadline, want at least %d", faults, cfg.minFaults)
	}
	faultTime := time.Since(start)
	t.Logf("torture: %d faults in %v; stopping the clients", faults, faultTime.Round(time.Second))
	stopClients()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("clients did not stop within 2 minutes")
	}
	if err := nem.heal(); err != nil && !strings.Contains(err.Error(), "acknowledged") {
		t.Fatalf("final heal: %v", err)
	}

	// The final state.
	t.Logf("torture: clients stopped and the cluster healed; reading the final state")
	final, err := finalState(admin, root)
	if err != nil {
		t.Fatalf("reading the final state: %v", err)
	}
	t.Logf("torture: read %d paths; checking the history, then the masters and the journal", len(final))
	if b, err := json.Marshal(final); err == nil {
		_ = os.WriteFile(filepath.Join(home, "final.json"), b, 0o644)
	}
	ops := hist.Ops()
	report := Check(ops, hist.Faults(), final, root, fixed)
	for _, a := range CheckNoAckWithoutQuorum(ops, nem.quorumLoss, sessionTimeout) {
		report.anomaly("%s", a)
	}
	ufs, err := ufsState(c.ufs, root)
	if err != nil {
		report.anomaly("reading the UFS: %v", err)
	}
	ufsAnomalies, leftovers := CheckUFS(final, ufs, root)
	for _, a := range ufsAnomalies {
		report.anomaly("%s", a)
	}

	// Every master ends at one journal sequence and state digest, and the
	// shared journal, dumped with each master's configuration, is one
	// linear history ending there.
	seq, digest, err := c.converged(60 * time.Second)
	if err != nil {
		report.anomaly("%v", err)
	}
	var jr *JournalReport
	var first string
	for i, m := range c.masters {
		out, err := c.dumpJournal(m)
		if err != nil {
			report.anomaly("alluxio-master --dump-journal with %s's configuration: %v: %s", m.name, err, lastLines(out, 5))
			continue
		}
		// The masters keep running: a term may start (a NewTermEntry) while
		// the dumps are taken, so the dumps are compared up to the sequence
		// the masters converged on. The first dump is checked whole.
		if i > 0 && seq != 0 {
			out = DumpThrough(out, seq)
		}
		if i == 0 {
			first = out
			lines, err := ParseJournalDump(out)
			if err != nil {
				report.anomaly("journal dump: %v", err)
				continue
			}
			jr = CheckJournal(lines)
			report.Anomalies = append(report.Anomalies, jr.Anomalies...)
			if seq != 0 && jr.LastSeq < seq {
				report.anomaly("journal dump ends at seq %d but the masters report journal_sequence %d", jr.LastSeq, seq)
			}
			if seq != 0 {
				first = DumpThrough(out, seq)
			}
		} else if out != first {
			report.anomaly("the journal dump with %s's configuration differs from %s's", m.name, c.masters[0].name)
		}
	}

	summary := fmt.Sprintf("torture run: seed %d, %v of faults (%v in all), %d clients, ZooKeeper session timeout %v, masters in network namespaces: %v\n",
		cfg.seed, faultTime.Round(time.Second), time.Since(began).Round(time.Second), cfg.clients, sessionTimeout, c.netns) + report.Summary()
	summary += fmt.Sprintf("UFS: %d entries under %s; temporary files left by interrupted writes: %d\n", len(ufs), root, len(leftovers))
	summary += fmt.Sprintf("pauses below the session timeout after which another term led: %d\n", nem.pauseShortMoved)
	if jr != nil {
		summary += fmt.Sprintf("journal: %d entries, %d terms (epochs %s), last seq %d; masters agree on seq %d, state digest %.16s\n",
			jr.Entries, len(jr.Terms), epochRange(jr.Terms), jr.LastSeq, seq, digest)
	}
	t.Log("\n" + summary)
	_ = os.WriteFile(filepath.Join(home, "summary.txt"), []byte(summary), 0o644)
	_ = os.WriteFile(filepath.Join(home, "anomalies.txt"), []byte(strings.Join(report.Anomalies, "\n")+"\n"), 0o644)
	if p := os.Getenv("TORTURE_SUMMARY"); p != "" {
		_ = os.WriteFile(p, []byte(summary), 0o644)
	}
	if report.Lost > 0 {
		t.Errorf("%d acknowledged operations lost", report.Lost)
	}
	if len(report.Anomalies) > 0 {
		t.Errorf("%d anomalies (see the summary above)", len(report.Anomalies))
	}
}

func epochRange(terms []int64) string {
	if len(terms) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", terms[0], terms[len(terms)-1])
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitAcked polls until the clients have n operations acknowledged.
func waitAcked(t *testing.T, hist *History, n int64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for hist.Acked() < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d client operations acknowledged within %v", n, limit)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// finalState lists everything under dir and reads every complete file.
// Transient errors are retried (bounded); a file that stays unreadable is
// recorded as such.
func finalState(fsys *client.FileSystem, dir string) (map[string]Entry, error) {
	var list []*client.URIStatus
	err := retryFor(2*time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var err error
		list, err = fsys.ListStatus(ctx, dir, client.Recursive())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	final := map[string]Entry{}
	var mu sync.Mutex
	work := make(chan *client.URIStatus)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				e := Entry{IsDir: st.IsDir, Complete: st.Completed, Size: st.Length}
				if !st.IsDir && st.Completed {
					var data []byte
					err := retryFor(30*time.Second, func() error {
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						defer cancel()
						var err error
						data, err = readFile(ctx, fsys, st.Path)
						if errors.Is(err, client.ErrNotFound) {
							return nil
						}
						return err
					})
					if err != nil || data == nil {
						e.ReadErr = fmt.Sprint(err)
					} else {
						e.Sum = Sum(data)
					}
				}
				mu.Lock()
				final[st.Path] = e
				mu.Unlock()
			}
		}()
	}
	for _, st := range list {
		work <- st
	}
	close(work)
	wg.Wait()
	return final, nil
}

// retryFor calls f until it succeeds or limit passes, polling.
func retryFor(limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond) // poll interval
	}
}

// ufsState walks the local root UFS directory under the Alluxio path dir
// and returns its entries keyed by Alluxio path, with the files' SHA-256.
func ufsState(ufsRoot, dir string) (map[string]Entry, error) {
	out := map[string]Entry{}
	base := filepath.Join(ufsRoot, filepath.FromSlash(dir))
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(ufsRoot, p)
		if err != nil {
			return err
		}
		ap := "/" + filepath.ToSlash(rel)
		if de.IsDir() {
			out[ap] = Entry{IsDir: true}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[ap] = Entry{Complete: true, Size: int64(len(b)), Sum: Sum(b)}
		return nil
	})
	return out, err
}
