package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/topology"
)

// "aistream demo" produces through the cluster's own client settings
// (KAFKA_* and flags, as docker-compose.yml's demo service does): its traces
// of the demo tenants arrive in the trace topic.
func TestIntegrationDemoCommandProduces(t *testing.T) {
	kafkatest.Setup(t, nil) // the contract topics
	start := time.Now().Add(-time.Second)
	if err := run([]string{"demo", "--traces", "3", "--rate", "50", "--bootstrap-servers", strings.Join(kafkatest.Brokers(t), ",")}); err != nil {
		t.Fatalf("aistream demo: %v", err)
	}
	kafkatest.ReadUntil(t, topology.TraceEvents, 30*time.Second, func(r *kgo.Record) bool {
		if r.Timestamp.Before(start) {
			return false
		}
		ev, err := codecs.Decoder{}.Decode(r.Value)
		return err == nil && slices.Contains(demo.Tenants(), ev.TenantID)
	}, func(rs []*kgo.Record) bool { return len(rs) >= 3 })
}
