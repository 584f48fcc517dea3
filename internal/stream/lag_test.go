package stream

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A replica exports lag only for the partitions it processes (a partition
// it lost has its series removed), so a sum over replicas counts each
// partition once; lag in seconds is now minus the last processed record's
// timestamp while records wait, and 0 when none do.
func TestLagOnlyForOwnedPartitions(t *testing.T) {
	m := NewMetrics()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	parts := map[string][]int32{"in": {0, 1, 2}}
	offsets := map[int32]int64{0: 7, 1: 3, 2: 0}
	lag := func(_ string, p int32) (int64, bool) { return offsets[p], true }
	m.markProcessed("g", "in", 0, now.Add(-90*time.Second))
	m.markProcessed("g", "in", 2, now.Add(-time.Hour))

	setLag(m, "g", parts, map[int32]bool{0: true, 1: true, 2: true}, now, lag)
	if n := testutil.CollectAndCount(m.Lag); n != 3 {
		t.Fatalf("lag series with every partition owned: %d, want 3", n)
	}
	// A rebalance moves partition 1 to another replica.
	setLag(m, "g", parts, map[int32]bool{0: true, 2: true}, now, lag)
	if n := testutil.CollectAndCount(m.Lag); n != 2 {
		t.Errorf("lag series after losing partition 1: %d, want 2", n)
	}
	if n := testutil.CollectAndCount(m.LagSeconds); n != 2 {
		t.Errorf("lag seconds series after losing partition 1: %d, want 2", n)
	}
	if v := testutil.ToFloat64(m.Lag.WithLabelValues("g", "in", "0")); v != 7 {
		t.Errorf("lag of partition 0 = %v, want 7", v)
	}
	if v := testutil.ToFloat64(m.LagSeconds.WithLabelValues("g", "in", "0")); v != 90 {
		t.Errorf("lag seconds of partition 0 = %v, want 90", v)
	}
	// Caught up: nothing waits, however old the last record is.
	if v := testutil.ToFloat64(m.LagSeconds.WithLabelValues("g", "in", "2")); v != 0 {
		t.Errorf("lag seconds of caught-up partition 2 = %v, want 0", v)
	}
}

// Running lists exactly the partitions in the running state.
func TestPartitionsRunning(t *testing.T) {
	m := NewMetrics()
	m.Partitions.assign("g", []int32{0, 3})
	if got := m.Partitions.Running("g"); len(got) != 0 {
		t.Errorf("assigned but not yet running: %v", got)
	}
	m.Partitions.run("g")
	if got := m.Partitions.Running("g"); len(got) != 2 || !got[0] || !got[3] {
		t.Errorf("running: %v, want 0 and 3", got)
	}
	m.Partitions.revoke("g")
	if got := m.Partitions.Running("g"); len(got) != 0 {
		t.Errorf("after revoke: %v", got)
	}
}
