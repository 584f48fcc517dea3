package lineage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// BenchmarkLineageThroughput measures lineage events/s through the real
// processor (decode, normalise, fan-out through the loop, node updates, one
// lineage record each) beside the plain-client baseline in the same run. Each
// event reads two of 1000 datasets and writes a third, with two column
// mappings: three node updates per event. Run with -benchtime=1x.
// benchEvent is the benchmarks' lineage event number i: it reads datasets
// ds(7i) and ds(7i+1) and writes ds(7i+2), with two column mappings.
func benchEvent(b *testing.B, id, tenant string, at time.Time, i int, ds func(int) string) []byte {
	v, err := codecs.Encode(codecs.Envelope{EventID: id, EventType: codecs.TypeLineage, TenantID: tenant,
		Timestamp: codecs.NewTime(at.Add(time.Duration(i) * time.Millisecond)), Source: "ai-service"},
		codecs.Lineage{QueryID: fmt.Sprintf("q-%d", i%500), SQLHash: "h", Dialect: "postgres", UserID: "u", TraceID: fmt.Sprintf("tr-%d", i), Status: "success",
			Sources: []string{ds(i * 7), ds(i*7 + 1)}, Targets: []string{ds(i*7 + 2)},
			Columns: []codecs.ColumnMapping{
				{Target: codecs.ColumnRef{Dataset: ds(i*7 + 2), Column: "a"}, Sources: []codecs.ColumnRef{{Dataset: ds(i * 7), Column: "x"}}},
				{Target: codecs.ColumnRef{Dataset: ds(i*7 + 2), Column: "b"}, Sources: []codecs.ColumnRef{{Dataset: ds(i*7 + 1), Column: "y"}}},
			}})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func BenchmarkLineageThroughput(b *testing.B) {
	const n = 20000
	env, prefix := kafkatest.Setup(b, func(p string) []topology.Group {
		return append(kafkatest.ModuleTopics(lineage.Module())(p), topology.Group{Name: p + "-baseline", Partitions: mustPartitions(topology.LineageEvents), Extra: []string{p + "-baseline-out"}})
	})
	tenant := "bench-" + prefix
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	ds := func(i int) string { return fmt.Sprintf("wh.layer%d.table%d", i%5, i%1000) }
	startAtEnd(b, string(stream.Prefix(prefix).Group(lineage.Name)))
	before := kafkatest.EndOffsets(b, topology.LineageEvents)
	kafkatest.Fill(b, topology.LineageEvents, n, func(i int) *kgo.Record {
		v := benchEvent(b, fmt.Sprintf("%s-%d", prefix, i), tenant, at, i, ds)
		return &kgo.Record{Key: []byte(fmt.Sprintf("q-%d", i)), Value: v}
	})
	total := kafkatest.EndOffsets(b, topology.LineageEvents) - before
	group := string(stream.Prefix(prefix).Group(lineage.Name))
	loop := topology.GroupLoop(group)
	consumed := func(topic string) int64 {
		return int64(testutil.ToFloat64(env.Metrics.Consumed.WithLabelValues(topic, group)))
	}
	// The clock starts at the first consumed event, not at the group's
	// rebalance.
	started := make(chan time.Time, 1)
	go func() {
		for consumed(topology.LineageEvents) == 0 {
			time.Sleep(time.Millisecond)
		}
		started <- time.Now()
	}()
	b.ResetTimer()
	kafkatest.RunModules(b, env, prefix, lineage.Module())
	kafkatest.Eventually(b, 10*time.Minute, "all lineage events consumed", func() bool { return consumed(topology.LineageEvents) >= total })
	loopEnd := kafkatest.EndOffsets(b, loop)
	kafkatest.Eventually(b, 10*time.Minute, "all node updates applied", func() bool { return consumed(loop) >= loopEnd })
	elapsed := time.Since(<-started)
	b.StopTimer()
	// The baseline reads the topic from its start: the same kind of records.
	baseline := kafkatest.Baseline(b, topology.LineageEvents, prefix+"-baseline-out", int(total))
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(loopEnd)/elapsed.Seconds(), "node-updates/s")
	b.ReportMetric(baseline, "baseline-records/s")
	b.ReportMetric(float64(total), "events")
}

// BenchmarkLineageGraphQuery measures GET /v1/lineage/{dataset}?depth=5
// (both directions) on a 10,000-node graph held by a real view (LevelDB
// storage recovered from the table topic): ten layers of 1000 datasets, each
// reading three of the layer before. The root sits in the middle layer.
func BenchmarkLineageGraphQuery(b *testing.B) {
	const layers, width, fanIn = 10, 1000, 3
	env, prefix := kafkatest.Setup(b, kafkatest.ModuleTopics(lineage.Module()))
	cfg := lineage.DefaultConfig()
	tenant := "bench-" + prefix
	at := codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC))
	name := func(l, i int) string { return fmt.Sprintf("wh.l%d.t%d", l, i) }
	nodes := map[string]*lineage.Node{}
	node := func(d string) *lineage.Node {
		if nodes[d] == nil {
			nodes[d] = &lineage.Node{TenantID: tenant, Dataset: d, FirstSeen: at, LastSeen: at, Events: 1,
				Upstream: map[string]*lineage.Edge{}, Downstream: map[string]*lineage.Edge{}}
		}
		return nodes[d]
	}
	for l := 0; l < layers; l++ {
		for i := 0; i < width; i++ {
			t := node(name(l, i))
			if l == 0 {
				continue
			}
			for k := 0; k < fanIn; k++ {
				s := name(l-1, (i*7+k*331)%width)
				e := &lineage.Edge{Count: 3, Succeeded: 3, FirstSeen: at, LastSeen: at}
				for q := 0; q < 3; q++ {
					e.Recent = append(e.Recent, lineage.QueryRef{QueryID: fmt.Sprintf("q-%d-%d-%d", l, i, q), SQLHash: "h", Dialect: "postgres", UserID: "u", Status: "success", EventID: fmt.Sprintf("e-%d-%d-%d", l, i, q), At: at})
				}
				t.Upstream[s] = e
				node(s).Downstream[t.Dataset] = e
			}
		}
	}
	var recs []*kgo.Record
	table := string(stream.Prefix(prefix).Table(lineage.Name))
	for d, n := range nodes {
		v, err := lineage.NodeCodec{}.Encode(n)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: table, Key: []byte(codecs.TenantKey(tenant, d)), Value: v})
	}
	kafkatest.Fill(b, table, len(recs), func(i int) *kgo.Record { return recs[i] })
	srv := serveLineage(b, env, prefix, cfg)
	path := "/v1/lineage/" + name(layers/2, 17) + "?depth=5"
	var g lineage.Graph
	if code := getJSON(b, srv, tenant, path, &g); code != http.StatusOK || g.Depth != 5 {
		b.Fatalf("graph query: %d, depth %d", code, g.Depth)
	}
	// Time the handler itself (no TCP), as a client of the view sees it
	// minus the network.
	h := srv.Config.Handler
	req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(context.Background())
	req.Header.Set(views.TenantHeader, tenant)
	// A just-created table topic's partitions may reconnect once right after
	// the view first reports ready (503 meanwhile): wait for a stable view.
	ok := 0
	kafkatest.Eventually(b, 60*time.Second, "view answers steadily", func() bool {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if ok = ok + 1; w.Code != http.StatusOK {
			ok = 0
		}
		return ok >= 20
	})
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		took = append(took, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(g.Nodes)), "nodes")
	b.ReportMetric(float64(len(g.Edges)), "edges")
	b.ReportMetric(float64(len(nodes)), "graph-nodes")
}

func mustPartitions(topic string) int32 {
	n, ok := topology.PartitionsOf(topic)
	if !ok {
		panic(topic + " is not a contract topic")
	}
	return n
}
