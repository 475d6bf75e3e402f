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
// earlier ones; StartWriting seals the previous term's open log (truncate
// after the last valid record, rename to its true end) and writes a
// NewTermEntry as the term's first record. After a NewTermEntry of epoch E,
// readers skip (and log as fenced) every record whose epoch is below E, so a
// deposed leader's late writes are never applied. Records in a completed log
// past the seq its name ends at are a deposed writer's tail and are ignored.
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
