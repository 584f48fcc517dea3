package views_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

const qualityPrefix = "qv"

var qualityT0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

// qualityHarness runs the quality groups and the quality and insights views
// on goka's tester, behind an HTTP server.
type qualityHarness struct {
	t   *testing.T
	tt  *tester.Tester
	srv *httptest.Server
	n   int
}

func newQualityHarness(t *testing.T) *qualityHarness {
	t.Helper()
	tt := tester.New(t)
	srv := kafkatest.ServeOnTester(t, tt, qualityPrefix, quality.Module(), insights.Module())
	return &qualityHarness{t: t, tt: tt, srv: srv}
}

func (h *qualityHarness) metric(tenant, agent string, ts time.Time, latency float64) {
	h.t.Helper()
	h.n++
	b, err := codecs.Encode(codecs.Envelope{
		EventID: fmt.Sprintf("m-%d", h.n), EventType: codecs.TypeMetrics, TenantID: tenant,
		Timestamp: codecs.NewTime(ts), Source: "ai-service",
	}, &codecs.Metrics{Agent: agent, Model: "gpt-4o", LatencyMS: latency, Status: "ok", CostUSD: 0.001})
	if err != nil {
		h.t.Fatal(err)
	}
	h.tt.Consume(topology.MetricsEvents, "", b)
}

// windows sends 10 requests per window for each latency, window i starting
// at 10:00 + 5m·i, then one event that closes the last of them.
func (h *qualityHarness) windows(tenant, agent string, latencies ...float64) {
	for i, l := range latencies {
		for k := 0; k < 10; k++ {
			h.metric(tenant, agent, qualityT0.Add(time.Duration(i)*5*time.Minute+time.Duration(k)*20*time.Second), l)
		}
	}
	h.metric(tenant, agent, qualityT0.Add(time.Duration(len(latencies))*5*time.Minute+time.Minute), 100)
}

func (h *qualityHarness) get(tenant, path string, out any) int {
	return kafkatest.GetJSON(h.t, h.srv.URL+path, out, views.TenantHeader, tenant)
}

func TestQualityViewShowsWindowsBaselineAndAlerts(t *testing.T) {
	h := newQualityHarness(t)
	h.windows("acme", "planner", 100, 100, 100, 100, 300)
	var q quality.AgentQuality
	if code := h.get("acme", "/v1/agents/planner/quality", &q); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if q.Agent != "planner" || q.Window != "5m0s" || len(q.RecentWindows) != 5 || q.RecentWindows[0].LatencyP95 != 300 {
		t.Fatalf("quality %+v", q)
	}
	if q.CurrentWindow == nil || q.CurrentWindow.Requests != 1 || !q.CurrentWindow.Start.Equal(qualityT0.Add(25*time.Minute)) {
		t.Fatalf("current window %+v", q.CurrentWindow)
	}
	if _, firing := q.ActiveAlerts[quality.RuleLatencyP95]; q.Baseline.LatencyP95.Value != 100 || !firing {
		t.Fatalf("baseline %+v alerts %+v", q.Baseline, q.ActiveAlerts)
	}
	if code := h.get("other", "/v1/agents/planner/quality", nil); code != http.StatusNotFound {
		t.Fatalf("another tenant's agent: status %d, want 404", code)
	}
	if code := h.get("", "/v1/agents/planner/quality", nil); code != http.StatusUnauthorized {
		t.Fatalf("no tenant: status %d", code)
	}
}

func TestInsightsViewFiltersAndPaginatesNewestFirst(t *testing.T) {
	h := newQualityHarness(t)
	// Baseline, critical (300), warning (180), resolved (100): three insights.
	h.windows("acme", "planner", 100, 100, 100, 100, 300, 180, 100)
	h.windows("globex", "planner", 100, 100, 100, 100, 300)
	var all insights.List
	if code := h.get("acme", "/v1/insights", &all); code != http.StatusOK || len(all.Insights) != 3 {
		t.Fatalf("status %d, insights %+v", code, all.Insights)
	}
	want := []string{"resolved/warning", "firing/warning", "firing/critical"}
	for i, in := range all.Insights {
		if got := in.State + "/" + in.Severity; got != want[i] || in.TenantID != "acme" {
			t.Fatalf("insight %d: %s of %s, want %s (newest first)", i, got, in.TenantID, want[i])
		}
	}
	var crit insights.List
	h.get("acme", "/v1/insights?severity=critical", &crit)
	if len(crit.Insights) != 1 || crit.Insights[0].Severity != "critical" {
		t.Fatalf("severity=critical: %+v", crit.Insights)
	}
	var recent insights.List
	h.get("acme", "/v1/insights?since="+url.QueryEscape(all.Insights[1].Time.Format(time.RFC3339)), &recent)
	if len(recent.Insights) != 2 {
		t.Fatalf("since: %+v", recent.Insights)
	}
	var pages []string
	path := "/v1/insights?limit=2"
	for path != "" {
		var p insights.List
		if code := h.get("acme", path, &p); code != http.StatusOK {
			t.Fatalf("%s: status %d", path, code)
		}
		for _, in := range p.Insights {
			pages = append(pages, in.InsightID)
		}
		path = ""
		if p.NextCursor != "" {
			path = "/v1/insights?limit=2&cursor=" + url.QueryEscape(p.NextCursor)
		}
	}
	if len(pages) != 3 || pages[0] != all.Insights[0].InsightID || pages[2] != all.Insights[2].InsightID {
		t.Fatalf("paginated ids %v", pages)
	}
	for _, bad := range []string{"?severity=urgent", "?since=yesterday", "?cursor=bm90IGEgY3Vyc29y", "?limit=0"} {
		if code := h.get("acme", "/v1/insights"+bad, nil); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, code)
		}
	}
	var none insights.List
	if code := h.get("initech", "/v1/insights", &none); code != http.StatusOK || len(none.Insights) != 0 {
		t.Fatalf("tenant without insights: %d %+v", code, none)
	}
}
