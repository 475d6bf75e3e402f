package journal

import (
	"os"
	"syscall"
)

// datasync is fdatasync: it writes the file's data and the metadata needed
// to read it back (its size), which is what an append needs.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
