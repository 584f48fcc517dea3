package contextgraph_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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

// TestIntegrationTraceListLatency: with thousands of traces of two tenants
// in the index, a page of the newest 50 (filtered or not) is the right
// page, and the test logs the list route's latency next to the single-trace
// route's (figures only, never asserted: the machine's clock swings).
func TestIntegrationTraceListLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("produces thousands of traces")
	}
	p := startPipeline(t, contextgraph.DefaultConfig())
	tenant, other := p.prefix+"-a", p.prefix+"-b"
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	const n = 3000
	var recs []*kgo.Record
	for i := range n {
		for _, tn := range []string{tenant, other} {
			trace := fmt.Sprintf("%s-%s-%05d", p.prefix, tn[len(tn)-1:], i)
			start := at.Add(time.Duration(i) * time.Second)
			recs = append(recs, record(topology.TraceEvents, trace, envelope(trace+"-s1", codecs.TypeSpan, tn, start, spanData(trace, "s1", start))))
		}
	}
	kafkatest.Produce(t, kafkatest.Client(t), recs...)
	newest := fmt.Sprintf("%s-a-%05d", p.prefix, n-1)
	calls := 0
	kafkatest.Eventually(t, 120*time.Second, "the newest trace indexed", func() bool {
		var l contextgraph.TraceList
		ok := p.get(t, "/v1/traces?limit=1", tenant, &l)
		if calls++; calls%20 == 0 {
			t.Logf("newest so far: %v %+v", ok, l.Traces)
		}
		return ok && len(l.Traces) == 1 && l.Traces[0].TraceID == newest
	})
	// Traces land in any order across partitions: wait for all of them.
	kafkatest.Eventually(t, 120*time.Second, "every trace indexed", func() bool {
		count, cursor := 0, ""
		for {
			var l contextgraph.TraceList
			if !p.get(t, "/v1/traces?limit=500&cursor="+cursor, tenant, &l) {
				return false
			}
			count += len(l.Traces)
			if cursor = l.NextCursor; cursor == "" {
				return count == n
			}
		}
	})
	measure := func(path string) (p50, p99 time.Duration) {
		var ds []time.Duration
		for range 300 {
			start := time.Now()
			if !p.get(t, path, tenant, nil) {
				t.Fatalf("GET %s failed", path)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2], ds[len(ds)*99/100]
	}
	var l contextgraph.TraceList
	if !p.get(t, "/v1/traces?limit=50", tenant, &l) || len(l.Traces) != 50 || l.Traces[0].TraceID != newest || l.NextCursor == "" {
		t.Fatalf("first page: %d traces, first %+v", len(l.Traces), l.Traces[:min(1, len(l.Traces))])
	}
	for i, s := range l.Traces {
		if want := fmt.Sprintf("%s-a-%05d", p.prefix, n-1-i); s.TraceID != want || s.TenantID != tenant {
			t.Fatalf("trace %d of the page: %s of %s, want %s", i, s.TraceID, s.TenantID, want)
		}
	}
	for _, path := range []string{"/v1/traces?limit=50", "/v1/traces?limit=50&agent=sql-agent&status=ok", "/v1/traces/" + newest, "/healthz"} {
		p50, p99 := measure(path)
		t.Logf("%d traces per tenant, GET %s: p50 %v, p99 %v (sequential, one client)", n, path, p50, p99)
	}
}
