// Package journalstore opens the storage of a master journal folder by the
// scheme of alluxio.master.journal.folder (ParseFolder): an absolute path,
// file:/path or file:///path is a local (or mounted) directory
// (journal.NewLocalStorage), hdfs://namenode:port/path or
// hdfs://nameservice/path an HDFS directory. A relative path, a file:// URI
// naming another host and any other scheme are refused with one line naming
// the key and the value. The master, `alluxio-master --format` (which
// `alluxio format` runs) and `--dump-journal` all open the folder here.
//
// # The journal on HDFS
//
// The HDFS storage (deploy/hdfs/JOURNAL-ON-HDFS.md) uses the HDFS backend's
// low-level client (ufs.HDFSClient): files are created exclusively, renamed
// without replacing (rename2), and identified by the NameNode's file id.
// A log stays open on HDFS (one pipeline, one lease) from Create to Close:
// LogFile.Sync is an hflush through ufs.HDFSLogWriter (the buffered bytes
// sent, every DataNode's acknowledgement of every packet awaited, then the
// NameNode's fsync with the last block's length, so Stat and a new Open see
// every synced byte). There is no close/append per Sync: appending to the
// last block while a standby reads it lost the only replica (HDFS-17850).
//
// Recover revokes the writer's lease (recoverLease, polled until the
// NameNode reports the file closed); the block recovery cuts the old
// writer's pipeline and the NameNode no longer knows its lease, so its next
// Sync fails, as journal.ErrFenced when the log was renamed or carries the
// mark (FenceXAttr) Recover sets first (the HDFS failure under it wraps
// ufs.ErrLeaseLost; a DataNode pipeline failure or an unreachable NameNode
// is told apart, wrapping rpcstatus.ErrUnavailable). Truncate is HDFS truncate,
// polled until the file is closed again when a block recovery is needed.
//
// Open checks at start that the folder can be written (Mkdirs, then Create
// and Delete of a probe file), so an unreachable NameNode
// (rpcstatus.ErrUnavailable) or a folder the HDFS user may not write
// (rpcstatus.ErrPermissionDenied) is one clear error naming the URI.
package journalstore
