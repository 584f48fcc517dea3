package stream

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

type claimsSession struct {
	sarama.ConsumerGroupSession
	claims map[string][]int32
}

func (s claimsSession) Claims() map[string][]int32 { return s.claims }

// generations is a consumer group whose Consume runs one generation per
// call, as sarama does: Setup, then Cleanup; the last one lasts until ctx
// ends.
type generations struct {
	sarama.ConsumerGroup
	claims []map[string][]int32
	calls  []time.Time
}

func (g *generations) Consume(ctx context.Context, _ []string, h sarama.ConsumerGroupHandler) error {
	n := len(g.calls)
	g.calls = append(g.calls, time.Now())
	s := claimsSession{claims: g.claims[min(n, len(g.claims)-1)]}
	if err := h.Setup(s); err != nil {
		return err
	}
	if n == len(g.claims)-1 {
		<-ctx.Done()
	}
	return h.Cleanup(s)
}

// gokaStandIn records the partition states while its Setup runs, as goka
// restores the partitions there.
type gokaStandIn struct {
	parts   *Partitions
	inSetup []map[string][]PartitionStatus
}

func (g *gokaStandIn) Setup(sarama.ConsumerGroupSession) error {
	g.inSetup = append(g.inSetup, g.parts.Snapshot())
	return nil
}
func (g *gokaStandIn) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (g *gokaStandIn) ConsumeClaim(sarama.ConsumerGroupSession, sarama.ConsumerGroupClaim) error {
	return nil
}

func states(parts ...any) []PartitionStatus {
	var out []PartitionStatus
	for i := 0; i < len(parts); i += 2 {
		out = append(out, PartitionStatus{Partition: int32(parts[i].(int)), State: parts[i+1].(PartitionState)})
	}
	return out
}

// A rebalance ends sarama's Consume; the next generation is joined at once
// (goka would wait 5 s, all partitions standing still), and each
// generation's partitions show as recovering while goka restores them,
// then running, next to the standby copies of the others.
func TestRebalanceRejoinsAtOnceAndReportsPartitionStates(t *testing.T) {
	m := NewMetrics()
	inner := &generations{claims: []map[string][]int32{
		{"in": {0, 1, 2}, "loop": {0, 1, 2}},
		{"in": {3, 4, 5}, "loop": {3, 4, 5}},
	}}
	g := &rejoiningGroup{ConsumerGroup: inner, group: "g", parts: m.Partitions, metrics: m}
	goka := &gokaStandIn{parts: m.Partitions}

	// A hot standby copy of partition 5: restored, then kept warm.
	st, err := m.Partitions.trackStorage(zerolog.Nop(), storage.MemoryBuilder())("g-table", 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	if got := m.Partitions.Snapshot()["g"]; !reflect.DeepEqual(got, states(5, PartitionRecovering)) {
		t.Errorf("copy opened, not restored: %v, want partition 5 recovering", got)
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Consume(ctx, []string{"in", "loop"}, goka) }()
	wantRunning := states(3, PartitionRunning, 4, PartitionRunning, 5, PartitionRunning)
	deadline := time.Now().Add(5 * time.Second)
	for !reflect.DeepEqual(m.Partitions.Snapshot()["g"], wantRunning) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := m.Partitions.Snapshot()["g"]; !reflect.DeepEqual(got, wantRunning) {
		t.Errorf("after the second setup: %v, want %v", got, wantRunning)
	}
	if v := testutil.ToFloat64(m.PartitionState.WithLabelValues("g", "5", "running")); v != 1 {
		t.Errorf(`aistream_partition_state{partition="5",state="running"} = %v, want 1`, v)
	}
	if v := testutil.ToFloat64(m.PartitionState.WithLabelValues("g", "5", "standby")); v != 0 {
		t.Errorf(`aistream_partition_state{partition="5",state="standby"} = %v, want 0`, v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume after ctx ended: %v, want nil", err)
	}

	if len(inner.calls) != 2 {
		t.Fatalf("%d generations joined, want 2", len(inner.calls))
	}
	if d := inner.calls[1].Sub(inner.calls[0]); d > time.Second {
		t.Errorf("second generation joined %s after the first: rejoining must not wait", d)
	}
	if want := states(0, PartitionRecovering, 1, PartitionRecovering, 2, PartitionRecovering, 5, PartitionStandby); !reflect.DeepEqual(goka.inSetup[0], map[string][]PartitionStatus{"g": want}) {
		t.Errorf("during the first setup: %v, want %v", goka.inSetup[0], want)
	}
	if n := testutil.ToFloat64(m.Rebalances.WithLabelValues("g")); n != 2 {
		t.Errorf("aistream_rebalances_total = %v, want 2", n)
	}
	// Revoked: only the warm copy is left.
	if got := m.Partitions.Snapshot()["g"]; !reflect.DeepEqual(got, states(5, PartitionStandby)) {
		t.Errorf("after the group stopped: %v, want partition 5 standby", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := m.Partitions.Snapshot()["g"]; len(got) != 0 {
		t.Errorf("after the copy closed: %v, want nothing held", got)
	}
	if n := testutil.CollectAndCount(m.PartitionState); n != 0 {
		t.Errorf("%d partition state series left for partitions not held, want 0", n)
	}
}

type refusingGroup struct{ sarama.ConsumerGroup }

func (refusingGroup) Consume(context.Context, []string, sarama.ConsumerGroupHandler) error {
	return sarama.ErrInvalidSessionTimeout
}

// A broker that refuses the session timeout (below its
// group.min.session.timeout.ms) stops the processor with the setting to fix.
func TestRefusedSessionTimeoutNamesTheSetting(t *testing.T) {
	g := &rejoiningGroup{ConsumerGroup: refusingGroup{}, group: "g", session: 3 * time.Second}
	err := g.Consume(context.Background(), []string{"in"}, &gokaStandIn{})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v, want the refusal", err)
	}
	for _, want := range []string{"KAFKA_SESSION_TIMEOUT (--session-timeout)", `"3s"`, "group.min.session.timeout.ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
