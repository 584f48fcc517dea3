package quality_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

var t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

func metricsRecord(t testing.TB, key, tenant, agent string, i int, ts time.Time, latency float64) *kgo.Record {
	t.Helper()
	b, err := codecs.Encode(codecs.Envelope{
		EventID: fmt.Sprintf("m-%d", i), EventType: codecs.TypeMetrics, TenantID: tenant,
		Timestamp: codecs.NewTime(ts), Source: "ai-service",
	}, &codecs.Metrics{Agent: agent, Model: "gpt-4o", LatencyMS: latency, TokensIn: 120, TokensOut: 80, CostUSD: 0.002, Status: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topology.MetricsEvents, Key: []byte(key), Value: b}
}

func getJSON(t *testing.T, base, path, tenant string, out any) int {
	return kafkatest.GetJSON(t, base+path, out, views.TenantHeader, tenant)
}

// A scripted degradation on a real cluster: four normal windows of agent
// planner, one where latency triples, one back to normal. Windows close by
// watermark as later events arrive (event times in 2025).
func TestIntegrationDegradationYieldsOneLatencyInsightAndVisibleRecovery(t *testing.T) {
	mods := []*stream.Module{quality.Module(), insights.Module()}
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(mods...))
	tenant := "acme-" + prefix
	srv := kafkatest.Serve(t, env, stream.Options{Prefix: stream.Prefix(prefix), Metrics: env.Metrics}, mods...)

	latencies := []float64{100, 100, 100, 100, 300, 100}
	var recs []*kgo.Record
	for w, l := range latencies {
		for k := 0; k < 12; k++ {
			ts := t0.Add(time.Duration(w)*5*time.Minute + time.Duration(k)*25*time.Second)
			// Keyed by agent only, as a careless producer would: re-keyed via the loop.
			recs = append(recs, metricsRecord(t, "planner", tenant, "planner", len(recs), ts, l+float64(k%3)))
		}
	}
	recs = append(recs, metricsRecord(t, "planner", tenant, "planner", len(recs), t0.Add(31*time.Minute), 100))
	kafkatest.Produce(t, kafkatest.Client(t), recs...)

	var q quality.AgentQuality
	// A new group first works off the shared topic's history (benchmarks leave
	// tens of thousands of events on the real broker).
	kafkatest.Eventually(t, 4*time.Minute, "window 5 closed in the quality view", func() bool {
		q = quality.AgentQuality{} // decoding into a used value would merge maps
		return getJSON(t, srv.URL, "/v1/agents/planner/quality", tenant, &q) == http.StatusOK && len(q.RecentWindows) == 6
	})
	if w := q.RecentWindows[0]; !w.Start.Equal(t0.Add(25*time.Minute)) || w.LatencyP95 > 105 || len(q.ActiveAlerts) != 0 {
		t.Fatalf("recovery not visible: latest window %+v, alerts %+v", w, q.ActiveAlerts)
	}
	if w := q.RecentWindows[1]; w.LatencyP95 < 295 || w.Requests != 12 {
		t.Fatalf("degraded window %+v", w)
	}

	got := kafkatest.ReadUntil(t, topology.Insights, 30*time.Second,
		func(r *kgo.Record) bool { return string(r.Key) == tenant },
		func(rs []*kgo.Record) bool { return len(rs) >= 2 })
	if len(got) != 2 {
		t.Fatalf("%d insights, want the latency regression and its resolution", len(got))
	}
	var ins []*insights.Insight
	for _, r := range got {
		tn, in, err := insights.Decode(r.Value)
		if err != nil || tn != tenant {
			t.Fatalf("insight %s: %v", r.Value, err)
		}
		ins = append(ins, in)
	}
	fire, res := ins[0], ins[1]
	wantID := insights.ID(tenant, "planner", quality.RuleLatencyP95, "", t0.Add(20*time.Minute), insights.Critical)
	if fire.Rule != quality.RuleLatencyP95 || fire.State != insights.Firing || fire.Severity != insights.Critical || fire.InsightID != wantID {
		t.Fatalf("firing insight %+v, want critical %s", fire, wantID)
	}
	if res.State != insights.Resolved || res.Resolves != wantID || !res.Window.Start.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("resolution %+v", res)
	}
	var env2 codecs.Envelope
	if err := json.Unmarshal(got[0].Value, &env2); err != nil || env2.EventType != "insight.latency_p95_regression" || env2.EventID != "ins-"+wantID {
		t.Fatalf("envelope %s", got[0].Value)
	}

	var list insights.List
	kafkatest.Eventually(t, 60*time.Second, "insights view lists both", func() bool {
		list = insights.List{}
		return getJSON(t, srv.URL, "/v1/insights", tenant, &list) == http.StatusOK && len(list.Insights) == 2
	})
	if list.Insights[0].State != insights.Resolved || list.Insights[1].InsightID != wantID {
		t.Fatalf("insights view %+v", list.Insights)
	}
}
