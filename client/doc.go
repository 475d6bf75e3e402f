// Package client is the Go client of the Alluxio-compatible caching file
// system: it talks to the leader master for metadata and to workers for data.
//
// A FileSystem is created once and shared; it is safe for concurrent use:
//
//	fsys, err := client.New(ctx, client.WithMasterAddress("master:19998"))
//	if err != nil { ... }
//	defer fsys.Close()
//
//	w, err := fsys.CreateFile(ctx, "/data/hello.txt", client.CacheThrough)
//	io.WriteString(w, "hello")
//	err = w.Close() // completes the file on the master
//
//	r, err := fsys.OpenFile(ctx, "/data/hello.txt")
//	io.Copy(os.Stdout, r)
//	r.Close()
//
// # Writes
//
// Files are cut into blocks (alluxio.user.block.size.bytes.default, or the
// BlockSize option). The WriteType decides where bytes go: MustCache writes
// blocks to one worker only; CacheThrough writes blocks to the worker and the
// whole file to the under file system (UFS) through the same worker;
// Through writes only to the UFS; AsyncThrough caches and lets the master
// persist the file later. The default comes from
// alluxio.user.file.writetype.default. A local worker (same host) is preferred.
//
// # Reads
//
// A FileReader is an io.ReadSeekCloser and an io.ReaderAt. Each block is read
// from a local worker's block file directly when short-circuit reads are
// enabled (alluxio.user.short.circuit.enabled), else streamed from a worker
// holding it, else (for persisted files) read from the UFS through a worker,
// which caches it unless the ReadType is NoCache.
//
// # Masters, failover, retries and errors
//
// The FileSystem finds the leader master through a MasterInquireClient. With
// alluxio.zookeeper.enabled=true (servers in alluxio.zookeeper.address), or a
// path URI alluxio://zk@zk1:2181,zk2:2181/path, it is a
// ZooKeeperInquireClient: it reads the leader's ephemeral node under
// alluxio.zookeeper.leader.path, caches it, and follows changes with a
// ZooKeeper watch; no master host name is needed. Otherwise the leader is
// alluxio.master.hostname:alluxio.master.rpc.port (or WithMasterAddress).
//
// Every master RPC is retried with exponential backoff (base
// alluxio.user.rpc.retry.base.sleep, cap alluxio.user.rpc.retry.max.sleep,
// total alluxio.user.rpc.retry.max.duration: 50ms, 3s, 2min) while the
// master is unavailable or answers NOT_LEADER. Before each retry the failed
// address is invalidated (PrimaryInvalidator) and the leader is looked up
// again, so the retry goes to whichever master leads now. When the ZooKeeper
// watch publishes a new leader while an RPC to the old one is in flight (a
// paused or partitioned leader may never answer), the RPC is cut short and
// retried at once. A ZooKeeper ensemble that cannot be reached at all fails
// the call at once with ErrZooKeeperUnreachable.
//
// Mutations (create, mkdir, delete, rename, set attribute, mount, unmount,
// complete) carry an operation id that stays the same across every attempt,
// reconnection and leader change, and the master deduplicates it: a retry
// of an operation whose first attempt applied reports that attempt's
// success, not AlreadyExists or NotFound. When the outcome of a mutation
// stays unknown (a request reached a master but no verdict came back before
// the retries ran out or the caller's context ended), the error wraps
// ErrIndeterminate (as well as the last cause): the operation may or may not
// have been applied. Any other error means it was not; in particular a
// request that never got a connection (a dead leader) was not sent. Errors wrap the sentinels ErrNotFound,
// ErrAlreadyExists, ... so callers can test them with errors.Is.
//
// A file write talks to the master between blocks (GetNewBlockId) and at
// Close (CompleteFile); those calls retry across a master failover like any
// other. The block and UFS streams go to one worker: if that worker fails
// mid-write, Write or Close returns the error and the incomplete file is
// deleted; write the whole file again (under a new name if an earlier
// attempt's cleanup could not reach the master).
//
// # Tracing
//
// WithTracerProvider traces every FileSystem call as a span
// "alluxio.client.<Method>" (attribute alluxio.path), each master RPC
// attempt as a child span "alluxio.rpc.attempt" (alluxio.master.address,
// alluxio.rpc.attempt, rpc.grpc.status_code) with an event "leader
// re-resolved" (alluxio.leader.old, alluxio.leader.new) when the leader is
// looked up again, and the gRPC calls with otelgrpc client spans whose W3C
// trace context continues in the masters' and workers' server spans. No
// global provider or propagator is used.
//
// # io/fs
//
// NewIOFS adapts a FileSystem to fs.FS, fs.StatFS and fs.ReadDirFS.
package client
