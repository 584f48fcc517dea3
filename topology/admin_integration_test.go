package topology_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/topology"
)

func admin(t *testing.T) sarama.ClusterAdmin {
	t.Helper()
	k := config.Kafka{BootstrapServers: kafkatest.Brokers(t), SecurityProtocol: "PLAINTEXT", ClientID: "topology-test", InitialOffset: "earliest"}
	sc, err := k.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	a, err := sarama.NewClusterAdmin(k.BootstrapServers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// apply creates what is missing, is idempotent, and check reports every kind
// of drift: partitions, replication, retention and cleanup policy.
func TestIntegrationApplyAndCheckDrift(t *testing.T) {
	a := admin(t)
	n := time.Now().UnixNano()
	events := fmt.Sprintf("drift-events-%d", n)
	table := fmt.Sprintf("drift-table-%d", n)
	topics := []topology.Topic{
		{Name: events, Partitions: 3, Replication: 3, Retention: 7 * 24 * time.Hour, Cleanup: topology.CleanupDelete},
		{Name: table, Partitions: 2, Replication: 1, Cleanup: topology.CleanupCompact},
	}
	plan, err := topology.ResolveFor(a, topics)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], events) || !strings.Contains(plan.Warnings[0], "clamped to 1") {
		t.Fatalf("want one clamp warning naming %s on a one-broker cluster, got %q", events, plan.Warnings)
	}

	drifts, err := topology.Check(a, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(drifts) != 2 || drifts[0].Field != "missing" || drifts[1].Field != "missing" {
		t.Fatalf("before apply: %v", drifts)
	}
	created, unfixable, err := topology.Apply(a, plan)
	if err != nil || len(created) != 2 || len(unfixable) != 0 {
		t.Fatalf("apply: created %v unfixable %v err %v", created, unfixable, err)
	}
	created, _, err = topology.Apply(a, plan)
	if err != nil || len(created) != 0 {
		t.Fatalf("second apply must change nothing: created %v, %v", created, err)
	}
	if drifts, err := topology.Check(a, plan); err != nil || len(drifts) != 0 {
		t.Fatalf("after apply: %v %v", drifts, err)
	}

	// Someone shortens retention and makes the table delete-only.
	one := "3600000"
	del := "delete"
	if err := a.AlterConfig(sarama.TopicResource, events, map[string]*string{"retention.ms": &one, "cleanup.policy": &del}, false); err != nil {
		t.Fatal(err)
	}
	if err := a.AlterConfig(sarama.TopicResource, table, map[string]*string{"cleanup.policy": &del}, false); err != nil {
		t.Fatal(err)
	}
	// And the definition now wants more partitions and replicas than exist.
	wider := plan
	wider.Topics = append([]topology.Topic(nil), plan.Topics...)
	wider.Topics[1].Partitions = 4
	wider.Topics[1].Replication = 2
	drifts, err = topology.Check(a, wider)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range drifts {
		got[d.Topic+" "+d.Field] = true
	}
	for _, want := range []string{events + " retention.ms", table + " cleanup.policy", table + " partitions", table + " replication"} {
		if !got[want] {
			t.Errorf("check missed drift %q; reported %v", want, drifts)
		}
	}

	_, unfixable, err = topology.Apply(a, wider)
	if err != nil {
		t.Fatal(err)
	}
	if len(unfixable) != 2 {
		t.Errorf("partitions and replication must be left to an operator, got %v", unfixable)
	}
	if drifts, _ := topology.Check(a, plan); len(drifts) != 0 {
		t.Errorf("apply must have fixed retention and cleanup policy: %v", drifts)
	}
}
