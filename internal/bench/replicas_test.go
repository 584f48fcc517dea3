package bench

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// A group counts as joined only when Stable with one member per replica,
// each owning partitions (as many as there are, when fewer than members).
func TestJoined(t *testing.T) {
	for _, c := range []struct {
		name    string
		state   string
		members int
		owned   []int
		n       int
		ok      bool
	}{
		{"stable, both own", "Stable", 2, []int{3, 3}, 2, true},
		{"rebalancing", "PreparingRebalance", 2, []int{1, 1}, 2, false},
		{"one member of two", "Stable", 1, []int{6}, 2, false},
		{"a member owns nothing", "Stable", 2, []int{6, 0}, 2, false},
		{"one partition, three members", "Stable", 3, []int{1, 0, 0}, 3, true},
		{"no partition at all", "Stable", 1, []int{0}, 1, false},
		{"assignments unreadable", "Stable", 2, nil, 2, true},
	} {
		if why := joinedWith(c.state, c.members, c.owned, c.n); (why == "") != c.ok {
			t.Errorf("%s: joined says %q, want joined=%v", c.name, why, c.ok)
		}
	}
}

// Lag counts what lies past the committed offsets; a partition with no
// commit counts from 0.
func TestLagOf(t *testing.T) {
	committed := kadm.OffsetResponses{}
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 0, At: 10}})
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 1, At: 7}})
	to := positions{"a": {0: 10, 1: 9, 2: 3}}
	if got := lagOf(committed, to); got != 2+3 {
		t.Errorf("lag %d, want 5", got)
	}
	if got := lagOf(committed, positions{"a": {0: 10, 1: 7}}); got != 0 {
		t.Errorf("lag at the end %d, want 0", got)
	}
}

// The running process's CPU is read where the platform can, and grows.
func TestProcessCPU(t *testing.T) {
	c0, ok := processCPU(os.Getpid())
	if !ok {
		t.Skip("no per-process CPU on this platform")
	}
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	if c1, _ := processCPU(os.Getpid()); c1 <= c0 {
		t.Errorf("CPU did not grow over 200 ms of spinning: %s then %s", c0, c1)
	}
	if _, ok := processCPU(1 << 30); ok {
		t.Error("a process that does not exist has a CPU time")
	}
}

// The replica's output kept for an error is its end, bounded.
func TestTail(t *testing.T) {
	tl := &tail{max: 8}
	tl.Write([]byte("0123456789"))
	tl.Write([]byte("ab"))
	if got := tl.String(); got != "456789ab" {
		t.Errorf("tail %q", got)
	}
	if got := (&tail{max: 8}).String(); !strings.Contains(got, "no output") {
		t.Errorf("empty tail %q", got)
	}
}
