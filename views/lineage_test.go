package views_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

const lineagePrefix = "vt"

// lineageHarness runs the query-lineage processor and the lineage view on goka's
// tester, behind an HTTP server.
type lineageHarness struct {
	t   testing.TB
	tt  *tester.Tester
	srv *httptest.Server
	n   int
}

func newLineageHarness(t testing.TB, cfg lineage.Config) *lineageHarness {
	t.Helper()
	tt := tester.New(t)
	srv := kafkatest.ServeOnTester(t, tt, lineagePrefix, lineage.NewModule(cfg))
	return &lineageHarness{t: t, tt: tt, srv: srv}
}

// send consumes a successful lineage event of tenant reading sources and
// writing targets.
func (a *lineageHarness) send(tenant string, sources, targets []string, columns ...codecs.ColumnMapping) {
	a.t.Helper()
	a.sendStatus(tenant, "success", sources, targets, columns...)
}

func (a *lineageHarness) sendStatus(tenant, status string, sources, targets []string, columns ...codecs.ColumnMapping) {
	a.t.Helper()
	a.n++
	id := "e" + strings.Repeat("x", a.n)
	b, err := codecs.Encode(codecs.Envelope{EventID: id, EventType: codecs.TypeLineage, TenantID: tenant,
		Timestamp: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, a.n, 0, time.UTC)), Source: "ai-service"},
		codecs.Lineage{QueryID: "q-" + id, SQL: "select", Dialect: "postgres", UserID: "u", Status: status, TraceID: "tr-" + id,
			Sources: sources, Targets: targets, Columns: columns})
	if err != nil {
		a.t.Fatal(err)
	}
	a.tt.Consume(topology.LineageEvents, "", b)
}

// get requests path as tenant and decodes the JSON body into out.
func (a *lineageHarness) get(tenant, path string, out any) int {
	return kafkatest.GetJSON(a.t, a.srv.URL+path, out, views.TenantHeader, tenant)
}

func (a *lineageHarness) graph(tenant, path string) lineage.Graph {
	a.t.Helper()
	var g lineage.Graph
	if code := a.get(tenant, path, &g); code != http.StatusOK {
		a.t.Fatalf("GET %s: %d", path, code)
	}
	return g
}

func lineageNodes(g lineage.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.Dataset)
	}
	slices.Sort(out)
	return out
}

func lineageEdges(g lineage.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		out = append(out, e.From+">"+e.To)
	}
	slices.Sort(out)
	return out
}

func lineageMapping(target string, sources ...string) codecs.ColumnMapping {
	ref := func(s string) codecs.ColumnRef {
		i := strings.LastIndex(s, ":")
		return codecs.ColumnRef{Dataset: s[:i], Column: s[i+1:]}
	}
	m := codecs.ColumnMapping{Target: ref(target)}
	for _, s := range sources {
		m.Sources = append(m.Sources, ref(s))
	}
	return m
}

func lineageSame(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestLineageGraphDirectionsAndDepth(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	// a → b → c → d, and x → c
	a.send("acme", []string{"w.s.a"}, []string{"w.s.b"})
	a.send("acme", []string{"w.s.b"}, []string{"w.s.c"})
	a.send("acme", []string{"w.s.c", "w.s.x"}, []string{"w.s.d"})

	g := a.graph("acme", "/v1/lineage/w.s.d?direction=upstream")
	lineageSame(t, "upstream nodes", lineageNodes(g), "w.s.a", "w.s.b", "w.s.c", "w.s.d", "w.s.x")
	lineageSame(t, "upstream edges", lineageEdges(g), "w.s.a>w.s.b", "w.s.b>w.s.c", "w.s.c>w.s.d", "w.s.x>w.s.d")
	if g.Root != "w.s.d" || g.Depth != 3 || g.Direction != "upstream" || g.Truncated {
		t.Errorf("graph header = %+v", g)
	}
	for _, e := range g.Edges {
		if e.Queries.Count != 1 || len(e.Queries.Recent) != 1 {
			t.Errorf("edge %s>%s queries = %+v", e.From, e.To, e.Queries)
		}
	}

	g = a.graph("acme", "/v1/lineage/W.S.A?direction=downstream&depth=2")
	lineageSame(t, "downstream depth 2 nodes", lineageNodes(g), "w.s.a", "w.s.b", "w.s.c")
	lineageSame(t, "downstream depth 2 edges", lineageEdges(g), "w.s.a>w.s.b", "w.s.b>w.s.c")

	g = a.graph("acme", "/v1/lineage/w.s.c?depth=1")
	lineageSame(t, "both depth 1", lineageNodes(g), "w.s.b", "w.s.c", "w.s.d")
	if g.Direction != "both" {
		t.Errorf("default direction %q", g.Direction)
	}
	for _, n := range g.Nodes {
		if (n.Dataset == "w.s.c") != (n.Distance == 0) || n.Events == 0 {
			t.Errorf("node %+v", n)
		}
	}

	g = a.graph("acme", "/v1/lineage/w.s.a?direction=downstream&depth=500")
	if g.Depth != 10 {
		t.Errorf("depth 500 applied as %d, want the cap 10", g.Depth)
	}
}

func TestLineageGraphCycle(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"a"}, []string{"b"})
	a.send("acme", []string{"b"}, []string{"a"})
	for _, dir := range []string{"upstream", "downstream", "both"} {
		g := a.graph("acme", "/v1/lineage/a?depth=10&direction="+dir)
		lineageSame(t, dir+" cycle nodes", lineageNodes(g), "default.default.a", "default.default.b")
		lineageSame(t, dir+" cycle edges", lineageEdges(g), "default.default.a>default.default.b", "default.default.b>default.default.a")
	}
}

func TestLineageGraphNodeCap(t *testing.T) {
	cfg := lineage.DefaultConfig()
	cfg.MaxNodes = 3
	a := newLineageHarness(t, cfg)
	a.send("acme", []string{"s1", "s2", "s3", "s4"}, []string{"t"})
	g := a.graph("acme", "/v1/lineage/t?direction=upstream")
	if len(g.Nodes) != 3 || !g.Truncated || len(g.Edges) != 2 {
		t.Errorf("capped graph: %d nodes, %d edges, truncated %v; want 3, 2, true", len(g.Nodes), len(g.Edges), g.Truncated)
	}
}

func TestLineageFailedOnlyEdgesHidden(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"s"}, []string{"t"})
	a.sendStatus("acme", "failed", []string{"f"}, []string{"t"})
	lineageSame(t, "default", lineageEdges(a.graph("acme", "/v1/lineage/t")), "default.default.s>default.default.t")
	lineageSame(t, "include_failed", lineageEdges(a.graph("acme", "/v1/lineage/t?include_failed=true")),
		"default.default.f>default.default.t", "default.default.s>default.default.t")
}

func TestLineageTenantIsolation(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"w.s.orders"}, []string{"w.s.rev"})
	a.send("globex", []string{"w.s.orders"}, []string{"w.s.secret"})
	lineageSame(t, "acme sees", lineageNodes(a.graph("acme", "/v1/lineage/w.s.orders")), "w.s.orders", "w.s.rev")
	lineageSame(t, "globex sees", lineageNodes(a.graph("globex", "/v1/lineage/w.s.orders")), "w.s.orders", "w.s.secret")
	var e views.ErrorBody
	if code := a.get("acme", "/v1/lineage/w.s.secret", &e); code != http.StatusNotFound {
		t.Errorf("acme reading globex's dataset: %d, want 404", code)
	}
	if code := a.get("acme", "/v1/lineage/w.s.orders/edges/w.s.secret/queries", &e); code != http.StatusNotFound {
		t.Errorf("acme reading globex's edge: %d, want 404", code)
	}
	if code := a.get("", "/v1/lineage/w.s.orders", &e); code != http.StatusUnauthorized {
		t.Errorf("no tenant: %d, want 401", code)
	}
}

func TestLineageBadRequests(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"s"}, []string{"t"})
	for path, want := range map[string]string{
		"/v1/lineage/t?direction=sideways":                         "upstream downstream both",
		"/v1/lineage/t?depth=0":                                    "positive integer",
		"/v1/lineage/t?depth=x":                                    "positive integer",
		"/v1/lineage/t?recent=99":                                  "from 0 to 20",
		"/v1/lineage/a..b":                                         "empty part",
		"/v1/lineage/t/columns/c?direction=both":                   "upstream downstream",
		"/v1/lineage/t/columns/" + url.PathEscape("a b"):           "needs quoting",
		"/v1/lineage/t/edges/" + url.PathEscape(`"x`) + "/queries": "unterminated",
	} {
		var e views.ErrorBody
		if code := a.get("acme", path, &e); code != http.StatusBadRequest || !strings.Contains(e.Message, want) {
			t.Errorf("GET %s: %d %q, want 400 mentioning %q", path, code, e.Message, want)
		}
	}
}

func TestLineageColumnProvenance(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"raw.orders"}, []string{"stg.orders"}, lineageMapping("stg.orders:amount", "raw.orders:amt_cents"))
	a.send("acme", []string{"stg.orders", "stg.fx"}, []string{"mart.rev"},
		lineageMapping("mart.rev:revenue", "stg.orders:amount", "stg.fx:rate"), lineageMapping("mart.rev:day", "stg.orders:ts"))

	var g lineage.ColumnGraph
	if code := a.get("acme", "/v1/lineage/mart.rev/columns/Revenue", &g); code != http.StatusOK {
		t.Fatalf("column provenance: %d", code)
	}
	var got []string
	for _, c := range g.Columns {
		got = append(got, c.Dataset+":"+c.Column)
	}
	slices.Sort(got)
	lineageSame(t, "provenance of mart.rev.revenue", got,
		"default.mart.rev:revenue", "default.raw.orders:amt_cents", "default.stg.fx:rate", "default.stg.orders:amount")
	if len(g.Edges) != 3 || g.Direction != "upstream" {
		t.Errorf("edges = %+v", g.Edges)
	}

	if code := a.get("acme", "/v1/lineage/mart.rev/columns/revenue?depth=1", &g); code != http.StatusOK || len(g.Columns) != 3 {
		t.Errorf("depth 1: %d columns, want 3 (root and two direct sources)", len(g.Columns))
	}
	if code := a.get("acme", "/v1/lineage/raw.orders/columns/amt_cents?direction=downstream", &g); code != http.StatusOK || len(g.Columns) != 3 {
		t.Errorf("downstream impact of raw.orders.amt_cents: %+v", g.Columns)
	}
	var e views.ErrorBody
	if code := a.get("acme", "/v1/lineage/mart.rev/columns/nope", &e); code != http.StatusNotFound {
		t.Errorf("unknown column: %d, want 404", code)
	}
}

func TestLineageEdgeQueries(t *testing.T) {
	a := newLineageHarness(t, lineage.DefaultConfig())
	a.send("acme", []string{"s"}, []string{"t"})
	a.send("acme", []string{"s"}, []string{"t"})
	a.send("acme", []string{"t"}, []string{"s"})
	var q lineage.EdgeList
	if code := a.get("acme", "/v1/lineage/s/edges/T/queries", &q); code != http.StatusOK {
		t.Fatalf("edge queries: %d", code)
	}
	if len(q.Edges) != 2 {
		t.Fatalf("edges = %+v, want both directions", q.Edges)
	}
	st := q.Edges[0]
	if st.From != "default.default.s" || st.Queries.Count != 2 || len(st.Queries.Recent) != 2 || st.Queries.Recent[0].QueryID != "q-exx" {
		t.Errorf("s>t = %+v (newest query first)", st)
	}
	var e views.ErrorBody
	if code := a.get("acme", "/v1/lineage/s/edges/other/queries", &e); code != http.StatusNotFound {
		t.Errorf("no such edge: %d, want 404", code)
	}
}
