// Package torture is the torture test of the fault-tolerant mode: a real
// three-server ZooKeeper ensemble, three alluxio-master processes sharing one
// journal folder (each in its own network namespace when the test runs as
// root), two alluxio-worker processes, several concurrent clients issuing
// creates, small-file writes and reads, renames, deletes and listings on
// unique names, and a nemesis that injects faults at random (seeded, bounded
// in time, each healed before the next): kill -9 and SIGTERM of the leader,
// SIGSTOP/SIGCONT of the leader below and past the ZooKeeper session
// timeout, kill -9 of a standby, kill and restart of one ZooKeeper server,
// loss of ZooKeeper quorum, a network partition of the leader and the
// restart of a worker.
//
// Every client operation is logged with its start and end time and its
// outcome as the client saw it (ok, failed, indeterminate). The checker
// (Check, in this package's non-test code, unit tested on synthetic
// histories) replays the history through a model of each client's
// directory and compares it with the final namespace and file contents; the
// test also checks the shared journal (alluxio-master --dump-journal) is one
// linear history and that every master ends at one journal sequence and
// state digest. See docs/reliability.md for how to run it and the figures of
// a long run.
//
// Tests: TestIntegrationTortureShort (about 60 s, at least 10 faults; part of
// make test) and TestIntegrationTorture (make torture DURATION=30m SEED=1;
// skipped unless TORTURE_DURATION is set). The regress*_test.go files hold
// one regression test per bug the torture runs found, each reproducing it
// with the fewest processes that show it (skipped, naming the bug, while it
// is open; TORTURE_KNOWN_BUGS=1 runs them). TestRecheckHistory re-runs the
// checker on a saved history.jsonl (TORTURE_HISTORY, and TORTURE_FINAL for
// the run's final.json).
package torture
