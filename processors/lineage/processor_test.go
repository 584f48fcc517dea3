package lineage_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
)

const prefix = "test"

// harness runs the query-lineage group on goka's tester.
type harness struct {
	t       *testing.T
	tt      *tester.Tester
	records *tester.QueueTracker
	dead    *tester.QueueTracker
}

func newHarness(t *testing.T, c lineage.Config) *harness {
	t.Helper()
	tt := tester.New(t)
	kafkatest.RunModuleOnTester(t, tt, prefix, lineage.NewModule(c))
	return &harness{t: t, tt: tt, records: tt.NewQueueTracker(topology.LineageRecords), dead: tt.NewQueueTracker(topology.DeadLetters)}
}

// ev is a lineage event; the zero fields get test defaults.
type ev struct {
	id, tenant, at string
	data           codecs.Lineage
}

func (h *harness) send(e ev) {
	h.t.Helper()
	h.tt.Consume(topology.LineageEvents, "any-key", encode(h.t, e))
}

func encode(t testing.TB, e ev) []byte {
	t.Helper()
	if e.tenant == "" {
		e.tenant = "acme"
	}
	if e.at == "" {
		e.at = "2025-03-15T10:00:00Z"
	}
	d := e.data
	if d.QueryID == "" {
		d.QueryID = "q-" + e.id
	}
	if d.SQL == "" && d.SQLHash == "" {
		d.SQL = "INSERT INTO t SELECT * FROM s"
	}
	if d.Dialect == "" {
		d.Dialect = "postgres"
	}
	if d.UserID == "" {
		d.UserID = "user-1"
	}
	if d.Status == "" {
		d.Status = "success"
	}
	at, err := time.Parse(time.RFC3339, e.at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := codecs.Encode(codecs.Envelope{EventID: e.id, EventType: codecs.TypeLineage, TenantID: e.tenant, Timestamp: codecs.NewTime(at), Source: "ai-service"}, d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) node(tenant, dataset string) *lineage.Node {
	h.t.Helper()
	v := h.tt.TableValue(stream.Prefix(prefix).Table(lineage.Name), codecs.TenantKey(tenant, dataset))
	if v == nil {
		return nil
	}
	return v.(*lineage.Node)
}

func (h *harness) mustNode(tenant, dataset string) *lineage.Node {
	h.t.Helper()
	n := h.node(tenant, dataset)
	if n == nil {
		h.t.Fatalf("no node %s|%s", tenant, dataset)
	}
	return n
}

// cols builds one column mapping: the target "dataset:column" first, then
// its sources.
func cols(target string, sources ...string) []codecs.ColumnMapping {
	ref := func(s string) codecs.ColumnRef {
		i := strings.LastIndex(s, ":")
		return codecs.ColumnRef{Dataset: s[:i], Column: s[i+1:]}
	}
	m := codecs.ColumnMapping{Target: ref(target)}
	for _, s := range sources {
		m.Sources = append(m.Sources, ref(s))
	}
	return []codecs.ColumnMapping{m}
}

func TestFanOut(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", data: codecs.Lineage{
		Sources: []string{"wh.sales.orders", "wh.sales.refunds"}, Targets: []string{"wh.mart.revenue"}, TraceID: "trace-1",
	}})
	orders, refunds, revenue := h.mustNode("acme", "wh.sales.orders"), h.mustNode("acme", "wh.sales.refunds"), h.mustNode("acme", "wh.mart.revenue")
	for _, src := range []*lineage.Node{orders, refunds} {
		e := src.Downstream["wh.mart.revenue"]
		if e == nil || e.Count != 1 || e.Succeeded != 1 || len(e.Recent) != 1 || e.Recent[0].QueryID != "q-e1" {
			t.Errorf("%s downstream edge to revenue = %+v", src.Dataset, e)
		}
		if len(src.Upstream) != 0 {
			t.Errorf("%s has upstream %v", src.Dataset, src.Upstream)
		}
		if len(src.Traces) != 1 || src.Traces[0].TraceID != "trace-1" {
			t.Errorf("%s traces = %+v", src.Dataset, src.Traces)
		}
	}
	for _, s := range []string{"wh.sales.orders", "wh.sales.refunds"} {
		if e := revenue.Upstream[s]; e == nil || e.Count != 1 {
			t.Errorf("revenue upstream edge from %s = %+v", s, e)
		}
	}
	if len(revenue.Downstream) != 0 || revenue.Events != 1 {
		t.Errorf("revenue: downstream %v, events %d", revenue.Downstream, revenue.Events)
	}
	if got := h.tt.GetTableKeys(stream.Prefix(prefix).Table(lineage.Name)); len(got) != 3 {
		t.Errorf("table keys = %v, want 3 nodes", got)
	}
}

func TestLineageRecord(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", tenant: "acme", data: codecs.Lineage{
		QueryID: "q-7", Sources: []string{"Sales.Orders"}, Targets: []string{"mart.rev"}, TraceID: "tr", SQLHash: "h1",
		Columns: cols("mart.rev:Total", "sales.orders:amount"),
	}})
	key, raw, ok := h.records.NextRaw()
	if !ok {
		t.Fatal("no lineage record")
	}
	if key != "acme|q-7" {
		t.Errorf("record key %q, want acme|q-7", key)
	}
	var env struct {
		codecs.Envelope
		Data lineage.Record `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	r := env.Data
	if env.EventType != lineage.RecordType || env.Source != "aistream" || env.TenantID != "acme" || env.EventID != lineage.RecordEventID("acme", "e1") {
		t.Errorf("envelope = %+v", env.Envelope)
	}
	if r.RunState != "COMPLETE" || r.Job.Name != "q-7" || r.Job.SQLHash != "h1" || r.SourceEventID != "e1" || r.TraceID != "tr" || len(r.Run.RunID) != 36 {
		t.Errorf("record = %+v", r)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Name != "default.sales.orders" || len(r.Outputs) != 1 || r.Outputs[0].Name != "default.mart.rev" {
		t.Fatalf("inputs/outputs = %+v / %+v", r.Inputs, r.Outputs)
	}
	if f := r.Outputs[0].ColumnLineage["total"]; len(f) != 1 || f[0].Name != "default.sales.orders" || f[0].Field != "amount" {
		t.Errorf("column lineage = %+v", r.Outputs[0].ColumnLineage)
	}
	// A replay of the same event yields a byte-identical record.
	h.send(ev{id: "e1", tenant: "acme", data: codecs.Lineage{
		QueryID: "q-7", Sources: []string{"Sales.Orders"}, Targets: []string{"mart.rev"}, TraceID: "tr", SQLHash: "h1",
		Columns: cols("mart.rev:Total", "sales.orders:amount"),
	}})
	_, again, _ := h.records.NextRaw()
	if string(again) != string(raw) {
		t.Errorf("replayed record differs:\n%s\n%s", raw, again)
	}
}

func TestCycle(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", data: codecs.Lineage{Sources: []string{"a"}, Targets: []string{"b"}}})
	h.send(ev{id: "e2", data: codecs.Lineage{Sources: []string{"b"}, Targets: []string{"a"}}})
	a, b := h.mustNode("acme", "default.default.a"), h.mustNode("acme", "default.default.b")
	if a.Downstream["default.default.b"] == nil || a.Upstream["default.default.b"] == nil ||
		b.Downstream["default.default.a"] == nil || b.Upstream["default.default.a"] == nil {
		t.Errorf("cycle edges missing: a=%+v b=%+v", a, b)
	}
}

func TestNormalisedSpellingsAreOneNode(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", data: codecs.Lineage{Sources: []string{`"wh"."sales"."orders"`}, Targets: []string{"WH.Mart.Rev"}}})
	h.send(ev{id: "e2", data: codecs.Lineage{Sources: []string{" wh.SALES.orders "}, Targets: []string{"[wh].[mart].[rev]"}, Dialect: "sqlserver"}})
	n := h.mustNode("acme", "wh.sales.orders")
	if e := n.Downstream["wh.mart.rev"]; n.Events != 2 || e == nil || e.Count != 2 {
		t.Errorf("orders: events %d, edge %+v; want both spellings on one node and edge", n.Events, e)
	}
	if keys := h.tt.GetTableKeys(stream.Prefix(prefix).Table(lineage.Name)); len(keys) != 2 {
		t.Errorf("table keys = %v, want 2", keys)
	}
}

func TestDuplicateDeliveryIsIdempotent(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	e := ev{id: "e1", data: codecs.Lineage{Sources: []string{"s1", "s2"}, Targets: []string{"t"}, TraceID: "tr",
		Columns: cols("t:c", "s1:a", "s2:b")}}
	h.send(e)
	before := map[string]string{}
	for _, d := range []string{"default.default.s1", "default.default.s2", "default.default.t"} {
		b, _ := json.Marshal(h.mustNode("acme", d))
		before[d] = string(b)
	}
	h.send(e)
	for d, b := range before {
		after, _ := json.Marshal(h.mustNode("acme", d))
		if string(after) != b {
			t.Errorf("%s changed on redelivery:\n%s\n%s", d, b, after)
		}
	}
	h.send(ev{id: "e2", data: e.data})
	if c := h.mustNode("acme", "default.default.t").Upstream["default.default.s1"].Count; c != 2 {
		t.Errorf("after a distinct event the edge count is %d, want 2", c)
	}
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", tenant: "acme", data: codecs.Lineage{Sources: []string{"wh.s.orders"}, Targets: []string{"wh.s.rev"}}})
	h.send(ev{id: "e1", tenant: "globex", data: codecs.Lineage{Sources: []string{"wh.s.orders"}, Targets: []string{"wh.s.other"}}})
	a, g := h.mustNode("acme", "wh.s.orders"), h.mustNode("globex", "wh.s.orders")
	if len(a.Downstream) != 1 || a.Downstream["wh.s.rev"] == nil || a.TenantID != "acme" {
		t.Errorf("acme orders = %+v", a)
	}
	if len(g.Downstream) != 1 || g.Downstream["wh.s.other"] == nil || g.Events != 1 {
		t.Errorf("globex orders = %+v (the same event id in another tenant is another event)", g)
	}
}

func TestColumnLineage(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", data: codecs.Lineage{
		Sources: []string{"s.orders"}, Targets: []string{"m.rev"},
		Columns: append(cols("m.rev:Revenue", "s.orders:amount", "s.orders:tax"), cols("m.rev:day", "s.orders:ts")...),
	}})
	rev := h.mustNode("acme", "default.m.rev")
	up := rev.Columns["revenue"]
	if up == nil || len(up.Upstream) != 2 || len(up.Downstream) != 0 {
		t.Fatalf("rev.revenue = %+v", up)
	}
	orders := h.mustNode("acme", "default.s.orders")
	if d := orders.Columns["amount"]; d == nil || len(d.Downstream) != 1 || d.Downstream[0].Dataset != "default.m.rev" || d.Downstream[0].Column != "revenue" {
		t.Errorf("orders.amount = %+v", d)
	}
	// A failed query adds no column lineage (but is on the edge).
	h.send(ev{id: "e2", data: codecs.Lineage{Status: "failed", Sources: []string{"s.orders"}, Targets: []string{"m.rev"},
		Columns: cols("m.rev:extra", "s.orders:x")}})
	rev = h.mustNode("acme", "default.m.rev")
	if rev.Columns["extra"] != nil {
		t.Error("a failed query added column lineage")
	}
	if e := rev.Upstream["default.s.orders"]; e.Count != 2 || e.Succeeded != 1 || e.Recent[0].Status != "failed" {
		t.Errorf("edge after failed query = %+v", e)
	}
}

func TestColumnDatasetsJoinTheEvent(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	h.send(ev{id: "e1", data: codecs.Lineage{Targets: []string{"m.rev"}, Columns: cols("m.rev:x", "s.extra:y")}})
	if e := h.mustNode("acme", "default.s.extra").Downstream["default.m.rev"]; e == nil {
		t.Error("a dataset named only by a column mapping got no edge")
	}
}

func TestBadNamesAreDeadLettered(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	for _, bad := range []codecs.Lineage{
		{Sources: []string{"a..b"}, Targets: []string{"t"}},
		{Sources: []string{"s"}, Targets: []string{"w.x.y.z"}},
		{Sources: []string{"s"}, Targets: []string{"t"}, Columns: cols("t:a..b", "s:c")},
	} {
		raw := encode(t, ev{id: "bad", data: bad})
		h.tt.Consume(topology.LineageEvents, "k", raw)
		hd, key, got, ok := h.dead.NextRawWithHeaders()
		if !ok {
			t.Fatalf("%+v: no dead letter", bad)
		}
		if key != "k" || string(got) != string(raw) || string(hd[stream.HeaderReason]) != string(codecs.ReasonInvalidValue) {
			t.Errorf("dead letter key %q reason %q, bytes kept %v", key, hd[stream.HeaderReason], string(got) == string(raw))
		}
	}
	if keys := h.tt.GetTableKeys(stream.Prefix(prefix).Table(lineage.Name)); len(keys) != 0 {
		t.Errorf("bad events touched state: %v", keys)
	}
	if _, _, ok := h.records.NextRaw(); ok {
		t.Error("a bad event yielded a lineage record")
	}
	h.tt.Consume(topology.LineageEvents, "k", []byte(`{"event_id":"x","event_type":"query.lineage","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"s","data":{"query_id":"q"}}`))
	if hd, _, _, ok := h.dead.NextRawWithHeaders(); !ok || string(hd[stream.HeaderReason]) != string(codecs.ReasonMissingField) {
		t.Errorf("schema violation not dead-lettered as missing_field")
	}
}

func TestBounds(t *testing.T) {
	c := lineage.DefaultConfig()
	c.RecentQueries, c.MaxEdges, c.RecentTraces, c.MaxColumns, c.MaxColumnLinks = 2, 2, 2, 1, 1
	h := newHarness(t, c)
	// Out of event-time order: the newest two by event time are kept. The
	// "hot" source's queries come 30 s after each other source's.
	for i, m := range []string{"03", "01", "04", "02"} {
		at := "2025-03-15T10:" + m + ":00Z"
		h.send(ev{id: fmt.Sprintf("e%d", i), at: at, data: codecs.Lineage{
			Sources: []string{fmt.Sprintf("s%d", i)}, Targets: []string{"t"}, TraceID: fmt.Sprintf("tr%d", i),
			Columns: cols(fmt.Sprintf("t:c%d", i), fmt.Sprintf("s%d:x", i)),
		}})
		h.send(ev{id: fmt.Sprintf("f%d", i), at: "2025-03-15T10:" + m + ":30Z", data: codecs.Lineage{Sources: []string{"hot"}, Targets: []string{"t"}}})
	}
	tn := h.mustNode("acme", "default.default.t")
	if len(tn.Upstream) != 2 || tn.Upstream["default.default.hot"] == nil || tn.Upstream["default.default.s2"] == nil {
		t.Errorf("edges kept = %v, want hot and s2 (most recently seen)", keys(tn.Upstream))
	}
	hot := tn.Upstream["default.default.hot"]
	if hot.Count != 4 || len(hot.Recent) != 2 || hot.Recent[0].EventID != "f2" || hot.Recent[1].EventID != "f0" {
		t.Errorf("hot edge = count %d recent %+v, want 4 and f2, f0", hot.Count, hot.Recent)
	}
	if len(tn.Traces) != 2 || tn.Traces[0].TraceID != "tr2" || tn.Traces[1].TraceID != "tr0" {
		t.Errorf("traces = %+v", tn.Traces)
	}
	if len(tn.Columns) != 1 || tn.Columns["c2"] == nil || tn.Evicted.Columns != 3 || tn.Evicted.Edges != 3 {
		t.Errorf("columns %v evicted %+v", keys(tn.Columns), tn.Evicted)
	}
	if !tn.FirstSeen.Equal(time.Date(2025, 3, 15, 10, 1, 0, 0, time.UTC)) || !tn.LastSeen.Equal(time.Date(2025, 3, 15, 10, 4, 30, 0, time.UTC)) {
		t.Errorf("first/last seen = %v / %v", tn.FirstSeen, tn.LastSeen)
	}
}

func TestDedupeWindow(t *testing.T) {
	c := lineage.DefaultConfig()
	c.DedupeWindow = 2
	h := newHarness(t, c)
	for _, id := range []string{"e1", "e2", "e3", "e3", "e2", "e1"} {
		h.send(ev{id: id, data: codecs.Lineage{Sources: []string{"s"}, Targets: []string{"t"}}})
	}
	// e3 and e2 are within the window of the last two; e1 had left it.
	if n := h.mustNode("acme", "default.default.t"); n.Events != 4 {
		t.Errorf("events = %d, want 4 (e1 redelivered past the window counts again)", n.Events)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The largest event the schema accepts — 256 datasets and 512 column
// references, every name at its 256-byte limit — yields a lineage record
// and node updates that each fit one Kafka record (1 MiB), so no input can
// make the group fail on the producer's limit.
func TestLargestAcceptedEventFitsOneRecordPerOutput(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	loop := h.tt.NewQueueTracker(topology.GroupLoop(string(stream.Prefix(prefix).Group(lineage.Name))))
	long := func(kind string, i int) string {
		s := fmt.Sprintf("%s%d_", kind, i)
		return s + strings.Repeat("x", 80-len(s))
	}
	ds := func(i int) string { return long("c", i) + "." + long("s", i) + "." + long("t", i) } // 242 bytes
	var d codecs.Lineage
	for i := range 128 {
		d.Sources = append(d.Sources, ds(i))
		d.Targets = append(d.Targets, ds(1000+i))
	}
	for i := range 256 {
		d.Columns = append(d.Columns, codecs.ColumnMapping{
			Target:  codecs.ColumnRef{Dataset: ds(1000 + i%128), Column: strings.Repeat("k", 250) + fmt.Sprint(i)},
			Sources: []codecs.ColumnRef{{Dataset: ds(i % 128), Column: strings.Repeat("v", 250) + fmt.Sprint(i)}},
		})
	}
	d.QueryID, d.SQLHash, d.TraceID, d.UserID = strings.Repeat("q", 256), strings.Repeat("h", 256), strings.Repeat("r", 256), strings.Repeat("u", 256)
	h.send(ev{id: "big", tenant: strings.Repeat("T", 128), at: "2025-03-15T10:00:00Z", data: d})

	const limit = 1 << 20
	_, rec, ok := h.records.NextRaw()
	if !ok {
		_, dl, _ := h.dead.NextRaw()
		t.Fatalf("no lineage record (dead letter: %.200s)", dl)
	}
	if len(rec) > limit {
		t.Errorf("lineage record is %d bytes", len(rec))
	}
	updates := 0
	for {
		_, u, ok := loop.NextRaw()
		if !ok {
			break
		}
		updates++
		if len(u) > limit {
			t.Errorf("node update is %d bytes", len(u))
		}
	}
	if updates != 256 {
		t.Errorf("%d node updates, want one per dataset (256)", updates)
	}
	t.Logf("record %d bytes, %d node updates", len(rec), updates)
}
