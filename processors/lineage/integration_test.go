package lineage_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// serveLineage serves the lineage read model over env.
func serveLineage(t testing.TB, env *stream.Env, prefix string, cfg lineage.Config) *httptest.Server {
	t.Helper()
	return kafkatest.ServeRead(t, env, prefix, lineage.NewModule(cfg))
}

// startAtEnd commits group's offsets on query-lineage-events at the
// topic's end: the input topic is shared by every run against the same
// broker, and a new group would otherwise first work through all that
// earlier runs left there.
func startAtEnd(t testing.TB, group string) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topology.LineageEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.CommitAllOffsets(ctx, group, ends.Offsets()); err != nil {
		t.Fatalf("commit start offsets of %s: %v", group, err)
	}
}

// getJSON fetches path as tenant into out and returns the status.
func getJSON(t testing.TB, srv *httptest.Server, tenant, path string, out any) int {
	return kafkatest.GetJSON(t, srv.URL+path, out, views.TenantHeader, tenant)
}

// TestIntegrationPipelineLineage runs a three-hop pipeline (export → raw → staging →
// mart) through the real processor and HTTP view.
func TestIntegrationPipelineLineage(t *testing.T) {
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(lineage.Module()))
	cfg := lineage.DefaultConfig()
	startAtEnd(t, string(stream.Prefix(prefix).Group(lineage.Name)))
	kafkatest.RunModules(t, env, prefix, lineage.NewModule(cfg))
	srv := serveLineage(t, env, prefix, cfg)

	tenant := "it-" + prefix // topics are shared between runs; the tenant is not
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	event := func(id string, status string, sources, targets []string, cols ...codecs.ColumnMapping) *kgo.Record {
		b, err := codecs.Encode(codecs.Envelope{EventID: id, EventType: codecs.TypeLineage, TenantID: tenant, Timestamp: codecs.NewTime(at), Source: "ai-service"},
			codecs.Lineage{QueryID: "q-" + id, SQL: "insert ... select ...", Dialect: "postgres", UserID: "u-1", TraceID: "trace-" + id,
				Status: status, Sources: sources, Targets: targets, Columns: cols})
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topology.LineageEvents, Key: []byte("q-" + id), Value: b}
	}
	m := func(target string, sources ...string) codecs.ColumnMapping {
		return cols(target, sources...)[0]
	}
	cl := kafkatest.Client(t)
	kafkatest.Produce(t, cl,
		event("e1", "success", []string{"ext.clicks_export"}, []string{"raw.clicks"}, m("raw.clicks:user_id", "ext.clicks_export:uid")),
		event("e2", "success", []string{"RAW.Clicks"}, []string{`"staging"."clicks"`}, m("staging.clicks:user_id", "raw.clicks:user_id")),
		event("e3", "success", []string{"staging.clicks", "staging.users"}, []string{"mart.daily_active"},
			m("mart.daily_active:active_users", "staging.clicks:user_id"), m("mart.daily_active:country", "staging.users:country")),
		// Redelivered, and a bad name: neither may change the graph.
		event("e3", "success", []string{"staging.clicks", "staging.users"}, []string{"mart.daily_active"},
			m("mart.daily_active:active_users", "staging.clicks:user_id"), m("mart.daily_active:country", "staging.users:country")),
		event("e4", "success", []string{"raw..clicks"}, []string{"mart.daily_active"}),
	)

	var g lineage.Graph
	kafkatest.Eventually(t, 60*time.Second, "mart lineage complete", func() bool {
		code := getJSON(t, srv, tenant, "/v1/lineage/mart.daily_active?direction=upstream", &g)
		return code == http.StatusOK && len(g.Nodes) == 5
	})
	nodes := func(g lineage.Graph) []string {
		var out []string
		for _, n := range g.Nodes {
			out = append(out, n.Dataset)
		}
		slices.Sort(out)
		return out
	}
	want := []string{"default.ext.clicks_export", "default.mart.daily_active", "default.raw.clicks", "default.staging.clicks", "default.staging.users"}
	if got := nodes(g); !slices.Equal(got, want) {
		t.Errorf("upstream of mart = %v, want %v", got, want)
	}
	for _, e := range g.Edges {
		if e.To == "default.mart.daily_active" && e.Queries.Count != 1 {
			t.Errorf("edge %s>%s counted %d times, want 1 (redelivery ignored)", e.From, e.To, e.Queries.Count)
		}
	}
	if len(g.Edges) != 4 {
		t.Errorf("upstream edges = %+v, want 4", g.Edges)
	}

	if code := getJSON(t, srv, tenant, "/v1/lineage/raw.clicks?direction=downstream", &g); code != http.StatusOK {
		t.Fatalf("downstream of raw: %d", code)
	}
	if got, want := nodes(g), []string{"default.mart.daily_active", "default.raw.clicks", "default.staging.clicks"}; !slices.Equal(got, want) {
		t.Errorf("downstream of raw = %v, want %v", got, want)
	}

	var cg lineage.ColumnGraph
	if code := getJSON(t, srv, tenant, "/v1/lineage/mart.daily_active/columns/active_users", &cg); code != http.StatusOK {
		t.Fatalf("column provenance: %d", code)
	}
	var chain []string
	for _, c := range cg.Columns {
		chain = append(chain, c.Dataset+"."+c.Column)
	}
	if want := []string{"default.mart.daily_active.active_users", "default.staging.clicks.user_id", "default.raw.clicks.user_id", "default.ext.clicks_export.uid"}; !slices.Equal(chain, want) {
		t.Errorf("provenance of active_users = %v, want %v", chain, want)
	}

	var other views.ErrorBody
	if code := getJSON(t, srv, "someone-else", "/v1/lineage/mart.daily_active", &other); code != http.StatusNotFound {
		t.Errorf("another tenant reading the mart: %d, want 404", code)
	}

	recs := kafkatest.ReadUntil(t, topology.LineageRecords, 60*time.Second,
		func(r *kgo.Record) bool { return strings.HasPrefix(string(r.Key), tenant+"|") },
		func(rs []*kgo.Record) bool { return len(rs) >= 4 })
	i := slices.IndexFunc(recs, func(r *kgo.Record) bool { return string(r.Key) == tenant+"|q-e3" })
	if i < 0 {
		t.Fatal("no lineage record of e3")
	}
	var rec struct {
		codecs.Envelope
		Data lineage.Record `json:"data"`
	}
	if err := json.Unmarshal(recs[i].Value, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.EventType != lineage.RecordType || len(rec.Data.Inputs) != 2 || rec.Data.Outputs[0].Name != "default.mart.daily_active" ||
		rec.Data.Outputs[0].ColumnLineage["active_users"][0].Name != "default.staging.clicks" {
		t.Errorf("record of e3 = %s", recs[i].Value)
	}
	dead := kafkatest.ReadUntil(t, topology.DeadLetters, 60*time.Second,
		func(r *kgo.Record) bool { return strings.Contains(string(r.Value), tenant) },
		func(rs []*kgo.Record) bool { return len(rs) >= 1 })
	if r := kafkatest.Header(dead[0], stream.HeaderReason); r != string(codecs.ReasonInvalidValue) {
		t.Errorf("bad name dead-lettered with reason %q", r)
	}
}
