package bench

import (
	"testing"
	"time"
)

// runQueueWait reads this process's threads and never goes back.
func TestRunQueueWait(t *testing.T) {
	a, ok := runQueueWait()
	if !ok || a < 0 {
		t.Fatalf("runQueueWait() = %s, %v; want a duration read from /proc/self/task", a, ok)
	}
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	if b, ok := runQueueWait(); !ok || b < a {
		t.Fatalf("runQueueWait() went from %s to %s (%v)", a, b, ok)
	}
}
