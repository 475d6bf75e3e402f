//go:build !linux

package ufs

// renameNoReplace renames src to dst, failing with fs.ErrExist if dst exists.
func renameNoReplace(src, dst string) error { return renameCheck(src, dst) }
