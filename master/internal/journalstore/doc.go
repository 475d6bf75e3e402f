// Package journalstore opens the storage of a master journal folder by the
// scheme of alluxio.master.journal.folder: a path or file:// URI is a local
// (or mounted) directory (journal.NewLocalStorage), hdfs://namenode:port/path
// or hdfs://nameservice/path an HDFS directory.
//
// # The journal on HDFS
//
// The HDFS storage (deploy/hdfs/JOURNAL-ON-HDFS.md) uses the HDFS backend's
// low-level client (ufs.HDFSClient): files are created exclusively, renamed
// without replacing (rename2), and identified by the NameNode's file id.
// github.com/colinmarc/hdfs/v2 has no hflush, so LogFile.Sync closes the
// HDFS writer, which waits for every DataNode's acknowledgement and
// completes the file at the NameNode (its length is then exact for readers);
// the next Write reopens the file by name with append, checks that the name
// still holds the same file id and that Recover has not marked the file, and
// continues. A log renamed to seal it therefore fails its writer's next
// Write, and one recovered in place (Recover sets the extended attribute
// FenceXAttr before it revokes the lease) fails it too.
//
// Recover revokes the writer's lease (recoverLease, polled until the
// NameNode reports the file closed); the old writer's pipeline is then
// refused by the DataNodes and its Sync fails. Truncate is HDFS truncate,
// polled until the file is closed again when a block recovery is needed.
//
// Open checks at start that the folder can be written (Mkdirs, then Create
// and Delete of a probe file), so an unreachable NameNode
// (rpcstatus.ErrUnavailable) or a folder the HDFS user may not write
// (rpcstatus.ErrPermissionDenied) is one clear error naming the URI.
package journalstore
