// Package journal is the master's write-ahead journal in the layout of
// Alluxio's UFS journal: a folder of log files of length-prefixed,
// CRC-checked protobuf records, plus checkpoints. The leader appends entries
// and acknowledges an operation only after Flush returns for its sequence
// number (group commit: one fsync covers every entry appended before it). A
// master rebuilds its state with Replay. docs/journal-format.md describes the
// format for operators and for authors of other readers.
//
// # Layout
//
//	<folder>/_format_<unix millis>             marker written by Format
//	<folder>/FileSystemMaster/v1/logs/
//	    0x<start>-0x<end>                      completed log: seqs [start, end)
//	    0x<start>-0x7fffffffffffffff           the open log (at most one)
//	<folder>/FileSystemMaster/v1/checkpoints/
//	    0x0-0x<end>                            state after every seq < end
//	<folder>/FileSystemMaster/v1/.tmp/         checkpoints being written
//
// Numbers are lower-case hexadecimal with a 0x prefix; end is exclusive.
//
// # Records
//
// A log is a sequence of records, nothing else (no header):
//
//	uvarint(len(payload)) | payload | crc32c(payload), 4 bytes little endian
//
// The CRC is CRC-32C (Castagnoli) of the payload only. The payload is a
// marshalled journalpb.JournalEntry whose sequence_number and epoch the
// writer sets. A length of zero or above 64 MiB is invalid.
//
// # Sequence numbers and epochs
//
// Sequence numbers start at 1 and are contiguous across files; a gap or a
// duplicate is an error. Every leadership term has an epoch greater than all
// earlier ones. After a NewTermEntry of epoch E, readers skip (and log as
// fenced) every record whose epoch is below E, so a deposed leader's late
// writes are never applied. Records in a completed log past the seq its
// name ends at, and any bytes after that record, are a deposed writer's tail:
// readers stop at seq end-1 and ignore them.
//
// # Fencing
//
// StartWriting seals the previous term's open log in three steps: (1) fence:
// rename it to <name>.sealing (never replacing; durable), then
// Storage.Recover it, which takes it away from its writer (HDFS: lease
// recovery) and fixes its durable length; (2) read it again, up to that
// length, to its last valid record; (3) truncate after that record if
// anything follows it, and rename it to 0x<start>-0x<lastSeq+1>; then create
// its own open log and write its NewTermEntry. Renaming before recovering
// matters: recovering first would leave a window in which the old writer
// could reopen the closed, unowned file by its name.
//
// The writer's fence check runs after every fsync (in Flush and in
// rotation), before anything is marked durable: the open log's name must
// still name the writer's file (Storage.Stat(name).ID equals the
// LogFile.ID of the file it created: the inode, or HDFS's file id). If not, the writer breaks with an error wrapping
// ErrFenced and no waiter of that fsync, or any later one, is told its
// entries are durable. The race between a deposed writer W and a sealer S:
//
//   - W's check passed: its stat preceded S's rename (1), so W's bytes,
//     written and fsynced before the check, precede S's read (2) and are in
//     the sealed log. Acknowledged entries are history.
//   - W's check failed: W reports ErrFenced. Entries of that fsync are
//     indeterminate: those written before (1) are in the history, those
//     written after (2) lie past the sealed end (or are truncated) and are
//     ignored by every reader. The master answers "not leader"; the client
//     retries with the same operation id, which the new leader deduplicates.
//
// Renaming before reading is what closes the window in which the old
// writer's check could pass for an entry written after the sealer read
// the log (renaming last, after the read, would leave it open). The same
// check protects readers: a reader of an open log applies records only
// after checking, once they are read, that the log's name still names the
// file it read; and no reader but the sealer reads a .sealing log (a
// reader stops there: the journal ends before it until the seal is done).
// A sealer that crashes after (1) leaves the .sealing log for the next
// StartWriting to finish.
//
// On a network file system the check is as good as the client's view of the
// directory: mount the journal folder with attribute and lookup caching off
// (NFS: lookupcache=none,actimeo=0 or noac) so that a stat sees a rename at
// once.
//
// # Standbys
//
// CatchUp keeps its place (the log's file ID and an offset) across calls and
// reads only what was appended since: it Stats the log and, if it grew,
// opens it again at the offset (an HDFS reader sees only the length known
// when it opened). It lists the directory only to move to another log. Records of the open log are applied only after the fence
// check above, so a standby never applies a record that the seal cuts off.
//
// # Checkpoints
//
//	"ALXJCKP1" | records | footer
//	footer = "ALXJCEND" | count u64 | end i64 | maxEpoch i64 | fenceEpoch i64 | crc32c(previous 40 bytes) u32
//
// (all little endian, 44 bytes). Records are framed as in logs and carry the
// Snapshotter's entries with sequence_number and epoch 0. A checkpoint is
// written in .tmp, fsynced, renamed into checkpoints/ and the directory
// fsynced; afterwards older checkpoints and completed logs with end <= the
// checkpoint's end are deleted. maxEpoch and fenceEpoch carry the epoch
// knowledge of the deleted logs.
//
// # Storage
//
// Every file operation goes through Storage (Config.Storage; nil means
// NewLocalStorage(Config.Folder)). A backend must: create exclusively
// (fs.ErrExist); make written bytes durable and visible to later Open and
// Stat calls on LogFile.Sync; identify files by an ID that survives a
// rename; rename without replacing, durably; Recover a file so that no
// earlier writer can add a byte to it, returning its durable length; and
// truncate durably. The storagetest package is the conformance suite every
// backend runs; docs/journal-format.md has the table per backend.
//
// # Corruption
//
// A bad record (CRC mismatch, truncated record, bad length, unparsable
// payload) in a completed log or a checkpoint is fatal: the error names the
// file and byte offset and wraps ErrCorrupt. In the open log a bad tail is
// a write that was never acknowledged: Replay applies the valid prefix and
// logs a warning with the file and offset, and StartWriting truncates the
// tail away when it seals the file. A CRC mismatch in the open log that is
// followed by a valid record is corruption, not a torn tail, and is fatal. An
// invalid newest checkpoint is skipped with a warning in favour of an older
// one (missing logs then show up as a gap).
package journal
