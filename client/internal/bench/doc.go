// Package bench is `alluxio bench`: benchmarks of a running cluster, each
// figure measured beside a physical baseline from the same run, so results
// hold on a noisy shared machine.
//
//   - master: create-file (create + complete of an empty file, journaled),
//     getStatus, listStatus of a 1,000-entry directory, rename and delete, by
//     N concurrent clients (one gRPC connection each) in a fixed-duration
//     closed loop, plus a max-throughput search in the manner of Alluxio's
//     StressMasterBench (double the clients until throughput stops
//     improving) and a sweep for the create-file plot.
//   - io: sequential write and read of large files by one and four clients,
//     remote (the worker's data server) and short-circuit, cold (from the UFS) and warm.
//   - memory: master RSS (and Go heap, when the master exports it) per file,
//     and the time from start to serving GetStatus after journal replay and
//     after a checkpoint.
//   - baselines: a no-op gRPC round trip on loopback (an in-process health
//     server), loopback TCP single-stream throughput, sequential read of a
//     tmpfs file and the fsync rate of the journal disk.
//
// Every figure is reported as a ratio to its baseline beside the target of
// issue 5. Report renders Markdown sections between
// "<!-- BEGIN bench:NAME -->" and "<!-- END bench:NAME -->" markers and
// UpdateDoc rewrites only those sections of docs/benchmarks.md. LocalCluster
// starts a private master and worker from the real binaries for `make bench`.
package bench
