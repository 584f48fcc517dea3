package topology_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aistream/aistream/topology"
)

// Resolve records each clamp beside its warning; Short says it in one line
// without the topic names.
func TestResolveClampShort(t *testing.T) {
	topics := []topology.Topic{
		{Name: "a", Partitions: 1, Replication: 3},
		{Name: "b", Partitions: 1, Replication: 3},
		{Name: "c", Partitions: 1, Replication: 1},
	}
	p := topology.Resolve(topics, 1)
	if len(p.Clamps) != 1 || len(p.Warnings) != 1 {
		t.Fatalf("clamps %+v warnings %q, want one each", p.Clamps, p.Warnings)
	}
	c := p.Clamps[0]
	if c.From != 3 || c.To != 1 || !slices.Equal(c.Topics, []string{"a", "b"}) {
		t.Fatalf("clamp %+v", c)
	}
	if s := c.Short(); !strings.Contains(s, "replication 3 clamped to 1 for 2 topics") || strings.Contains(s, "\n") {
		t.Errorf("short %q", s)
	}
	if p := topology.Resolve(topics, 3); len(p.Clamps) != 0 || len(p.Warnings) != 0 {
		t.Errorf("three brokers: clamps %+v warnings %q, want none", p.Clamps, p.Warnings)
	}
}
