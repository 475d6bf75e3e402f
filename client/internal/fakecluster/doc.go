// Package fakecluster is an in-memory master and workers serving the real
// gRPC services (FileSystemMasterClientService, BlockMasterClientService,
// MetaMasterClientService and BlockWorker) on loopback ports, for the
// client's unit tests, examples and CLI tests. It keeps the namespace and a
// simulated UFS in memory and block files in a temporary directory (so
// short-circuit reads work). It is small but strict about the semantics the
// client relies on: parents, existence, non-empty directories, block
// commits and locations, persistence, operation-id deduplication.
//
// Tests can inject failures (FailNext, DropResponse), stop workers and read
// per-worker counters to check which data path a read or write took.
package fakecluster
