//go:build !linux

package bench

import (
	"syscall"
	"time"
)

func childAttr() *syscall.SysProcAttr { return nil }

// processCPU cannot read a running process's CPU here: the scale phase
// reports the replicas' whole-life CPU (rusage at exit) instead.
func processCPU(int) (time.Duration, bool) { return 0, false }

// runQueueWait cannot be read here.
func runQueueWait() (time.Duration, bool) { return 0, false }
