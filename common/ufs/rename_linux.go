package ufs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameNoReplace renames the local file src to dst, failing with fs.ErrExist if dst
// exists, atomically where the kernel and file system support it.
func RenameNoReplace(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
		return renameCheck(src, dst)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return nil
}
