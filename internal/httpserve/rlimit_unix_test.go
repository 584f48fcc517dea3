//go:build unix

package httpserve

import (
	"syscall"
	"testing"
)

func TestRaiseFileLimitRaisesTheSoftLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	if lim.Max < 512 {
		t.Skipf("hard limit %d", lim.Max)
	}
	orig := lim
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	lowered := syscall.Rlimit{Cur: 256, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Skip(err)
	}
	got, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got != orig.Max || lim.Cur != orig.Max {
		t.Errorf("soft limit %d (returned %d), want the hard limit %d", lim.Cur, got, orig.Max)
	}
}
