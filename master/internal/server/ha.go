package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/zkleader"
	"github.com/alluxio-go/alluxio/master/internal/fsmaster"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/leadership"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// High availability (alluxio.zookeeper.enabled=true).
//
// A master starts as a STANDBY: it replays the shared journal, then tails it
// (journal.CatchUp every TailInterval when the logs changed) while it
// campaigns in the ZooKeeper election. When it wins a term it stops
// tailing, catches up to the very end, and starts a journal term with epoch
// max(term epoch, last journal epoch + 1): StartWriting seals the previous
// term's open log, which fences the old leader in storage. Only then does it
// answer as LEADER.
//
// The leader acknowledges a write only if the flush succeeded and the term
// is still valid afterwards (termWriter). When the term is lost (ZooKeeper
// disconnected, session expired, resigned) or the journal fails, the master
// stops acknowledging at once, closes its writer, forgets its workers,
// discards its in-memory state and replays the journal (memory may hold
// entries that never became durable), and becomes a standby again, with
// no process restart.

// DefaultTailInterval is how often a standby looks for new journal entries.
const DefaultTailInterval = 20 * time.Millisecond

// statusTimeout bounds the GetStatusOfSelf call to each other master in
// GetMasterInfo.
const statusTimeout = time.Second

type haMaster struct {
	s       *Server
	log     *slog.Logger
	id      string // participant id, host:port
	elector *zkleader.Elector
	inq     *zkleader.Inquirer
	lead    *leadership.Elected
	tail    time.Duration
	broken  chan error // journal failures of the current term

	mu      sync.Mutex
	term    *zkleader.Term // while leading
	leaving bool
	// quitting is set the moment Shutdown starts: from then on the term's
	// writer acknowledges nothing (its flushes answer NOT_LEADER), before
	// the loop resigns and drains.
	quitting atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}
}

// zkConfig is the zkleader configuration from the alluxio.zookeeper.* keys.
func zkConfig(c *conf.Config, log *slog.Logger) zkleader.Config {
	return zkleader.Config{
		Servers:           c.GetList("alluxio.zookeeper.address"),
		SessionTimeout:    c.GetDuration("alluxio.zookeeper.session.timeout"),
		ConnectionTimeout: c.GetDuration("alluxio.zookeeper.connection.timeout"),
		ElectionPath:      c.Get("alluxio.zookeeper.election.path"),
		LeaderPath:        c.Get("alluxio.zookeeper.leader.path"),
		InquiryRetry:      c.GetInt("alluxio.zookeeper.leader.inquiry.retry"),
		Logger:            log,
	}
}

// startHA listens, replays the journal, connects to ZooKeeper and starts
// the standby/leader loop.
func (s *Server) startHA(ctx context.Context, fcfg fsmaster.Config) (*Server, error) {
	h := &haMaster{s: s, lead: leadership.NewElected(), broken: make(chan error, 1), done: make(chan struct{})}
	h.tail = s.opts.TailInterval
	if h.tail <= 0 {
		h.tail = DefaultTailInterval
	}
	fcfg.OnJournalFailure = func(err error) {
		select {
		case h.broken <- err:
		default:
		}
	}
	s.fs = fsmaster.New(fcfg)
	s.lead = h.lead
	s.ha = h
	// Listen first: the participant id carries the port actually bound.
	if err := s.listen(); err != nil {
		return nil, err
	}
	h.id = s.participantID()
	h.log = s.log.With("participant", h.id)
	fail := func(err error) (*Server, error) {
		s.rpcLis.Close()
		s.webLis.Close()
		if h.elector != nil {
			h.elector.Close()
		}
		if h.inq != nil {
			h.inq.Close()
		}
		return nil, err
	}
	if _, err := s.openJournal(h.id); err != nil {
		return fail(err)
	}
	if err := s.replayAll(ctx); err != nil {
		return fail(err)
	}
	zcfg := zkConfig(s.conf, s.log.With("component", "zkleader"))
	var err error
	if h.elector, err = zkleader.NewElector(ctx, zcfg, h.id); err != nil {
		return fail(fmt.Errorf("join the leader election (alluxio.zookeeper.address=%s): %w", s.conf.Get("alluxio.zookeeper.address"), err))
	}
	icfg := zcfg
	icfg.InquiryRetry = -1 // GetMasterInfo reports "no leader" rather than wait
	h.inq = zkleader.NewInquirer(icfg)
	lctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go h.run(lctx)
	s.serve()
	s.log.Info("master serving", "rpc", s.rpcLis.Addr().String(), "web", s.webLis.Addr().String(), "role", s.lead.Role(),
		"participant", h.id, "zookeeper", s.conf.Get("alluxio.zookeeper.address"))
	return s, nil
}

// run alternates standby and leader phases until ctx ends.
func (h *haMaster) run(ctx context.Context) {
	defer close(h.done)
	backoff := 100 * time.Millisecond
	failed := 0 // terms in a row that could not start
	for ctx.Err() == nil {
		term, err := h.standby(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("campaign for leadership failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if h.leadTerm(ctx, term) {
			failed = 0
			continue
		}
		// It won but could not start a term (e.g. the journal's storage is
		// down): give the other masters a chance before trying again, the
		// longer the more terms failed in a row, so that an outage of the
		// journal's storage does not spin the election.
		failed++
		select {
		case <-time.After(failedTermPause(failed)):
		case <-ctx.Done():
			return
		}
	}
}

// failedTermPause is how long a master that won the election but could not
// start a journal term, for the n-th time in a row, waits before
// campaigning again: 1 s, 2 s, 4 s, then 5 s.
func failedTermPause(n int) time.Duration {
	if n > 3 {
		return 5 * time.Second
	}
	return time.Second << max(n-1, 0)
}

// standby tails the journal while campaigning; it returns the won term.
func (h *haMaster) standby(ctx context.Context) (*zkleader.Term, error) {
	tctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.tailLoop(tctx) }()
	term, err := h.elector.Campaign(ctx)
	stop()
	wg.Wait()
	return term, err
}

// tailLoop applies new journal entries every h.tail while the logs change.
func (h *haMaster) tailLoop(ctx context.Context) {
	t := time.NewTicker(h.tail)
	defer t.Stop()
	var seen, lastErr string
	var lastLog time.Time
	for {
		if fp := h.fingerprint(ctx); fp == "" || fp != seen {
			if _, err := h.catchUp(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if msg := err.Error(); msg != lastErr || time.Since(lastLog) > 30*time.Second {
					h.log.Warn("standby cannot follow the journal; retrying", "err", err)
					lastErr, lastLog = msg, time.Now()
				}
			} else {
				seen, lastErr = fp, ""
				h.maybeCheckpoint(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fingerprint names the files in logs/ and checkpoints/ with their sizes
// and ids (through the journal's storage, local or HDFS): while it is
// unchanged there is nothing new to apply. "" if it cannot be read.
func (h *haMaster) fingerprint(ctx context.Context) string {
	fp, err := h.s.journal.Fingerprint(ctx)
	if err != nil {
		return ""
	}
	return fp
}

// maybeCheckpoint writes a checkpoint when the applied journal is
// alluxio.master.journal.checkpoint.period.entries past the newest one.
// Standbys checkpoint, so that the leader need not (Alluxio's UFS journal
// does the same): the namespace's read lock, held while the checkpoint is
// written, then pauses only this standby's tailing, not the leader's writes.
// Winning the election cancels ctx, which abandons a checkpoint in progress.
func (h *haMaster) maybeCheckpoint(ctx context.Context) {
	seq := h.s.fs.LastSeq()
	// The journal knows its own checkpoints; another master's are in the
	// folder.
	if !h.s.journal.NeedsCheckpoint(seq) || seq-newestCheckpoint(ctx, h.s.journal) < h.period() {
		return
	}
	if err := h.s.fs.Checkpoint(ctx, h.s.journal); err != nil && ctx.Err() == nil {
		h.log.Warn("standby checkpoint failed", "err", err)
	}
}

func (h *haMaster) period() int64 {
	return h.s.conf.GetInt64("alluxio.master.journal.checkpoint.period.entries")
}

// newestCheckpoint returns the last seq the newest checkpoint in the journal
// folder covers (checkpoints/0x0-0x<end>, docs/journal-format.md), 0 if none
// or if the folder cannot be read.
func newestCheckpoint(ctx context.Context, j *journal.Journal) int64 {
	newest, err := j.NewestCheckpoint(ctx)
	if err != nil {
		return 0
	}
	return newest
}

// leaderCheckpoints is the leader's checkpoint policy in HA mode: a
// fallback for when no standby checkpoints (none running, or all lagging).
// It writes one only at twice the period past the newest checkpoint in the
// folder, whoever wrote it. The folder is read only when the last reading
// says a checkpoint is due.
type leaderCheckpoints struct {
	*journal.Journal
	period int64

	mu     sync.Mutex
	newest int64 // from the last reading of the folder
}

func (l *leaderCheckpoints) NeedsCheckpoint(lastSeq int64) bool {
	if !l.Journal.NeedsCheckpoint(lastSeq - l.period) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lastSeq-l.newest >= 2*l.period {
		l.newest = newestCheckpoint(context.Background(), l.Journal)
	}
	return lastSeq-l.newest >= 2*l.period
}

// catchUp applies the journal's new entries, replaying from scratch when
// the journal says so.
func (h *haMaster) catchUp(ctx context.Context) (journal.ReplayResult, error) {
	res, err := h.s.journal.CatchUp(ctx, h.s.fs)
	if errors.Is(err, journal.ErrReplayNeeded) {
		h.log.Info("replaying the journal from the start", "reason", err)
		res, err = h.s.journal.Replay(ctx, h.s.fs)
	}
	if err == nil {
		h.s.fs.Replayed(res.LastSeq, res.LastEpoch)
	}
	return res, err
}

// leadTerm serves one term, from catching up to stepping down. It reports
// whether the term started serving.
func (h *haMaster) leadTerm(ctx context.Context, term *zkleader.Term) bool {
	t0 := time.Now()
	log := h.log.With("zk_epoch", term.Epoch())
	if !h.setTerm(term) {
		h.resign(term)
		return true
	}
	defer h.setTerm(nil)
	w, epoch, err := h.startWriting(ctx, term)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("cannot start a journal term; resigning", "err", err)
		}
		h.resign(term)
		h.stepDown(ctx, nil)
		return false
	}
	select { // a failure of an earlier term is no news
	case <-h.broken:
	default:
	}
	if err := h.s.applyNewTerm(epoch, h.id); err != nil {
		log.Error("cannot apply the new term's entry; resigning", "err", err)
		h.resign(term)
		h.stepDown(ctx, w)
		return false
	}
	valid := func() bool { return !h.quitting.Load() && term.Valid() }
	tw := &termWriter{Writer: w, epoch: epoch, valid: valid, hook: h.s.opts.FlushHook}
	h.s.bm.BeginTerm()
	h.s.fs.StartLeading(tw, &leaderCheckpoints{Journal: h.s.journal, period: h.period()})
	// UFS operations the previous term journaled but may not have performed
	// (it crashed or lost its term in between) are performed before serving.
	h.s.fs.ResumeUfsOps(ctx)
	h.lead.Lead(epoch, valid)
	log.Info("leading", "epoch", epoch, "journal_seq", h.s.fs.LastSeq(), "took", time.Since(t0))

	bgctx, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); h.s.fs.RunUfsOps(bgctx) }()
	go func() { defer wg.Done(); h.s.bm.RunLostDetector(bgctx) }()
	go func() { defer wg.Done(); h.s.fs.RunTTLChecker(bgctx, h.s.opts.TTLCheckInterval) }()
	select {
	case <-term.Lost():
		if errors.Is(term.Cause(), zkleader.ErrResigned) {
			log.Info("resigned leadership", "epoch", epoch)
		} else {
			log.Warn("leadership lost; stepping down to standby", "epoch", epoch, "cause", term.Cause())
		}
	case err := <-h.broken:
		log.Error("journal failed; resigning and stepping down to standby", "epoch", epoch, "err", err)
	case <-ctx.Done():
		log.Info("shutting down: resigning leadership", "epoch", epoch)
	}
	h.lead.Stand()
	select {
	case <-term.Lost(): // its nodes are deleted as soon as ZooKeeper allows
	default:
		h.resign(term)
	}
	stopBG()
	wg.Wait()
	h.stepDown(ctx, tw)
	return true
}

// setTerm records the current term; false if the master is leaving.
func (h *haMaster) setTerm(t *zkleader.Term) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t != nil && h.leaving {
		return false
	}
	h.term = t
	return true
}

// startWriting catches up to the end of the journal and starts a term.
func (h *haMaster) startWriting(ctx context.Context, term *zkleader.Term) (journal.Writer, int64, error) {
	j := h.s.journal
	var lastErr error
	recovered := false
	for attempt := 0; attempt < 20; attempt++ {
		if !term.Valid() {
			return nil, 0, fmt.Errorf("server: term of epoch %d ended before the journal term started: %w", term.Epoch(), rpcstatus.ErrNotLeader)
		}
		res, err := h.catchUp(ctx)
		if err != nil && !recovered && ctx.Err() == nil {
			// An open log may be unreadable until its lease is recovered
			// (HDFS: a DataNode restarted under the deposed writer). This
			// master leads, so it may fence that writer now, in place, and
			// read again.
			recovered = true
			n, rerr := j.RecoverOpenLogs(ctx)
			h.log.Warn("cannot catch up with the journal; recovered the open logs in place and trying again",
				"err", err, "recovered", n, "recover_err", rerr)
			if rerr == nil {
				res, err = h.catchUp(ctx)
			}
		}
		if err != nil {
			return nil, 0, fmt.Errorf("catch up with the journal: %w", err)
		}
		last := max(res.LastEpoch, h.s.fs.LastEpoch())
		epoch := term.Epoch()
		if epoch <= last {
			h.log.Warn("the ZooKeeper epoch is behind the journal's; using the next journal epoch",
				"zk_epoch", epoch, "journal_epoch", last, "epoch", last+1)
			epoch = last + 1
		}
		w, err := j.StartWriting(ctx, epoch)
		switch {
		case err == nil:
			return w, epoch, nil
		case errors.Is(err, journal.ErrReplayNeeded), errors.Is(err, journal.ErrStaleEpoch):
			// The deposed leader appended since the catch-up: catch up again.
			h.log.Info("journal moved while starting the term; catching up again", "err", err)
			lastErr = err
			continue
		default:
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("server: journal kept moving: %w", lastErr)
}

// resign ends term t, deleting its nodes, without waiting long.
func (h *haMaster) resign(t *zkleader.Term) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := t.Resign(ctx); err != nil {
		h.log.Debug("resign: leader nodes go with the session", "err", err)
	}
}

// stepDown ends a term on this master: it closes the writer, forgets the
// workers and rebuilds the state from the journal. w is the term's writer
// (nil if none started).
func (h *haMaster) stepDown(ctx context.Context, w journal.Writer) {
	h.lead.Stand()
	if cur := h.s.fs.StopLeading(); cur != nil {
		w = cur
	}
	if w != nil {
		if err := w.Close(); err != nil {
			h.log.Warn("closing the journal writer of the ended term", "err", err)
		}
	}
	h.s.bm.EndTerm()
	if ctx.Err() != nil {
		return // shutting down: no one reads the state any more
	}
	t0 := time.Now()
	res, err := h.s.journal.Replay(ctx, h.s.fs)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) && !h.quitting.Load() {
			h.log.Error("replay after stepping down failed; the standby loop retries", "err", err)
		}
		return
	}
	h.s.fs.Replayed(res.LastSeq, res.LastEpoch)
	h.log.Info("standby again: state rebuilt from the journal", "last_seq", res.LastSeq, "took", time.Since(t0))
}

// leave is the first step of Shutdown: a leader stops acknowledging and
// resigns at once (the loop, seeing its context end, deletes the term's
// nodes before it closes the writer); a standby leaves the election.
func (h *haMaster) leave(ctx context.Context) {
	h.quitting.Store(true) // stop acknowledging first
	h.lead.Stand()
	h.mu.Lock()
	h.leaving = true
	h.mu.Unlock()
	h.cancel()
	select {
	case <-h.done:
	case <-ctx.Done():
		h.log.Warn("shutdown: the election loop did not stop in time", "err", ctx.Err())
	}
	h.elector.Close()
}

// stop releases the ZooKeeper connections (after leave).
func (h *haMaster) stop() {
	h.elector.Close()
	h.inq.Close()
}

// masters lists the leader (from ZooKeeper) and every election participant
// with its status; self is this master's.
func (h *haMaster) masters(ctx context.Context, self *alluxiopb.MasterStatus) (*alluxiopb.MasterAddress, []*alluxiopb.MasterStatus) {
	zctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	var leader *alluxiopb.MasterAddress
	if info, err := h.inq.LeaderInfo(zctx); err == nil {
		leader = addressOf(info.Address)
	}
	ids, err := h.inq.Participants(zctx)
	if err != nil {
		h.log.Debug("cannot list election participants", "err", err)
	}
	if leader != nil {
		ids = append(ids, net.JoinHostPort(leader.GetHost(), strconv.Itoa(int(leader.GetRpcPort()))))
	}
	ids = append(ids, h.id)
	seen := map[string]bool{}
	var uniq []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	out := make([]*alluxiopb.MasterStatus, len(uniq))
	var wg sync.WaitGroup
	for i, id := range uniq {
		if id == h.id {
			out[i] = self
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = remoteStatus(ctx, id)
		}()
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].GetParticipantId() < out[j].GetParticipantId() })
	return leader, out
}

// remoteStatus asks the master at id (host:port) for its status.
func remoteStatus(ctx context.Context, id string) *alluxiopb.MasterStatus {
	unavailable := &alluxiopb.MasterStatus{Address: addressOf(id), Role: "UNAVAILABLE", ParticipantId: id}
	conn, err := grpc.NewClient(id, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return unavailable
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := alluxiopb.NewMetaMasterClientServiceClient(conn).GetStatusOfSelf(cctx, &alluxiopb.GetStatusOfSelfRequest{})
	if err != nil {
		return unavailable
	}
	if st.GetParticipantId() == "" {
		st.ParticipantId = id
	}
	return st
}

func addressOf(hostport string) *alluxiopb.MasterAddress {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return &alluxiopb.MasterAddress{Host: hostport}
	}
	p, _ := strconv.Atoi(port)
	return &alluxiopb.MasterAddress{Host: host, RpcPort: int32(p)}
}

// termWriter is the leader's journal writer for one term: a flush counts
// as an acknowledgement only if the term is still valid once the entries
// are durable.
type termWriter struct {
	journal.Writer
	epoch int64
	valid func() bool
	hook  func(stage string, seq int64)
}

// Flush implements journal.Writer.
func (w *termWriter) Flush(ctx context.Context, seq int64) error {
	if w.hook != nil {
		w.hook("before", seq)
	}
	if err := w.Writer.Flush(ctx, seq); err != nil {
		return err
	}
	if w.hook != nil {
		w.hook("after", seq)
	}
	if !w.valid() {
		return fmt.Errorf("server: leadership of epoch %d ended before seq %d could be acknowledged: %w", w.epoch, seq, rpcstatus.ErrNotLeader)
	}
	return nil
}

// checkSharedJournal refuses, in ZooKeeper mode, a journal folder (st, local
// or HDFS) that is not formatted (masters never format a shared journal
// themselves) or that holds something else.
func checkSharedJournal(ctx context.Context, st journal.Storage) error {
	folder := st.URI()
	ok, err := journal.IsFormattedStorage(ctx, st)
	if err != nil {
		return fmt.Errorf("check journal folder %s (alluxio.master.journal.folder): %w", folder, err)
	}
	if ok {
		return nil
	}
	ents, err := st.List(ctx, "")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal folder %s (alluxio.master.journal.folder) cannot be read: %w", folder, err)
	}
	if len(ents) == 0 {
		return fmt.Errorf("journal folder %s (alluxio.master.journal.folder) is not formatted; run `alluxio format` once before starting the masters (in ZooKeeper mode a master never formats the shared journal itself)", folder)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return fmt.Errorf("journal folder %s (alluxio.master.journal.folder) is not an Alluxio journal (it holds %s); refusing to use it: point the key at the shared journal, or run `alluxio format` to wipe and format it", folder, strings.Join(names, ", "))
}

// warnLoopback warns when the advertised master address is one only this
// host can reach: other masters, workers and clients find the leader by it.
func warnLoopback(ctx context.Context, log *slog.Logger, c *conf.Config) {
	host := c.Get("alluxio.master.hostname")
	if !isLoopback(ctx, host) {
		return
	}
	log.Warn("alluxio.master.hostname is a loopback address, but in ZooKeeper mode workers, clients and other masters reach the leader at its advertised address; set alluxio.master.hostname (ALLUXIO_MASTER_HOSTNAME) to a name or address other hosts can reach",
		"alluxio.master.hostname", host, "source", c.Source("alluxio.master.hostname").String())
}

func isLoopback(ctx context.Context, host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "localhost.localdomain" {
		return true
	}
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
		return ip.IsLoopback()
	}
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(rctx, h)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}
