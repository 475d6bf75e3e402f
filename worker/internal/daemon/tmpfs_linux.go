package daemon

import "syscall"

// onMemoryFS reports whether path is on tmpfs or ramfs (ok=false if unknown).
func onMemoryFS(path string) (mem, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return false, false
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	return st.Type == tmpfsMagic || st.Type == ramfsMagic, true
}
