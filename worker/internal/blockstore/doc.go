// Package blockstore is the worker's tiered block store.
//
// # Layout
//
// A store has one or more tiers (e.g. MEM, SSD, HDD), fastest first; each tier
// has one or more directories, each with a byte quota. Inside a directory:
//
//	<dir>/alluxioworker/<blockId>                 committed block (file size = block length)
//	<dir>/.tmp_blocks/<sessionId>/<blockId>       block being written (never visible as complete)
//	<dir>/.tmp_blocks/_move/<blockId>.<n>         block being copied in by eviction or promotion
//
// A block becomes visible only by a rename from .tmp_blocks into alluxioworker
// after the file has been fsynced; the directory is fsynced after the rename.
// On start, everything under .tmp_blocks is deleted and the committed blocks
// are recovered from the file names (ids) and sizes (lengths).
//
// # Space
//
// Each directory's usage is the bytes of its committed blocks plus the bytes
// reserved by blocks being written. A write that cannot get space, even after
// evicting every evictable block of its directory, fails with an error wrapping
// rpcstatus.ErrResourceExhausted; ENOSPC from the disk is reported the same way.
//
// # Eviction
//
// When a tier's usage passes its high watermark (or a write needs room), the
// least recently used blocks that are neither locked nor pinned are moved to
// the next tier, or dropped when there is none, until usage is at or below the
// low watermark. Moves and drops are reported through Delta for heartbeats.
// A move copies the block into <dir>/.tmp_blocks/_move/ without holding the
// store's lock (the destination space is reserved and the block pinned
// meanwhile), then renames it into place; a move whose block was locked or
// removed during the copy is abandoned.
//
// # Locks
//
// Reader and Lock take a read lock on a committed block; while any is held the
// block is not evicted, moved or removed (a Remove is deferred until the last
// lock is released). Locks taken with Lock carry a lease and are released by
// ExpireLocks once it passes, so a dead short-circuit client cannot pin a
// block forever.
package blockstore
