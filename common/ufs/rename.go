package ufs

import (
	"io/fs"
	"os"
)

// renameCheck renames src to dst after checking that dst does not exist
// (not atomic: used where RENAME_NOREPLACE is unavailable).
func renameCheck(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: fs.ErrExist}
	}
	return os.Rename(src, dst)
}
