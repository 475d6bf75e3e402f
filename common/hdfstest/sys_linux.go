//go:build linux

package hdfstest

import (
	"os"
	"os/exec"
	"syscall"
)

var terminateSignal os.Signal = syscall.SIGTERM

// pauseSignal and resumeSignal freeze and continue the JVM (nil: Pause is
// not supported on this system).
var pauseSignal, resumeSignal os.Signal = syscall.SIGSTOP, syscall.SIGCONT

// sysProcAttr puts the JVM in its own process group and kills it if the test
// binary dies, so no cluster outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup signals the process group of cmd (the JVM that start.sh
// exec'd into).
func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		cmd.Process.Signal(sig)
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, s); err != nil {
		cmd.Process.Signal(sig)
	}
}
