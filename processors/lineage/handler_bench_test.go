package lineage_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
)

// BenchmarkLineageHandler measures the group's handlers on goka's tester (no
// broker): decode, fan-out through the loop and node updates, state encoded
// and decoded by the table codec on every update. "spread" has the shape of
// BenchmarkLineageThroughput (two of 1000 datasets read, a third written,
// two column mappings); "at-bounds" updates nodes already holding their
// bounds (100 edges each way with 20 recent queries, 256 columns), the
// worst case of a node update.
func BenchmarkLineageHandler(b *testing.B) {
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	run := func(b *testing.B, ds func(int) string, prepare func(tt *tester.Tester)) {
		tt := tester.New(b)
		kafkatest.RunModuleOnTester(b, tt, prefix, lineage.Module())
		prepare(tt)
		// Every event is new (a repeated one would be a no-op redelivery);
		// encoding one is a small part of processing it.
		n := 0
		b.ResetTimer()
		for b.Loop() {
			tt.Consume(topology.LineageEvents, "k", benchEvent(b, fmt.Sprintf("ev-%d", n), "acme", at, n, ds))
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(3*n)/b.Elapsed().Seconds(), "node-updates/s")
	}
	b.Run("spread", func(b *testing.B) {
		run(b, func(i int) string { return fmt.Sprintf("wh.layer%d.table%d", i%5, i%1000) }, func(*tester.Tester) {})
	})
	b.Run("at-bounds", func(b *testing.B) {
		const hot = 8
		ds := func(i int) string { return fmt.Sprintf("wh.hot.table%d", i%hot) }
		run(b, ds, func(tt *tester.Tester) {
			c := lineage.DefaultConfig()
			old := codecs.NewTime(at.Add(-time.Hour))
			for h := 0; h < hot; h++ {
				tt.SetTableValue(stream.Prefix(prefix).Table(lineage.Name), codecs.TenantKey("acme", ds(h)), fullNode(c, ds(h), old))
			}
		})
	})
}

// fullNode is a node of dataset d at the bounds of c, last seen at at.
func fullNode(c lineage.Config, d string, at codecs.Time) *lineage.Node {
	n := &lineage.Node{TenantID: "acme", Dataset: d, FirstSeen: at, LastSeen: at, Events: 1000,
		Upstream: map[string]*lineage.Edge{}, Downstream: map[string]*lineage.Edge{}, Columns: map[string]*lineage.Column{}}
	edge := func(other string) *lineage.Edge {
		e := &lineage.Edge{Count: int64(c.RecentQueries), Succeeded: int64(c.RecentQueries), FirstSeen: at, LastSeen: at}
		for q := 0; q < c.RecentQueries; q++ {
			e.Recent = append(e.Recent, lineage.QueryRef{QueryID: fmt.Sprintf("query-%s-%d", other, q), SQLHash: "3f2a9c0d5e7b1a4c",
				Dialect: "postgres", UserID: "user-17", TraceID: fmt.Sprintf("trace-%s-%d", other, q), Status: "success",
				EventID: fmt.Sprintf("event-%s-%d", other, q), At: at})
		}
		return e
	}
	for i := 0; i < c.MaxEdges; i++ {
		n.Upstream[fmt.Sprintf("wh.src.table%d", i)] = edge(fmt.Sprintf("up%d", i))
		n.Downstream[fmt.Sprintf("wh.dst.table%d", i)] = edge(fmt.Sprintf("down%d", i))
	}
	for i := 0; i < c.MaxColumns; i++ {
		col := &lineage.Column{LastSeen: at}
		for k := 0; k < 2; k++ {
			col.Upstream = append(col.Upstream, lineage.ColumnLink{Dataset: fmt.Sprintf("wh.src.table%d", (i+k)%c.MaxEdges), Column: fmt.Sprintf("col%d", k), QueryID: "query-x", LastSeen: at})
		}
		n.Columns[fmt.Sprintf("column_%d", i)] = col
	}
	for i := 0; i < c.RecentTraces; i++ {
		n.Traces = append(n.Traces, lineage.TraceRef{TraceID: fmt.Sprintf("trace-%d", i), QueryID: "query-x", UserID: "user-17", At: at})
	}
	return n
}

// BenchmarkLineageHandlerDemo runs the group on goka's tester with the
// lineage events of the demo traffic (internal/demo, what "aistream bench"
// produces): "spread" as generated, "hot" with every event reading one
// dataset, as the bench's hot-dataset phase rewrites them (one tenant, one
// source, no column mappings).
func BenchmarkLineageHandlerDemo(b *testing.B) {
	for _, hot := range []bool{false, true} {
		b.Run(map[bool]string{false: "spread", true: "hot"}[hot], func(b *testing.B) {
			tt := tester.New(b)
			kafkatest.RunModuleOnTester(b, tt, prefix, lineage.Module())
			recs := demoLineage(b, b.N, hot)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tt.Consume(topology.LineageEvents, string(recs[i].Key), recs[i].Value)
			}
		})
	}
}

func demoLineage(b testing.TB, n int, hot bool) []demo.Record {
	gen := demo.New(7)
	gen.MalformedShare = 0
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	var out []demo.Record
	for len(out) < n {
		for _, r := range gen.Trace(at) {
			if r.Topic != topology.LineageEvents {
				continue
			}
			if hot {
				var env map[string]any
				if err := json.Unmarshal(r.Value, &env); err != nil {
					b.Fatal(err)
				}
				data := env["data"].(map[string]any)
				env["tenant_id"], data["sources"], data["columns"] = "acme-corp", []string{"raw.hot.dataset"}, []any{}
				v, err := json.Marshal(env)
				if err != nil {
					b.Fatal(err)
				}
				r.Value = v
			}
			out = append(out, r)
		}
		at = at.Add(10 * time.Millisecond)
	}
	return out
}
