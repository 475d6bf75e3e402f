//go:build !linux

package daemon

func onMemoryFS(string) (mem, ok bool) { return false, false }
