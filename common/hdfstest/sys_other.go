//go:build !linux

package hdfstest

import (
	"os"
	"os/exec"
	"syscall"
)

var terminateSignal = os.Interrupt

var pauseSignal, resumeSignal os.Signal

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(cmd *exec.Cmd, sig os.Signal) { cmd.Process.Signal(sig) }
