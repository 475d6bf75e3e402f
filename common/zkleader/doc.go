// Package zkleader elects the leader master through ZooKeeper and lets
// workers, clients and the CLI find it, following Alluxio's znode layout
// (alluxio.zookeeper.* keys) with the safety Alluxio lacks: every leadership
// term has an epoch number, and a disconnected leader loses its term at once.
//
// # Znode layout
//
// With the defaults ElectionPath=/alluxio/election and
// LeaderPath=/alluxio/leader:
//
//	/alluxio/election                          persistent, parent of the candidates
//	/alluxio/election/_c_<guid>-n_0000000042   EPHEMERAL_SEQUENTIAL, one per campaigning
//	                                           master; data = its participant id (host:port)
//	/alluxio/election-epoch                    persistent epoch counter; data = decimal int64
//	/alluxio/leader                            persistent, parent of the published leader
//	/alluxio/leader/<host>:<port>              EPHEMERAL, created by the leader when it
//	                                           wins; data = its epoch in decimal
//
// The candidate nodes follow the ZooKeeper leader-election recipe: the node
// with the lowest sequence number leads; every other candidate watches only
// its predecessor, so a change wakes one process, not all. The "_c_<guid>-"
// prefix (ZooKeeper's protected-create convention) lets a candidate find its
// own node again when the answer to its create was lost with the connection.
//
// # Epochs
//
// A candidate that finds itself lowest obtains its epoch from the persistent
// counter node <ElectionPath>-epoch. It reads the counter (value v at znode
// version n) and, in one ZooKeeper multi-operation, checks that its own
// candidate node still exists, writes v+1 conditional on version n, and
// creates the ephemeral <LeaderPath>/<host:port> node holding v+1. Either all
// three happen or none, so an epoch is never published by a process that has
// lost its place, and the conditional write makes epochs strictly increasing
// and never reused: the counter is persistent, so this holds across
// ZooKeeper session expiries, restarts of every master, and restarts of the
// ZooKeeper ensemble. (A failed attempt may leave a gap; epochs are
// increasing, not dense.) Deleting the counter node would restart epochs at
// 1, so it must only happen together with formatting the journal.
//
// # Losing a term
//
// A Term is lost, and its Lost channel closed, as soon as any of these
// happens: the ZooKeeper connection is reported disconnected (not only when
// the session expires: ZooKeeper may already be electing another leader, so
// a disconnected leader must stop acknowledging writes); the session
// expires; the candidate or leader node is deleted; the term is resigned;
// the Elector is closed. Valid additionally fails once nothing has been
// heard from ZooKeeper for two thirds of the session timeout (the client
// pings every third), so a process resuming from a long pause does not
// believe in a term its session may already have lost. After a loss the
// Elector deletes the term's nodes as soon as its session allows, and the
// caller may Campaign again (the client library opens a new session by
// itself after an expiry).
//
// Resign deletes the leader and candidate nodes immediately, so a waiting
// candidate takes over without waiting for a session timeout; a crashed
// leader's nodes disappear only when its session expires.
//
// # Inquiry
//
// Inquirer lists the children of LeaderPath. When several are present (stale
// nodes from a crashed leader whose session has not expired yet), it picks
// the one with the highest epoch in its data, then the largest ctime
// (Alluxio's rule), then the largest czxid. When there are none it sets a
// child watch on LeaderPath and looks again as soon as the path changes, so
// a lookup during a clean hand-over returns the moment the new leader
// publishes its node; it gives up after InquiryRetry intervals of
// RetryInterval (1s) without a leader, failing with an error wrapping
// rpcstatus.ErrUnavailable. Watch follows leader changes with child watches;
// WatchInfo also reports when the last leader node goes away.
package zkleader
