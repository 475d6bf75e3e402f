//go:build linux

package zktest

import "syscall"

var terminateSignal = syscall.SIGTERM

// sysProcAttr puts the JVM in its own process group and kills it if the test
// binary dies, so no server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
