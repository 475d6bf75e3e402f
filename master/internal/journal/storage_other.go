//go:build !linux

package journal

import "os"

// datasync is fsync where fdatasync is not used.
func datasync(f *os.File) error { return f.Sync() }
