//go:build unix

package httpserve

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the soft limit now in force. Go's runtime already tries this at
// start-up on most Unix systems; calling it makes the bound derived from the
// limit reflect the raised value and reports why it could not be raised.
// On error the returned limit is the one in force (0 if unknown).
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= lim.Max {
		return lim.Cur, nil
	}
	soft := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return soft, fmt.Errorf("raise RLIMIT_NOFILE from %d to %d: %w", soft, lim.Max, err)
	}
	return lim.Cur, nil
}
