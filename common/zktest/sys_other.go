//go:build !linux

package zktest

import (
	"os"
	"syscall"
)

var terminateSignal = os.Interrupt

func sysProcAttr() *syscall.SysProcAttr { return nil }
