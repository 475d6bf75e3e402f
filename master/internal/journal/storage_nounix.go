//go:build !unix

package journal

import "io/fs"

// fileID is 0 (unknown) where inodes are not available: the fence check
// then detects only a missing name, not a name reused for another file.
func fileID(fs.FileInfo) uint64 { return 0 }
