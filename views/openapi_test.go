package views_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/audit"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/processors/responses"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// documentedNotMounted are routes the document describes ahead of their
// implementation on another branch. Remove an entry once its route mounts.
var documentedNotMounted = map[string]bool{}

func loadOpenAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(views.OpenAPI)
	if err != nil {
		t.Fatalf("views/openapi.yaml does not load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("views/openapi.yaml is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("views/openapi.yaml is not valid: %v", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, r
}

// fullServer runs every module of the binary on goka's tester behind the
// API server with metrics, as "aistream run" mounts them.
func fullServer(t *testing.T) (*tester.Tester, *views.Server, *httptest.Server) {
	t.Helper()
	tt := tester.New(t)
	const prefix = "oa"
	mods := []*stream.Module{contextgraph.Module(), responses.Module(), quality.Module(), insights.Module(), lineage.Module(), audit.Module()}
	for _, m := range mods {
		kafkatest.RunModuleOnTester(t, tt, prefix, m)
	}
	s := views.NewServer(zerolog.Nop(), stream.NewMetrics(), views.HeaderScope)
	if err := s.MountModules(stream.Prefix(prefix), kafkatest.ViewsOnTester(t, tt), mods...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return tt, s, srv
}

// docRoutes are the document's operations as "METHOD /path".
func docRoutes(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// The document lists exactly the mounted routes, with the same summaries.
func TestOpenAPIListsEveryMountedRoute(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	_, s, _ := fullServer(t)
	var mounted []string
	for _, r := range s.Routes() {
		key := r.Method + " " + r.Path
		mounted = append(mounted, key)
		item := doc.Paths.Find(r.Path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is mounted but not in views/openapi.yaml", key)
			continue
		}
		if op := item.GetOperation(r.Method); op.Summary != r.Summary {
			t.Errorf("%s: summary %q in views/openapi.yaml, %q in the code", key, op.Summary, r.Summary)
		}
	}
	for _, key := range docRoutes(doc) {
		if !slices.Contains(mounted, key) && !documentedNotMounted[key] {
			t.Errorf("%s is in views/openapi.yaml but not mounted", key)
		}
		if slices.Contains(mounted, key) && documentedNotMounted[key] {
			t.Errorf("%s is mounted now: remove it from documentedNotMounted", key)
		}
	}
}

// feedDemo sends events of every kind for tenants acme and globex.
func feedDemo(t *testing.T, tt *tester.Tester) {
	t.Helper()
	n := 0
	t0 := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	send := func(topic, tenant, typ string, ts time.Time, payload any) {
		n++
		b, err := codecs.Encode(codecs.Envelope{EventID: fmt.Sprintf("ev-%d", n), EventType: typ, TenantID: tenant,
			Timestamp: codecs.NewTime(ts), Source: "ai-service"}, payload)
		if err != nil {
			t.Fatal(err)
		}
		tt.Consume(topic, "", b)
	}
	for _, tenant := range []string{"acme", "globex"} {
		tr := "tr-" + tenant
		send(topology.ThinkingEvents, tenant, codecs.TypeThinking, t0, &codecs.Thinking{TraceID: tr, SpanID: "s1", Agent: "planner", Step: 1, Kind: "plan", Content: "look up the order", Tokens: 12})
		send(topology.DecisionEvents, tenant, codecs.TypeDecision, t0.Add(time.Second), &codecs.Decision{TraceID: tr, DecisionID: "d1", SpanID: "s1", Agent: "router",
			DecisionType: "route", Chosen: "billing", Alternatives: []codecs.Alternative{{Option: "support", Score: 0.2}}, Confidence: 0.8, Reason: "invoice"})
		send(topology.TraceEvents, tenant, codecs.TypeSpan, t0.Add(2*time.Second), &codecs.Span{TraceID: tr, SpanID: "s1", Agent: "planner", Name: "run", Status: "ok",
			StartTime: codecs.NewTime(t0), EndTime: codecs.NewTime(t0.Add(2 * time.Second)), Model: "gpt-4o", TokensIn: 10, TokensOut: 20})
		send(topology.TraceEvents, tenant, codecs.TypeSpan, t0.Add(3*time.Second), &codecs.Span{TraceID: tr, SpanID: "s2", ParentSpanID: "s1", Agent: "billing", Name: "tool", Status: "error",
			StartTime: codecs.NewTime(t0.Add(time.Second)), EndTime: codecs.NewTime(t0.Add(3 * time.Second)), Error: &codecs.SpanError{Type: "timeout", Message: "db"}})
		score := 2
		send(topology.FeedbackEvents, tenant, codecs.TypeFeedback, t0.Add(4*time.Second), &codecs.Feedback{ResponseID: "resp-" + tenant, TraceID: tr, SessionID: "sess", UserID: "u1",
			Agent: "planner", Model: "gpt-4o", Thumbs: "down", Score: &score, Categories: []string{"wrong"}, Comment: "no"})
		send(topology.FeedbackEvents, tenant, codecs.TypeFeedback, t0.Add(5*time.Second), &codecs.Feedback{ResponseID: "resp-" + tenant, TraceID: tr, SessionID: "sess", UserID: "u1",
			Agent: "planner", Model: "gpt-4o", Thumbs: "up"})
		for i, lat := range []float64{100, 100, 100, 100, 300} {
			for k := 0; k < 10; k++ {
				q := 0.9
				m := &codecs.Metrics{Agent: "planner", Model: "gpt-4o", LatencyMS: lat, Status: "ok", CostUSD: 0.001, TokensIn: 5, TokensOut: 7, QualityScore: &q}
				if k == 0 {
					m.Status, m.ErrorType = "error", "timeout"
				}
				send(topology.MetricsEvents, tenant, codecs.TypeMetrics, t0.Add(time.Duration(i)*5*time.Minute+time.Duration(k)*20*time.Second), m)
			}
		}
		send(topology.MetricsEvents, tenant, codecs.TypeMetrics, t0.Add(26*time.Minute), &codecs.Metrics{Agent: "planner", Model: "gpt-4o", LatencyMS: 100, Status: "ok"})
		send(topology.LineageEvents, tenant, codecs.TypeLineage, t0, codecs.Lineage{QueryID: "q1", SQL: "insert into mart.orders select id from raw.orders", Dialect: "postgres",
			UserID: "u1", Status: "success", TraceID: tr, Sources: []string{"raw.orders"}, Targets: []string{"mart.orders"},
			Columns: []codecs.ColumnMapping{{Target: codecs.ColumnRef{Dataset: "mart.orders", Column: "id"}, Sources: []codecs.ColumnRef{{Dataset: "raw.orders", Column: "id"}}}}})
		send(topology.LineageEvents, tenant, codecs.TypeLineage, t0.Add(time.Minute), codecs.Lineage{QueryID: "q2", SQL: "insert into mart.orders select 1", Dialect: "postgres",
			UserID: "u2", Status: "failed", Sources: []string{"raw.orders"}, Targets: []string{"mart.orders"}})
	}
}

// conformanceCases are requests of every mounted route: with data, with
// bad parameters, without credentials, of an unknown or foreign id.
var conformanceCases = []struct {
	path   string
	tenant string
	status int
	accept string
}{
	{"/", "", 200, ""},
	{"/", "", 200, "text/html,application/xhtml+xml"},
	{"/openapi.yaml", "", 200, ""},
	{"/healthz", "", 200, ""},
	{"/readyz", "", 200, ""},
	{"/metrics", "", 200, ""},
	{"/v1/traces/tr-acme", "acme", 200, ""},
	{"/v1/traces/tr-globex", "acme", 404, ""},
	{"/v1/traces/tr-acme", "", 401, ""},
	{"/v1/traces/tr-acme", "bad tenant!", 400, ""},
	{"/v1/responses/resp-acme/feedback", "acme", 200, ""},
	{"/v1/responses/resp-globex/feedback", "acme", 404, ""},
	{"/v1/responses/resp-acme/feedback", "", 401, ""},
	{"/v1/agents/planner/quality", "acme", 200, ""},
	{"/v1/agents/nobody/quality", "acme", 404, ""},
	{"/v1/agents/planner/quality", "", 401, ""},
	{"/v1/insights", "acme", 200, ""},
	{"/v1/traces", "acme", 200, ""},
	{"/v1/traces?since=2025-03-15T10:00:00Z&agent=planner&status=error&limit=1", "acme", 200, ""},
	{"/v1/traces?status=maybe", "acme", 400, ""},
	{"/v1/traces?since=yesterday", "acme", 400, ""},
	{"/v1/traces", "", 401, ""},
	{"/v1/agents", "acme", 200, ""},
	{"/v1/agents?limit=1", "acme", 200, ""},
	{"/v1/agents?limit=501", "acme", 400, ""},
	{"/v1/agents?cursor=%21%21", "acme", 400, ""},
	{"/v1/agents", "", 401, ""},
	{"/v1/datasets?prefix=raw.", "acme", 200, ""},
	{"/v1/datasets?limit=1", "acme", 200, ""},
	{"/v1/datasets?cursor=Z2xvYmV4fHJhdy5vcmRlcnM", "acme", 400, ""},
	{"/v1/datasets", "", 401, ""},
	{"/v1/insights?severity=critical&limit=1", "acme", 200, ""},
	{"/v1/insights?limit=0", "acme", 400, ""},
	{"/v1/insights?cursor=bm90", "acme", 400, ""},
	{"/v1/insights", "initech", 200, ""},
	{"/v1/insights", "", 401, ""},
	{"/v1/lineage/raw.orders?direction=downstream&include_failed=true&recent=3", "acme", 200, ""},
	{"/v1/lineage/mart.orders?direction=upstream&depth=2", "acme", 200, ""},
	{"/v1/lineage/raw.orders?direction=sideways", "acme", 400, ""},
	{"/v1/lineage/nowhere.none", "acme", 404, ""},
	{"/v1/lineage/raw.orders", "", 401, ""},
	{"/v1/lineage/mart.orders/columns/id", "acme", 200, ""},
	{"/v1/lineage/raw.orders/columns/id?direction=downstream", "acme", 200, ""},
	{"/v1/lineage/mart.orders/columns/id?depth=0", "acme", 400, ""},
	{"/v1/lineage/mart.orders/columns/nope", "acme", 404, ""},
	{"/v1/lineage/raw.orders/edges/mart.orders/queries", "acme", 200, ""},
	{"/v1/lineage/raw.orders/edges/nowhere.none/queries", "acme", 404, ""},
	{"/v1/lineage/raw.orders/edges/mart.orders/queries", "", 401, ""},
	{"/v1/audit", "acme", 200, ""},
	{"/v1/audit?action=read&outcome=success&limit=1", "acme", 200, ""},
	{"/v1/audit?since=yesterday", "acme", 400, ""},
	{"/v1/audit", "", 401, ""},
}

// Every route's real responses, with data and errors, conform to the
// document; every mounted route answers 200 at least once.
func TestResponsesConformToOpenAPI(t *testing.T) {
	_, router := loadOpenAPI(t)
	tt, s, srv := fullServer(t)
	feedDemo(t, tt)
	now := time.Now()
	tt.SetTableValue(stream.Prefix("oa").Table(audit.Name), audit.Key("acme", now, 0), &audit.Bucket{Events: []audit.Entry{
		{EventID: "ev-1", Time: now.Add(-time.Minute), Source: "aistream", Actor: "0123456789abcdef", Action: "read",
			Resource: "GET /v1/traces/tr-acme", Outcome: "success", Details: map[string]string{"status": "200"}}}})
	ok := map[string]bool{}
	for _, c := range conformanceCases {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
		if c.tenant != "" {
			req.Header.Set(views.TenantHeader, c.tenant)
		}
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s as %q: %d, want %d: %s", c.path, c.tenant, resp.StatusCode, c.status, body)
			continue
		}
		if err := validateResponse(router, req, resp, body); err != nil {
			t.Errorf("GET %s as %q: %d does not conform to views/openapi.yaml: %v\n%s", c.path, c.tenant, resp.StatusCode, err, body)
		}
		if c.status == 200 {
			route, _, _ := router.FindRoute(req)
			ok[route.Method+" "+route.Path] = true
		}
	}
	for _, r := range s.Routes() {
		if !ok[r.Method+" "+r.Path] {
			t.Errorf("%s %s: no 200 response validated; add a case to conformanceCases", r.Method, r.Path)
		}
	}
}

// The index's HTML page is validated as a string (kin-openapi has no
// text/html decoder of its own).
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

func validateResponse(router routers.Router, req *http.Request, resp *http.Response, body []byte) error {
	// The router matches the path against the document: drop the test
	// server's host so the document's (absent) servers apply.
	u, _ := url.Parse(req.URL.RequestURI())
	r := req.Clone(context.Background())
	r.URL = u
	route, params, err := router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("no route in the document: %w", err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// The validation can fail: a field the document does not describe, a
// wrong type, a missing field and an undocumented status are caught.
func TestOpenAPIValidationRejectsDrift(t *testing.T) {
	_, router := loadOpenAPI(t)
	req := httptest.NewRequest(http.MethodGet, "/v1/insights", nil)
	h := http.Header{"Content-Type": []string{"application/json"}}
	good := map[string]any{"insights": []any{}}
	for name, c := range map[string]struct {
		status int
		body   any
	}{
		"extra field":         {200, map[string]any{"insights": []any{}, "total": 3}},
		"wrong type":          {200, map[string]any{"insights": "none"}},
		"missing field":       {200, map[string]any{"next_cursor": "x"}},
		"bad error shape":     {400, map[string]any{"code": "bad"}},
		"undocumented status": {418, good},
	} {
		b, _ := json.Marshal(c.body)
		if err := validateResponse(router, req, &http.Response{StatusCode: c.status, Header: h}, b); err == nil {
			t.Errorf("%s: %s accepted", name, b)
		}
	}
	b, _ := json.Marshal(good)
	if err := validateResponse(router, req, &http.Response{StatusCode: 200, Header: h}, b); err != nil {
		t.Errorf("a valid list rejected: %v", err)
	}
	if !bytes.Contains(views.OpenAPI, []byte("openapi: 3.1")) || !strings.Contains(string(views.OpenAPI), "bearer") {
		t.Error("the document is not OpenAPI 3.1 with a bearer scheme")
	}
}

// GET / lists exactly the mounted routes, as JSON and, for a browser, as
// HTML.
func TestIndexListsTheMountedRoutes(t *testing.T) {
	_, s, srv := fullServer(t)
	var idx views.Index
	if code := kafkatest.GetJSON(t, srv.URL+"/", &idx); code != http.StatusOK || !slices.Equal(idx.Routes, s.Routes()) || idx.OpenAPI != views.OpenAPIPath {
		t.Errorf("GET /: %d %+v", code, idx)
	}
	if len(idx.Routes) < 15 || !slices.ContainsFunc(idx.Routes, func(r views.IndexRoute) bool { return r.Path == "/v1/traces" }) {
		t.Errorf("GET / lists %d routes: %+v", len(idx.Routes), idx.Routes)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("HTML index: %s", resp.Header.Get("Content-Type"))
	}
	for _, r := range s.Routes() {
		if !strings.Contains(string(body), "<code>"+r.Path+"</code>") {
			t.Errorf("HTML index lacks %s", r.Path)
		}
	}
}
