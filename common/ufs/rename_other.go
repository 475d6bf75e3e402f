//go:build !linux

package ufs

// RenameNoReplace renames the local file src to dst, failing with fs.ErrExist if dst exists.
func RenameNoReplace(src, dst string) error { return renameCheck(src, dst) }
