package torture

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// Fault kinds.
const (
	FaultKillLeader    = "kill-9-leader"
	FaultTermLeader    = "sigterm-leader"
	FaultPauseShort    = "pause-leader-below-session-timeout"
	FaultPauseLong     = "pause-leader-past-session-timeout"
	FaultKillStandby   = "kill-9-standby"
	FaultZKRestart     = "zookeeper-kill-restart-one"
	FaultZKQuorum      = "zookeeper-quorum-loss"
	FaultPartition     = "partition-leader"
	FaultWorkerRestart = "worker-restart"
)

// nemesis injects one fault at a time, chosen at random from its seeded
// generator, heals it, and checks the cluster recovers (a leader, every
// worker registered, client operations acknowledged again) within bounds.
// It runs on the test goroutine (zktest's methods may call t.Fatal).
type nemesis struct {
	c     *cluster
	hist  *History
	rng   *rand.Rand
	kinds []string
	queue []string
	logf  func(format string, args ...any)
	// quorumLoss records the windows in which ZooKeeper had no quorum.
	quorumLoss [][2]time.Time
	// pauseShortMoved counts short pauses after which another term led.
	pauseShortMoved int
}

func newNemesis(c *cluster, hist *History, seed uint64, logf func(string, ...any)) *nemesis {
	n := &nemesis{c: c, hist: hist, rng: rand.New(rand.NewPCG(seed, 0x6e656d65736973)), logf: logf}
	n.kinds = []string{FaultKillLeader, FaultTermLeader, FaultPauseShort, FaultPauseLong, FaultKillStandby,
		FaultZKRestart, FaultZKQuorum, FaultWorkerRestart}
	if c.netns {
		n.kinds = append(n.kinds, FaultPartition)
	}
	return n
}

// next returns the next fault kind: every kind once in a shuffled order,
// then again, so that even a short run covers them all.
func (n *nemesis) next() string {
	if len(n.queue) == 0 {
		n.queue = append([]string(nil), n.kinds...)
		n.rng.Shuffle(len(n.queue), func(i, j int) { n.queue[i], n.queue[j] = n.queue[j], n.queue[i] })
	}
	k := n.queue[0]
	n.queue = n.queue[1:]
	return k
}

// between returns a random duration in [lo, hi).
func (n *nemesis) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)))
}

// hold keeps a fault in place for d: the length of a fault is part of the
// schedule, not a wait for some state.
func hold(d time.Duration) { time.Sleep(d) }

// inject runs one fault of kind to its heal and returns its record; Err is
// set if the cluster did not behave or recover as required.
func (n *nemesis) inject(kind string) Fault {
	c := n.c
	f := Fault{Kind: kind, Start: time.Now()}
	fail := func(format string, args ...any) {
		if f.Err == "" {
			f.Err = fmt.Sprintf(format, args...)
		}
	}
	leader, epoch, err := c.waitLeader(nil, 60*time.Second)
	if err != nil {
		fail("before the fault: %v", err)
		return n.finish(f)
	}
	f.Start = time.Now()
	newLeader := func(old *node) {
		next, nextEpoch, err := c.waitLeader(old, 60*time.Second)
		if err != nil {
			fail("%v", err)
			return
		}
		f.Detail += fmt.Sprintf("; %s leads (epoch %d -> %d) after %v", next.name, epoch, nextEpoch, time.Since(f.Start).Round(time.Millisecond))
		if nextEpoch <= epoch {
			fail("new leader %s has epoch %d, not greater than %d", next.name, nextEpoch, epoch)
		}
	}
	switch kind {
	case FaultKillLeader, FaultTermLeader:
		sig := syscall.SIGKILL
		if kind == FaultTermLeader {
			sig = syscall.SIGTERM
		}
		f.Target = leader.name
		if err := c.signal(leader, sig); err != nil {
			fail("%v", err)
		}
		newLeader(leader)
		if err := c.start(leader); err != nil {
			fail("restart: %v", err)
		}
	case FaultPauseShort:
		f.Target = leader.name
		d := n.between(200*time.Millisecond, sessionTimeout/2)
		f.Detail = fmt.Sprintf("; paused %v", d.Round(time.Millisecond))
		_ = c.signal(leader, syscall.SIGSTOP)
		hold(d)
		_ = c.signal(leader, syscall.SIGCONT)
		// A pause below the session timeout need not cost the leadership
		// (the detail says whether it did; either is safe).
		if m, e, err := c.waitLeader(nil, 60*time.Second); err == nil && (m != leader || e != epoch) {
			f.Detail += fmt.Sprintf("; leadership moved to %s (epoch %d)", m.name, e)
			n.pauseShortMoved++
		}
	case FaultPauseLong:
		f.Target = leader.name
		_ = c.signal(leader, syscall.SIGSTOP)
		newLeader(leader)
		// Stay paused well past the session timeout.
		until := f.Start.Add(2*sessionTimeout + n.between(0, sessionTimeout))
		for time.Now().Before(until) {
			time.Sleep(50 * time.Millisecond) // poll interval
		}
		f.Detail = fmt.Sprintf("; paused %v", time.Since(f.Start).Round(time.Millisecond)) + f.Detail
		_ = c.signal(leader, syscall.SIGCONT)
		if err := c.waitRole(leader, "STANDBY", 45*time.Second); err != nil {
			fail("after SIGCONT: %v", err)
		}
	case FaultKillStandby:
		var standbys []*node
		for _, m := range c.masters {
			if m != leader && m.running() {
				standbys = append(standbys, m)
			}
		}
		if len(standbys) == 0 {
			fail("no standby running")
			break
		}
		s := standbys[n.rng.IntN(len(standbys))]
		f.Target = s.name
		if err := c.signal(s, syscall.SIGKILL); err != nil {
			fail("%v", err)
		}
		hold(n.between(0, time.Second))
		if err := c.start(s); err != nil {
			fail("restart: %v", err)
		}
		if err := c.waitRole(s, "STANDBY", 45*time.Second); err != nil {
			fail("%v", err)
		}
	case FaultZKRestart:
		i := n.rng.IntN(3)
		f.Target = fmt.Sprintf("zookeeper%d", i)
		c.zk.KillServer(i)
		c.zkDown[i] = true
		hold(n.between(500*time.Millisecond, 2*time.Second))
		c.zk.StartServer(i)
		delete(c.zkDown, i)
	case FaultZKQuorum:
		i := n.rng.IntN(3)
		j := (i + 1 + n.rng.IntN(2)) % 3
		f.Target = fmt.Sprintf("zookeeper%d+zookeeper%d", i, j)
		c.zk.StopServer(i)
		c.zkDown[i] = true
		c.zk.StopServer(j)
		c.zkDown[j] = true
		lost := time.Now()
		hold(sessionTimeout + n.between(0, 2*time.Second))
		restored := time.Now()
		n.quorumLoss = append(n.quorumLoss, [2]time.Time{lost, restored})
		f.Detail = fmt.Sprintf("; no quorum for %v", restored.Sub(lost).Round(time.Millisecond))
		c.zk.StartServer(i)
		delete(c.zkDown, i)
		c.zk.StartServer(j)
		delete(c.zkDown, j)
	case FaultPartition:
		if leader.link == nil {
			fail("%s is not in a network namespace", leader.name)
			break
		}
		f.Target = leader.name
		if err := leader.link.setCut(true); err != nil {
			fail("%v", err)
			break
		}
		newLeader(leader)
		hold(n.between(500*time.Millisecond, 2*time.Second))
		if err := leader.link.setCut(false); err != nil {
			fail("heal: %v", err)
		}
		if err := c.waitRole(leader, "STANDBY", 45*time.Second); err != nil {
			fail("after healing: %v", err)
		}
	case FaultWorkerRestart:
		w := c.workers[n.rng.IntN(len(c.workers))]
		f.Target = w.name
		sig := syscall.SIGKILL
		if n.rng.IntN(2) == 0 {
			sig = syscall.SIGTERM
		}
		f.Detail = "; " + sigName(sig)
		if err := c.signal(w, sig); err != nil {
			fail("%v", err)
		}
		hold(n.between(0, time.Second))
		if err := c.start(w); err != nil {
			fail("restart: %v", err)
		}
	default:
		fail("unknown fault kind %q", kind)
	}
	return n.finish(f)
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "kill -9"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// finish heals whatever the fault left (a failed step may leave a process
// down), checks the cluster serves again and records the fault.
func (n *nemesis) finish(f Fault) Fault {
	if err := n.heal(); err != nil && f.Err == "" {
		f.Err = "recovery: " + err.Error()
	}
	f.Healed = time.Now()
	n.hist.AddFault(f)
	status := "healed"
	if f.Err != "" {
		status = "ERROR: " + f.Err
	}
	n.logf("fault %-35s %-22s %6.1fs %s%s", f.Kind, f.Target, f.Healed.Sub(f.Start).Seconds(), status, f.Detail)
	return f
}

// heal brings every process, ZooKeeper server and link back, then polls
// until there is a leader, every worker is registered and the clients have
// operations acknowledged again.
func (n *nemesis) heal() error {
	c := n.c
	for i := range c.zkDown {
		c.zk.StartServer(i)
		delete(c.zkDown, i)
	}
	for _, m := range c.masters {
		if m.link != nil && m.link.cut {
			if err := m.link.setCut(false); err != nil {
				return err
			}
		}
	}
	for _, x := range append(append([]*node{}, c.masters...), c.workers...) {
		if x.paused {
			_ = c.signal(x, syscall.SIGCONT)
		}
		if !x.running() {
			if err := c.start(x); err != nil {
				return err
			}
		}
	}
	if _, _, err := c.waitLeader(nil, 60*time.Second); err != nil {
		return err
	}
	if err := c.waitWorkers(len(c.workers), 60*time.Second); err != nil {
		return err
	}
	base := n.hist.Acked()
	deadline := time.Now().Add(60 * time.Second)
	for n.hist.Acked() < base+3 {
		if time.Now().After(deadline) {
			return fmt.Errorf("clients had fewer than 3 operations acknowledged within 60s of healing")
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	return nil
}
