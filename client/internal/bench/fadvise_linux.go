//go:build linux && (amd64 || arm64)

package bench

import (
	"os"
	"syscall"
)

func fadviseDontNeed(f *os.File) {
	const posixFadvDontNeed = 4
	_, _, _ = syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, posixFadvDontNeed, 0, 0)
}
