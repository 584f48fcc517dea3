//go:build !unix

package httpserve

import "errors"

// RaiseFileLimit reports that this system has no RLIMIT_NOFILE.
func RaiseFileLimit() (uint64, error) {
	return 0, errors.New("RLIMIT_NOFILE is not supported on this system")
}
