package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/e2e/internal/proctest"
	"github.com/alluxio-go/alluxio/common/hdfstest"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// The HDFS journal tests (issue 4) run the HA harness of ha_cluster_test.go
// with alluxio.master.journal.folder on a real HDFS (common/hdfstest), one
// cluster shared by the package's tests and stopped by TestMain. Each test
// has its own journal folder on it.
//
// E2E_HDFS_JOURNAL=local runs the tests that do not need HDFS itself
// (failover, paused leader) with a local journal folder instead, to tell a
// harness problem from an HDFS journal problem.

var sharedHDFS = &hdfstest.Shared{}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedHDFS.Close()
	os.Exit(code)
}

// hdfsJournalFolder returns the HDFS cluster (nil with E2E_HDFS_JOURNAL=local
// when local is allowed) and this test's journal folder URI ("" for the
// harness's local folder).
func hdfsJournalFolder(t *testing.T, localAllowed bool) (*hdfstest.Cluster, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test runs HDFS, ZooKeeper and real processes")
	}
	if os.Getenv("E2E_HDFS_JOURNAL") == "local" {
		if !localAllowed {
			t.Skip("E2E_HDFS_JOURNAL=local: this test is about HDFS itself")
		}
		t.Log("E2E_HDFS_JOURNAL=local: journal on the local disk")
		return nil, ""
	}
	h := sharedHDFS.Cluster(t)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(strings.TrimPrefix(t.Name(), "TestIntegrationHDFSJournal"))
	return h, fmt.Sprintf("%s/journal-%s-%d", h.URI, strings.ToLower(name), time.Now().UnixNano())
}

// newHDFSJournalCluster is newHACluster with the journal folder on HDFS.
func newHDFSJournalCluster(t *testing.T, folder string, cfg haConfig) *haCluster {
	t.Helper()
	if folder != "" {
		if cfg.props == nil {
			cfg.props = map[string]string{}
		}
		cfg.props["alluxio.master.journal.folder"] = folder
	}
	c := newHACluster(t, cfg)
	if folder != "" {
		c.journal = folder
	}
	t.Logf("journal folder %s", c.journal)
	return c
}

// nameHistory is what one client did to one unique name: create f, rename
// it to r, maybe delete r; each step only after the previous one was
// acknowledged.
type nameHistory struct {
	f, r    string
	content []byte
	ops     []opRecord // kinds "create", "rename", "delete"
}

type nameState struct{ f, r bool }

func applyOp(s nameState, kind string) nameState {
	switch kind {
	case "create":
		s.f = true
	case "rename":
		s.f, s.r = false, true
	case "delete":
		s.r = false
	}
	return s
}

// allowedStates are the final states the outcomes allow: an acknowledged
// operation applied, a definite failure did not, an indeterminate one may
// have.
func (h *nameHistory) allowedStates() map[nameState]bool {
	cur := map[nameState]bool{{}: true}
	for _, op := range h.ops {
		next := map[nameState]bool{}
		for s := range cur {
			switch op.outcome {
			case opOK:
				next[applyOp(s, op.kind)] = true
			case opFailed:
				next[s] = true
			case opIndeterminate:
				next[s] = true
				next[applyOp(s, op.kind)] = true
			}
		}
		cur = next
	}
	return cur
}

// mixedLog collects the name histories of concurrent clients.
type mixedLog struct {
	mu    sync.Mutex
	names []*nameHistory
	opLog // counters of acknowledged operations
}

func (l *mixedLog) add(h *nameHistory) {
	l.mu.Lock()
	l.names = append(l.names, h)
	l.mu.Unlock()
}

func (l *mixedLog) all() []*nameHistory {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*nameHistory(nil), l.names...)
}

// runMixedClients runs n clients (each its own FileSystem finding the
// leader through ZooKeeper) until stop closes: each creates a file with
// known content under a unique name, renames it, and deletes every third
// one, stopping a name's sequence at its first unacknowledged step.
func runMixedClients(t *testing.T, c *haCluster, n int, stop <-chan struct{}, log *mixedLog) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		fsys := c.mustClient(nil)
		dir := fmt.Sprintf("/hj/c%d", g)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := fsys.CreateDirectory(ctx, dir, client.Recursive(), client.AllowExists())
		cancel()
		if err != nil {
			t.Fatalf("client %d: mkdir: %v", g, err)
		}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h := &nameHistory{f: fmt.Sprintf("%s/f%05d", dir, i), r: fmt.Sprintf("%s/r%05d", dir, i), content: fileContent(g, i)}
				log.add(h)
				steps := []string{"create", "rename"}
				if i%3 == 0 {
					steps = append(steps, "delete")
				}
				for _, kind := range steps {
					ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
					r := opRecord{kind: kind, start: time.Now()}
					switch kind {
					case "create":
						r.path = h.f
						r.err = createFile(ctx, fsys, h.f, h.content, client.CacheThrough)
					case "rename":
						r.path = h.r
						r.err = fsys.Rename(ctx, h.f, h.r)
					case "delete":
						r.path = h.r
						r.err = fsys.Delete(ctx, h.r)
					}
					cancel()
					r.end, r.outcome = time.Now(), classify(r.err)
					log.mu.Lock()
					h.ops = append(h.ops, r)
					log.mu.Unlock()
					log.opLog.add(opRecord{kind: kind, outcome: r.outcome})
					if r.outcome != opOK {
						time.Sleep(20 * time.Millisecond) // no hot loop while the cluster fails over
						break
					}
				}
			}
		}(g)
	}
	return &wg
}

// verifyNames checks the final namespace against every name's history: the
// state of (f, r) is one the outcomes allow, and a file that is there after
// an acknowledged create is complete with its content.
func verifyNames(t *testing.T, fsys *client.FileSystem, log *mixedLog) {
	t.Helper()
	names := log.all()
	log.mu.Lock()
	defer log.mu.Unlock()
	counts := map[string]map[outcome]int{"create": {}, "rename": {}, "delete": {}}
	samples := map[string]int{}
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	exists := func(ctx context.Context, p string) (*client.URIStatus, bool) {
		st, err := fsys.GetStatus(ctx, p)
		if err != nil && !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("GetStatus %s: %v", p, err)
		}
		return st, err == nil
	}
	for _, h := range names {
		for _, op := range h.ops {
			counts[op.kind][op.outcome]++
			if op.err != nil {
				samples[op.kind+": "+digits.ReplaceAllString(op.err.Error(), "N")]++
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		fst, fok := exists(ctx, h.f)
		rst, rok := exists(ctx, h.r)
		got := nameState{f: fok, r: rok}
		allowed := h.allowedStates()
		if !allowed[got] {
			var ops []string
			for _, op := range h.ops {
				ops = append(ops, fmt.Sprintf("%s %s at %s (%v)", op.kind, op.outcome, op.end.Format("15:04:05.000"), op.err))
			}
			report("%s / %s: final state f=%v r=%v is not allowed by %v (allowed %v)", h.f, h.r, got.f, got.r, ops, allowed)
		}
		createAcked := len(h.ops) > 0 && h.ops[0].outcome == opOK
		for _, x := range []struct {
			p  string
			st *client.URIStatus
			ok bool
		}{{h.f, fst, fok}, {h.r, rst, rok}} {
			if !x.ok || !createAcked {
				continue
			}
			if !x.st.Completed {
				report("acknowledged create of %s: %s is not complete", h.f, x.p)
				continue
			}
			b, err := readFile(ctx, fsys, x.p)
			if err != nil {
				report("acknowledged create of %s: %s unreadable: %v", h.f, x.p, err)
			} else if !bytes.Equal(b, h.content) {
				report("acknowledged create of %s: %s has %d bytes %.40q, want %d bytes %.40q", h.f, x.p, len(b), b, len(h.content), h.content)
			}
		}
		cancel()
	}
	if bad > 20 {
		t.Errorf("%d name problems in all", bad)
	}
	t.Logf("%d names; create %v, rename %v, delete %v", len(names), fmtCounts(counts["create"]), fmtCounts(counts["rename"]), fmtCounts(counts["delete"]))
	errs := make([]string, 0, len(samples))
	for e, n := range samples {
		errs = append(errs, fmt.Sprintf("%5d x %s", n, e))
	}
	sort.Strings(errs)
	if len(errs) > 15 {
		errs = errs[:15]
	}
	if len(errs) > 0 {
		t.Logf("client errors (first 15 kinds):\n%s", strings.Join(errs, "\n"))
	}
}

// rawRecord is one record of a journal log file as it lies in storage.
type rawRecord struct {
	file       string
	off        int64
	seq, epoch int64
}

var logName = regexp.MustCompile(`^0x([0-9a-f]+)-0x([0-9a-f]+)(\.sealing)?$`)

// readRawLogs decodes every record of every log file in the journal folder
// (FileSystemMaster/v1/logs, local or HDFS) straight from storage, without
// the journal's replay, in the order of the files' start sequence numbers.
// The framing is the journal's: uvarint(len) | JournalEntry | crc32c LE.
// A record that does not decode is reported unless it is the tail of the
// last file (a log still being written).
func readRawLogs(t *testing.T, folder string) []rawRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fsys, err := ufs.NewRegistry().Open(ctx, folder, nil)
	if err != nil {
		t.Fatalf("open journal folder %s: %v", folder, err)
	}
	defer fsys.Close()
	dir := strings.TrimRight(folder, "/") + "/FileSystemMaster/v1/logs"
	entries, err := fsys.List(ctx, dir)
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	type logFile struct {
		name  string
		start int64
	}
	var files []logFile
	for _, e := range entries {
		m := logName.FindStringSubmatch(e.Name)
		if m == nil || e.IsDir {
			t.Errorf("unexpected entry %s in %s", e.Name, dir)
			continue
		}
		start, _ := strconv.ParseInt(m[1], 16, 64)
		files = append(files, logFile{e.Name, start})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].start < files[j].start })
	crcTable := crc32.MakeTable(crc32.Castagnoli)
	var recs []rawRecord
	for i, f := range files {
		// A few attempts: the leader may be syncing the open log (on HDFS
		// its last block is briefly being appended to).
		var b []byte
		for attempt := 1; ; attempt++ {
			r, err := fsys.Open(ctx, dir+"/"+f.name, 0)
			if err == nil {
				b, err = io.ReadAll(r)
				r.Close()
			}
			if err == nil {
				break
			}
			if attempt == 3 {
				t.Fatalf("read %s/%s: %v", dir, f.name, err)
			}
			time.Sleep(500 * time.Millisecond) // pause before the next attempt
		}
		for off := 0; off < len(b); {
			l, k := binary.Uvarint(b[off:])
			end := off + k + int(l) + 4
			if k <= 0 || l == 0 || end > len(b) || end < off {
				if i != len(files)-1 {
					t.Errorf("journal log %s: undecodable record at offset %d of %d bytes (not the last file)", f.name, off, len(b))
				}
				break
			}
			payload := b[off+k : off+k+int(l)]
			if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[end-4:end]) {
				t.Errorf("journal log %s: CRC mismatch at offset %d", f.name, off)
				break
			}
			var e journalpb.JournalEntry
			if err := proto.Unmarshal(payload, &e); err != nil {
				t.Errorf("journal log %s: record at offset %d: %v", f.name, off, err)
				break
			}
			recs = append(recs, rawRecord{file: f.name, off: int64(off), seq: e.GetSequenceNumber(), epoch: e.GetEpoch()})
			off = end
		}
	}
	return recs
}

// checkRawLogsFenced checks what lies in storage: once a record of a newer
// epoch is in the logs, no record of an older epoch comes after it, and
// sequence numbers only grow. It returns the epochs in order.
func checkRawLogsFenced(t *testing.T, folder string) []int64 {
	t.Helper()
	recs := readRawLogs(t, folder)
	if len(recs) == 0 {
		t.Errorf("no records in the journal logs of %s", folder)
		return nil
	}
	var epochs []int64
	bad := 0
	for i, r := range recs {
		if i == 0 || r.epoch != recs[i-1].epoch {
			epochs = append(epochs, r.epoch)
		}
		if i == 0 {
			continue
		}
		p := recs[i-1]
		if r.epoch < p.epoch || r.seq <= p.seq {
			bad++
			if bad <= 10 {
				t.Errorf("journal logs in storage: %s@%d has seq %d epoch %d after %s@%d seq %d epoch %d (a record of an old epoch after a newer one, or a repeated sequence number)",
					r.file, r.off, r.seq, r.epoch, p.file, p.off, p.seq, p.epoch)
			}
		}
	}
	t.Logf("journal logs in storage: %d records, epochs in order %v", len(recs), epochs)
	return epochs
}

// TestIntegrationHDFSJournalFailover is issue 4's failover "must show":
// three masters with the journal on HDFS, ZooKeeper, two workers, four
// clients creating, renaming and deleting unique names while the leader
// is killed with kill -9 twice (restarted as a standby each time).
// Afterwards every name is in a state its acknowledged operations allow,
// the journal is one linear history (as replayed, and as the records lie in
// HDFS) and every master has replayed it into the same state.
func TestIntegrationHDFSJournalFailover(t *testing.T) {
	_, folder := hdfsJournalFolder(t, true)
	c := newHDFSJournalCluster(t, folder, haConfig{masters: 3, workers: 2})
	c.startAll()
	leader, epoch := c.waitLeader(nil)
	t.Logf("initial leader %s epoch %d", leader.name, epoch)

	log := &mixedLog{}
	stop := make(chan struct{})
	var once sync.Once
	stopClients := func() { once.Do(func() { close(stop) }) }
	t.Cleanup(stopClients)
	wg := runMixedClients(t, c, 4, stop, log)
	waitProgress(t, &log.created, 20, 30*time.Second, "file creates before the first kill")

	begin := time.Now()
	for round := 0; round < 2; round++ {
		old, oldEpoch := c.waitLeader(nil)
		killed := time.Now()
		c.signal(old, syscall.SIGKILL)
		next, nextEpoch := c.waitLeader(old)
		elected := time.Since(killed)
		if nextEpoch <= oldEpoch {
			t.Errorf("round %d: new leader %s has epoch %d, not greater than %d of %s", round, next.name, nextEpoch, oldEpoch, old.name)
		}
		resumed := waitProgress(t, &log.ok, 5, 30*time.Second, fmt.Sprintf("operations after kill %d of %s", round, old.name))
		t.Logf("round %d: kill -9 of leader %s (epoch %d): %s leads with epoch %d after %v; 5 more operations acknowledged within %v",
			round, old.name, oldEpoch, next.name, nextEpoch, elected.Round(time.Millisecond), resumed.Round(time.Millisecond))
		c.start(old) // back to three masters, as a standby
	}
	waitProgress(t, &log.created, 10, 30*time.Second, "file creates after the last kill")
	stopClients()
	wg.Wait()
	t.Logf("two failovers with the journal on %s took %v", c.journal, time.Since(begin).Round(time.Millisecond))
	c.waitWorkers(len(c.workers))

	verifyNames(t, c.mustClient(nil), log)
	checkOneHistoryExplained(t, c)
	checkRawLogsFenced(t, c.journal)
}

// TestIntegrationHDFSJournalPausedLeader is issue 4's fencing "must show":
// the leader, holding an HDFS writer on the open log, is paused with
// SIGSTOP well past the ZooKeeper session timeout while clients keep
// writing; a new leader with a higher epoch takes over; the old one gets
// SIGCONT with a write queued to it. It acknowledges nothing, and no record
// of its epoch lies after the new epoch's first record, neither in the
// replayed history nor in any log file in storage; every master agrees on
// the final sequence number and state.
func TestIntegrationHDFSJournalPausedLeader(t *testing.T) {
	_, folder := hdfsJournalFolder(t, true)
	c := newHDFSJournalCluster(t, folder, haConfig{masters: 3})
	c.startAll()
	old, oldEpoch := c.waitLeader(nil)
	ctx := context.Background()

	// Clients writing through ZooKeeper inquiry all along.
	log := &opLog{}
	stop := make(chan struct{})
	var once sync.Once
	stopClients := func() { once.Do(func() { close(stop) }) }
	t.Cleanup(stopClients)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		fsys := c.mustClient(nil)
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := timedMkdir(ctx, fsys, fmt.Sprintf("/p/c%d/d%05d", g, i), 40*time.Second)
				log.add(r)
				if r.err != nil {
					time.Sleep(20 * time.Millisecond) // no hot loop during the takeover
				}
			}
		}(g)
	}
	waitProgress(t, &log.ok, 20, 30*time.Second, "mkdirs before the pause")

	pinned, err := c.pinnedClient(ctx, old.addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	// Three more clients pinned to the leader keep requests inside it, so
	// that some are in its journal append (holding its HDFS writer) at the
	// moment it is paused; after SIGCONT they continue from there.
	pausedNow := make(chan struct{})
	var pwg sync.WaitGroup
	for g := 0; g < 3; g++ {
		fsys, err := c.pinnedClient(ctx, old.addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer fsys.Close()
		pwg.Add(1)
		go func(g int) {
			defer pwg.Done()
			for i := 0; ; i++ {
				select {
				case <-pausedNow:
					return
				default:
				}
				r := timedMkdir(ctx, fsys, fmt.Sprintf("/p/pinned%d/d%05d", g, i), 90*time.Second)
				log.add(r)
			}
		}(g)
	}
	waitProgress(t, &log.ok, 20, 30*time.Second, "mkdirs with the pinned clients")
	c.signal(old, syscall.SIGSTOP)
	paused := time.Now()
	close(pausedNow)
	// A write that reaches the old leader while it is paused: the kernel
	// queues it; the process handles it, with its HDFS writer, after SIGCONT.
	inflight := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		inflight <- pinned.CreateDirectory(cctx, "/inflight-to-paused", client.Recursive())
	}()

	next, nextEpoch := c.waitLeader(old)
	t.Logf("%s paused (epoch %d); %s leads with epoch %d after %v", old.name, oldEpoch, next.name, nextEpoch, time.Since(paused).Round(time.Millisecond))
	if nextEpoch <= oldEpoch {
		t.Errorf("new epoch %d not greater than %d", nextEpoch, oldEpoch)
	}
	waitProgress(t, &log.ok, 10, 30*time.Second, "mkdirs under the new leader")
	for time.Since(paused) < 3*haSessionTimeout {
		time.Sleep(50 * time.Millisecond) // poll interval: stay paused well past the session timeout
	}

	logMark := len(old.log.String())
	c.signal(old, syscall.SIGCONT)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = pinned.CreateDirectory(cctx, "/direct-to-deposed", client.Recursive())
	cancel()
	if err == nil {
		t.Errorf("the deposed leader %s acknowledged a write after SIGCONT", old.name)
	} else {
		t.Logf("write to the deposed leader after SIGCONT: %v", err)
	}
	select {
	case err := <-inflight:
		if err == nil {
			t.Errorf("the deposed leader %s acknowledged a write sent while it was paused", old.name)
		} else {
			t.Logf("write queued while paused: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Errorf("the write queued to the paused leader did not finish within 90s of SIGCONT")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.status(ctx, old, false)
		if err == nil && st.GetRole() == "STANDBY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not report STANDBY within 30s of SIGCONT: %v %v", old.name, st, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	waitProgress(t, &log.ok, 10, 30*time.Second, "mkdirs after the old leader resumed")
	stopClients()
	wg.Wait()
	pwg.Wait()
	var resumed []string
	for _, line := range strings.Split(old.log.String()[logMark:], "\n") {
		if (strings.Contains(line, "journal") || strings.Contains(line, "leader") || strings.Contains(line, "fenc")) && len(resumed) < 8 {
			resumed = append(resumed, line)
		}
	}
	t.Logf("%s's log after SIGCONT (its journal writer and leadership):\n%s", old.name, strings.Join(resumed, "\n"))

	verifier := c.mustClient(nil)
	verifyRecords(t, verifier, log.all())
	for _, p := range []string{"/inflight-to-paused", "/direct-to-deposed"} {
		if ok, err := verifier.Exists(ctx, p); err != nil || ok {
			t.Errorf("%s exists=%v (err %v): the deposed leader's write must not apply", p, ok, err)
		}
	}
	checkOneHistoryExplained(t, c)
	lines := c.dumpJournal()
	first := -1
	for i, l := range lines {
		if l.Epoch >= nextEpoch && first < 0 {
			first = i
		}
		if first >= 0 && l.Epoch < nextEpoch {
			t.Errorf("replayed journal: seq %d of epoch %d comes after seq %d, the first of epoch %d", l.Seq, l.Epoch, lines[first].Seq, nextEpoch)
		}
	}
	if first < 0 {
		t.Errorf("replayed journal has no record of the new epoch %d", nextEpoch)
	}
	epochs := checkRawLogsFenced(t, c.journal)
	seen := false
	for _, e := range epochs {
		seen = seen || e >= nextEpoch
	}
	if !seen {
		t.Errorf("no record of the new epoch %d in the journal logs in storage (epochs %v)", nextEpoch, epochs)
	}
}

// TestIntegrationHDFSJournalHDFSOutage is issue 4's "HDFS stopped during
// operation": with HDFS stopped under writing clients, the leader
// acknowledges nothing and says why (the NameNode's address in the client's
// error or the master's log); with HDFS back on its port with its data,
// writes are acknowledged again within a bounded time, no master process
// restarted, and a standby and a fresh dump agree with the leader.
func TestIntegrationHDFSJournalHDFSOutage(t *testing.T) {
	h, folder := hdfsJournalFolder(t, false)
	c := newHDFSJournalCluster(t, folder, haConfig{masters: 2})
	c.startAll()
	leader, _ := c.waitLeader(nil)
	ctx := context.Background()
	pids := map[string]int{}
	for _, m := range c.masters {
		pids[m.name] = m.pid()
	}
	pinned, err := c.pinnedClient(ctx, leader.addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	viaZK := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": "5s"})

	log := &opLog{}
	stop := make(chan struct{})
	var once sync.Once
	stopClients := func() { once.Do(func() { close(stop) }) }
	t.Cleanup(stopClients)
	var wg sync.WaitGroup
	for g, fsys := range []*client.FileSystem{pinned, viaZK} {
		wg.Add(1)
		go func(g int, fsys *client.FileSystem) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := timedMkdir(ctx, fsys, fmt.Sprintf("/o/c%d/d%05d", g, i), 30*time.Second)
				log.add(r)
				if r.err != nil {
					time.Sleep(50 * time.Millisecond) // no hot loop during the outage
				}
			}
		}(g, fsys)
	}
	waitProgress(t, &log.ok, 20, 30*time.Second, "mkdirs before the outage")

	logMark := len(leader.log.String())
	h.Stop()
	down := time.Now()
	t.Logf("HDFS %s stopped", h.URI)
	// Keep it down until clients have seen it fail for a while.
	failedAt := func() int {
		n := 0
		for _, r := range log.all() {
			if r.start.After(down) && r.outcome != opOK {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Since(down) < 5*time.Second || failedAt() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("HDFS down for 60s but only %d operations started during the outage failed", failedAt())
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	restart := time.Now()
	h.Start()
	back := time.Now()
	t.Logf("HDFS down for %v (start took %v)", restart.Sub(down).Round(time.Millisecond), back.Sub(restart).Round(time.Millisecond))

	// Writes are acknowledged again within a bounded time.
	base := log.ok.Load()
	var resumed time.Duration
	for {
		if log.ok.Load() >= base+5 {
			resumed = time.Since(back)
			break
		}
		if time.Since(back) > 60*time.Second {
			t.Fatalf("fewer than 5 writes acknowledged within 60s of HDFS's return")
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	t.Logf("5 writes acknowledged %v after HDFS was back", resumed.Round(time.Millisecond))
	stopClients()
	wg.Wait()

	// Nothing acknowledged that was sent and answered while HDFS was down,
	// and someone said why.
	var why []string
	hostPort := strings.TrimPrefix(h.URI, "hdfs://")
	during := 0
	for _, r := range log.all() {
		if !r.start.After(down) || !r.end.Before(restart) {
			continue
		}
		during++
		if r.outcome == opOK {
			t.Errorf("%s acknowledged at %s while HDFS was down (stopped %s, restarted %s)", r.path, r.end.Format("15:04:05.000"), down.Format("15:04:05.000"), restart.Format("15:04:05.000"))
		} else if strings.Contains(r.err.Error(), hostPort) && len(why) < 2 {
			why = append(why, "client error: "+r.err.Error())
		}
	}
	if during == 0 {
		t.Errorf("no operation was both sent and answered during the outage")
	}
	masterLog := leader.log.String()
	if logMark <= len(masterLog) {
		for _, line := range strings.Split(masterLog[logMark:], "\n") {
			if strings.Contains(line, hostPort) && len(why) < 4 {
				why = append(why, leader.name+" log: "+line)
			}
		}
	}
	if len(why) == 0 {
		t.Errorf("while HDFS was down neither a client error nor %s's log named the NameNode %s", leader.name, hostPort)
	} else {
		t.Logf("why, as reported:\n%s", strings.Join(why, "\n"))
	}
	for _, m := range c.masters {
		if !m.running() || m.pid() != pids[m.name] || len(m.pids) != 1 {
			t.Errorf("%s was restarted or exited: pids %v, want only %d", m.name, m.pids, pids[m.name])
		}
	}
	c.waitLeader(nil)
	verifyRecords(t, c.mustClient(nil), log.all())
	checkOneHistoryExplained(t, c)
	checkRawLogsFenced(t, c.journal)
}

// TestIntegrationHDFSJournalBadFolder is issue 4's bad input at the
// operator level: alluxio-master started (single master, as
// bin/alluxio-start.sh master does) with a journal folder on an hdfs://
// URI where no NameNode listens, or on an HDFS directory its HDFS user may
// not write, exits non-zero within a bounded time, its last stderr line
// naming the URI or the permission problem, and no panic.
func TestIntegrationHDFSJournalBadFolder(t *testing.T) {
	h, _ := hdfsJournalFolder(t, false)
	bin := binaries(t)
	home := t.TempDir()

	run := func(name, folder string, env ...string) (string, int, time.Duration) {
		t.Helper()
		confDir := fmt.Sprintf("%s/conf-%s", home, name)
		ufsDir := fmt.Sprintf("%s/ufs-%s", home, name)
		if err := os.MkdirAll(ufsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeProps(t, confDir, map[string]string{
			"alluxio.master.hostname":             "127.0.0.1",
			"alluxio.master.rpc.port":             strconv.Itoa(stablePort(t)),
			"alluxio.master.web.port":             strconv.Itoa(stablePort(t)),
			"alluxio.master.journal.folder":       folder,
			"alluxio.master.mount.table.root.ufs": ufsDir,
			"alluxio.zookeeper.enabled":           "false",
		})
		hc := &haCluster{t: t, bin: bin, home: home}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin+"/alluxio-master")
		cmd.Env = append(hc.envFor(confDir), env...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		begin := time.Now()
		err := cmd.Run()
		took := time.Since(begin)
		code := 0
		if err != nil {
			code = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
		}
		return stderr.String(), code, took
	}
	lastLine := func(s string) string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return lines[len(lines)-1]
	}
	check := func(what, stderr string, code int, took time.Duration, want ...string) {
		t.Helper()
		last := lastLine(stderr)
		t.Logf("%s: exit %d after %v; last stderr line: %s", what, code, took.Round(time.Millisecond), last)
		if code <= 0 {
			t.Errorf("%s: exit code %d, want a non-zero exit (stderr:\n%s)", what, code, tail(stderr, 20))
		}
		if took > 60*time.Second {
			t.Errorf("%s: took %v to exit, want under 60s", what, took)
		}
		n := 0
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "alluxio-master: ") {
				n++
			}
		}
		if n != 1 || !strings.HasPrefix(last, "alluxio-master: ") {
			t.Errorf("%s: want exactly one error line (\"alluxio-master: ...\"), last; stderr:\n%s", what, tail(stderr, 20))
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
			t.Errorf("%s: stderr holds a panic or stack trace:\n%s", what, tail(stderr, 40))
		}
		for _, w := range want {
			if !strings.Contains(strings.ToLower(last), strings.ToLower(w)) {
				t.Errorf("%s: last stderr line does not name %q: %s", what, w, last)
			}
		}
	}

	// No NameNode: a port that was free a moment ago (connection refused),
	// a host that does not resolve, and an address that never answers
	// (TEST-NET-1, RFC 5737: the dial times out).
	deadURI := fmt.Sprintf("hdfs://127.0.0.1:%d/j", proctest.FreePort(t))
	out, code, took := run("refused", deadURI)
	check("NameNode port closed", out, code, took, strings.TrimSuffix(deadURI, "/j"))
	out, code, took = run("unresolvable", "hdfs://no-such-namenode.invalid:8020/j")
	check("NameNode host unresolvable", out, code, took, "hdfs://no-such-namenode.invalid:8020")
	out, code, took = run("blackhole", "hdfs://192.0.2.1:8020/j")
	check("NameNode address not answering", out, code, took, "hdfs://192.0.2.1:8020")

	// A folder owned by the HDFS superuser, mode 0700, and a master whose
	// HDFS user is someone else.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := ufs.NewRegistry().Open(ctx, h.URI+"/", nil)
	if err != nil {
		t.Fatalf("HDFS as its superuser: %v", err)
	}
	defer admin.Close()
	locked := fmt.Sprintf("/locked-%d", time.Now().UnixNano())
	if err := admin.Mkdirs(ctx, locked, 0o700); err != nil {
		t.Fatalf("mkdir %s: %v", locked, err)
	}
	st, err := admin.GetStatus(ctx, locked)
	if err != nil {
		t.Fatalf("stat %s: %v", locked, err)
	}
	t.Logf("%s: owner %s mode %o", locked, st.Owner, st.Mode)
	if st.Owner == "alluxio-e2e-nobody" || st.Mode&0o077 != 0 {
		t.Fatalf("%s is owned by %s with mode %o; want the superuser's and 0700", locked, st.Owner, st.Mode)
	}
	out, code, took = run("noperm", h.URI+locked+"/journal", "HADOOP_USER_NAME=alluxio-e2e-nobody")
	check("journal folder without write permission", out, code, took, "permission")
}

// checkOneHistoryExplained is checkOneHistory, explained when it is about
// to fail: if the running masters still report different journal
// sequences after 5s of quiet, it logs what each reports and how the
// journal in storage ends (telling a leader that applied entries it never
// made durable from a standby that stopped tailing), then lets
// checkOneHistory wait its 20s and judge.
func checkOneHistoryExplained(t *testing.T, c *haCluster) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var seqs []int64
		var desc []string
		for _, m := range c.masters {
			if !m.running() {
				continue
			}
			st, err := c.status(context.Background(), m, false)
			if err != nil {
				desc = append(desc, fmt.Sprintf("%s: %v", m.name, err))
				seqs = append(seqs, -1)
				continue
			}
			seqs = append(seqs, st.GetJournalSequence())
			desc = append(desc, fmt.Sprintf("%s %s epoch=%d seq=%d", m.name, st.GetRole(), st.GetEpoch(), st.GetJournalSequence()))
		}
		same := len(seqs) > 0
		for _, s := range seqs {
			same = same && s == seqs[0] && s >= 0
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			lines := c.dumpJournal()
			var last []string
			for _, l := range lines[max(0, len(lines)-3):] {
				last = append(last, fmt.Sprintf("%d %d %s %.200s", l.Seq, l.Epoch, l.Type, l.JSON))
			}
			t.Logf("masters differ after 5s of quiet (%s); the journal in storage ends with:\n%s", strings.Join(desc, "; "), strings.Join(last, "\n"))
			break
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	c.checkOneHistory()
}

// timedMkdir makes the directory path (and its parents) within timeout and
// returns the record of the attempt.
func timedMkdir(ctx context.Context, fsys *client.FileSystem, path string, timeout time.Duration) opRecord {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := opRecord{kind: "mkdir", path: path, start: time.Now()}
	r.err = fsys.CreateDirectory(cctx, r.path, client.Recursive())
	r.end, r.outcome = time.Now(), classify(r.err)
	return r
}
