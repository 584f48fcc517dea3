package contextgraph_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// TestIntegrationTraceIndex: over a real broker the context-graph group
// feeds the trace-index group through its internal topic, and GET
// /v1/traces lists the tenant's traces newest first, once each (a late,
// earlier span moves a trace), never another tenant's.
func TestIntegrationTraceIndex(t *testing.T) {
	p := startPipeline(t, contextgraph.DefaultConfig())
	tenant, other := p.prefix+"-a", p.prefix+"-b"
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	cl := kafkatest.Client(t)
	span := func(tenant, trace, id string, start time.Time) {
		kafkatest.Produce(t, cl, record(topology.TraceEvents, trace, envelope(p.prefix+"-"+trace+"-"+id, codecs.TypeSpan, tenant, start,
			spanData(trace, id, start))))
	}
	for i, trace := range []string{"x0", "x1", "x2"} {
		span(tenant, p.prefix+"-"+trace, "s1", at.Add(time.Duration(i)*time.Minute))
	}
	span(other, p.prefix+"-y0", "s1", at.Add(time.Hour))
	span(tenant, p.prefix+"-x2", "s0", at.Add(-time.Minute)) // x2 now started first

	want := []string{p.prefix + "-x1", p.prefix + "-x0", p.prefix + "-x2"}
	var got []string
	kafkatest.Eventually(t, 60*time.Second, "the index lists the tenant's traces", func() bool {
		var l contextgraph.TraceList
		if !p.get(t, "/v1/traces?limit=10", tenant, &l) {
			return false
		}
		got = got[:0]
		for _, s := range l.Traces {
			got = append(got, s.TraceID)
		}
		return slices.Equal(got, want)
	})
	var l contextgraph.TraceList
	if !p.get(t, "/v1/traces", other, &l) || len(l.Traces) != 1 || l.Traces[0].TraceID != p.prefix+"-y0" {
		t.Errorf("the other tenant's list: %+v", l)
	}
}
