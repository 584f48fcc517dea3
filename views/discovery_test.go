package views_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

type sender struct {
	t  *testing.T
	tt *tester.Tester
	n  int
}

func (s *sender) send(topic, tenant, typ string, ts time.Time, payload any) {
	s.t.Helper()
	s.n++
	b, err := codecs.Encode(codecs.Envelope{EventID: fmt.Sprintf("dv-%d", s.n), EventType: typ, TenantID: tenant,
		Timestamp: codecs.NewTime(ts), Source: "ai-service"}, payload)
	if err != nil {
		s.t.Fatal(err)
	}
	s.tt.Consume(topic, "", b)
}

func (s *sender) span(tenant, trace, span, agent, status string, start time.Time) {
	sp := &codecs.Span{TraceID: trace, SpanID: span, Agent: agent,
		Name: "run", Status: status, StartTime: codecs.NewTime(start), EndTime: codecs.NewTime(start.Add(time.Second))}
	if status == "error" {
		sp.Error = &codecs.SpanError{Type: "timeout", Message: "db"}
	}
	s.send(topology.TraceEvents, tenant, codecs.TypeSpan, start.Add(time.Second), sp)
}

// walk reads every page of a list route and returns the pages' items'
// field key, failing on a page longer than limit.
func walk[T any](t *testing.T, base, tenant string, q url.Values, limit int, items func(*T) ([]string, string)) []string {
	t.Helper()
	var out []string
	q.Set("limit", fmt.Sprint(limit))
	for n := 0; ; n++ {
		if n > 50 {
			t.Fatal("no last page")
		}
		var page T
		if code := kafkatest.GetJSON(t, base+"?"+q.Encode(), &page, views.TenantHeader, tenant); code != http.StatusOK {
			t.Fatalf("%s?%s: %d", base, q.Encode(), code)
		}
		got, next := items(&page)
		if len(got) > limit {
			t.Fatalf("page of %d, limit %d", len(got), limit)
		}
		out = append(out, got...)
		if next == "" {
			return out
		}
		q.Set("cursor", next)
	}
}

func traceIDs(l *contextgraph.TraceList) ([]string, string) {
	var ids []string
	for _, s := range l.Traces {
		ids = append(ids, s.TraceID)
	}
	return ids, l.NextCursor
}

// GET /v1/traces lists the tenant's traces newest first by start, once
// each (a trace whose start moved earlier is listed once, at its new
// place), filtered by since, agent and status, on every page size.
func TestTraceListNewestFirstFilteredAndPaged(t *testing.T) {
	tt, _, srv := fullServer(t)
	s := &sender{t: t, tt: tt}
	t0 := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for i := range 7 {
		status := "ok"
		if i%3 == 0 {
			status = "error"
		}
		agent := []string{"planner", "writer"}[i%2]
		s.span("acme", fmt.Sprintf("tr-%d", i), "s1", agent, status, t0.Add(time.Duration(i)*time.Minute))
	}
	s.span("globex", "tr-globex", "s1", "planner", "ok", t0.Add(time.Hour))
	// tr-1 gets an earlier span: it moves behind tr-0.
	s.span("acme", "tr-1", "s0", "planner", "ok", t0.Add(-time.Minute))

	all := []string{"tr-6", "tr-5", "tr-4", "tr-3", "tr-2", "tr-0", "tr-1"}
	for _, limit := range []int{1, 2, 3, 7, 50} {
		if got := walk(t, srv.URL+"/v1/traces", "acme", url.Values{}, limit, traceIDs); !slices.Equal(got, all) {
			t.Errorf("limit %d: %v, want %v", limit, got, all)
		}
	}
	for q, want := range map[string][]string{
		"status=error":                            {"tr-6", "tr-3", "tr-0"},
		"status=ok&agent=writer":                  {"tr-5", "tr-1"},
		"agent=planner":                           {"tr-6", "tr-4", "tr-2", "tr-0", "tr-1"},
		"since=2025-03-15T10:04:00Z":              {"tr-6", "tr-5", "tr-4"},
		"since=2025-03-15T10:04:00Z&agent=writer": {"tr-5"},
		"agent=nobody":                            nil,
	} {
		v, _ := url.ParseQuery(q)
		if got := walk(t, srv.URL+"/v1/traces", "acme", v, 2, traceIDs); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	if got := walk(t, srv.URL+"/v1/traces", "globex", url.Values{}, 10, traceIDs); !slices.Equal(got, []string{"tr-globex"}) {
		t.Errorf("globex: %v", got)
	}
	var l contextgraph.TraceList
	kafkatest.GetJSON(t, srv.URL+"/v1/traces?limit=1", &l, views.TenantHeader, "acme")
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/traces?cursor="+l.NextCursor, nil, views.TenantHeader, "globex"); code != http.StatusBadRequest {
		t.Errorf("acme's cursor as globex: %d, want 400", code)
	}
	if len(l.Traces) != 1 || l.Traces[0].TenantID != "acme" || l.Traces[0].Status != "error" || !slices.Equal(l.Traces[0].Agents, []string{"planner"}) {
		t.Errorf("summary: %+v", l.Traces)
	}
}

// GET /v1/agents and GET /v1/datasets list the tenant's own, in name order,
// paged; datasets by prefix.
func TestAgentAndDatasetLists(t *testing.T) {
	tt, _, srv := fullServer(t)
	s := &sender{t: t, tt: tt}
	t0 := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, a := range []string{"writer", "planner", "sql-agent"} {
		s.send(topology.MetricsEvents, "acme", codecs.TypeMetrics, t0, &codecs.Metrics{Agent: a, Model: "m", LatencyMS: 10, Status: "ok"})
	}
	s.send(topology.MetricsEvents, "globex", codecs.TypeMetrics, t0, &codecs.Metrics{Agent: "spy", Model: "m", LatencyMS: 10, Status: "ok"})
	lin := func(tenant, q, src, dst string) {
		s.send(topology.LineageEvents, tenant, codecs.TypeLineage, t0, codecs.Lineage{QueryID: q, SQL: "insert into " + dst + " select * from " + src,
			Dialect: "postgres", UserID: "u", Status: "success", Sources: []string{src}, Targets: []string{dst}})
	}
	lin("acme", "q1", "raw.orders", "mart.orders")
	lin("acme", "q2", "raw.customers", "mart.orders")
	lin("globex", "q3", "raw.secret", "mart.secret")

	agents := func(l *quality.AgentList) ([]string, string) {
		var out []string
		for _, a := range l.Agents {
			out = append(out, a.Agent)
		}
		return out, l.NextCursor
	}
	for _, limit := range []int{1, 2, 10} {
		if got := walk(t, srv.URL+"/v1/agents", "acme", url.Values{}, limit, agents); !slices.Equal(got, []string{"planner", "sql-agent", "writer"}) {
			t.Errorf("agents, limit %d: %v", limit, got)
		}
	}
	datasets := func(l *lineage.DatasetList) ([]string, string) {
		var out []string
		for _, d := range l.Datasets {
			out = append(out, d.Dataset)
		}
		return out, l.NextCursor
	}
	if got := walk(t, srv.URL+"/v1/datasets", "acme", url.Values{}, 2, datasets); !slices.Equal(got, []string{"default.mart.orders", "default.raw.customers", "default.raw.orders"}) {
		t.Errorf("datasets: %v", got)
	}
	if got := walk(t, srv.URL+"/v1/datasets", "acme", url.Values{"prefix": {"default.raw."}}, 1, datasets); !slices.Equal(got, []string{"default.raw.customers", "default.raw.orders"}) {
		t.Errorf("datasets raw.: %v", got)
	}
	if got := walk(t, srv.URL+"/v1/datasets", "globex", url.Values{"prefix": {"default.raw."}}, 5, datasets); !slices.Equal(got, []string{"default.raw.secret"}) {
		t.Errorf("globex datasets: %v", got)
	}
	var d lineage.DatasetList
	kafkatest.GetJSON(t, srv.URL+"/v1/datasets?prefix=default.mart.orders", &d, views.TenantHeader, "acme")
	if len(d.Datasets) != 1 || d.Datasets[0].Upstream != 2 || d.Datasets[0].Events != 2 {
		t.Errorf("mart.orders: %+v", d.Datasets)
	}
}

// The context-graph group writes a trace's index entry only when its
// summary changes: not per span, once per new agent or first failure, and
// a delete plus a write when its start moves earlier.
func TestTraceIndexWritesOnlyOnChange(t *testing.T) {
	tt, _, _ := fullServer(t)
	s := &sender{t: t, tt: tt}
	qt := tt.NewQueueTracker("oa-" + contextgraph.IndexStream)
	writes := func() int {
		n := 0
		for {
			if _, _, ok := qt.NextRaw(); !ok {
				return n
			}
			n++
		}
	}
	t0 := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		s.span("acme", "tr-w", fmt.Sprintf("s%d", i), "planner", "ok", t0.Add(time.Duration(i)*time.Second))
	}
	if n := writes(); n != 1 {
		t.Errorf("5 spans of one agent: %d index writes, want 1", n)
	}
	s.span("acme", "tr-w", "s9", "planner", "error", t0.Add(9*time.Second))
	s.span("acme", "tr-w", "s10", "planner", "error", t0.Add(10*time.Second))
	if n := writes(); n != 1 {
		t.Errorf("first and second failure: %d index writes, want 1", n)
	}
	s.span("acme", "tr-w", "s11", "writer", "ok", t0.Add(11*time.Second))
	if n := writes(); n != 1 {
		t.Errorf("a new agent: %d index writes, want 1", n)
	}
	s.span("acme", "tr-w", "s-1", "planner", "ok", t0.Add(-time.Second))
	if n := writes(); n != 2 {
		t.Errorf("an earlier start: %d index writes, want 2 (delete, write)", n)
	}
}
