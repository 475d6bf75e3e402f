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
// # Masters, retries and errors
//
// The FileSystem finds the leader master through a MasterInquireClient (a
// static address by default). Every master RPC is retried with exponential
// backoff (alluxio.user.rpc.retry.*) while the master is unavailable or not
// the leader, asking the inquire client for the leader again each time.
// Mutations carry an operation id that stays the same across retries, so a
// master can deduplicate them. Errors wrap the sentinels ErrNotFound,
// ErrAlreadyExists, ... so callers can test them with errors.Is.
//
// # io/fs
//
// NewIOFS adapts a FileSystem to fs.FS, fs.StatFS and fs.ReadDirFS.
package client
