package quality_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
)

// BenchmarkQualityOnCluster measures agent-metrics events/s through the
// running agent-quality group (1000 tenant×agent keys, keyed tenant|agent
// so no re-keying, event time advancing 1 s per event so windows close and
// insights rules run), beside kafkatest.Baseline in the same run. Events:
// AISTREAM_BENCH_EVENTS (default 20000). Against the real broker:
//
//	AISTREAM_TEST_KAFKA=127.0.0.1:19092 go test -run '^$' -bench QualityOnCluster -benchtime 1x ./processors/quality/
func BenchmarkQualityOnCluster(b *testing.B) {
	n := 20000
	if s := os.Getenv("AISTREAM_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 100 {
			b.Fatalf("AISTREAM_BENCH_EVENTS=%q: want an integer >= 100", s)
		}
		n = v
	}
	var out string
	env, prefix := kafkatest.Setup(b, func(prefix string) []topology.Group {
		out = prefix + "-bench-out"
		return append(kafkatest.ModuleTopics(quality.Module(), insights.Module())(prefix), topology.Group{Name: prefix + "-bench", Partitions: 3, Extra: []string{out}})
	})
	backlog := kafkatest.EndOffsets(b, topology.MetricsEvents)
	kafkatest.RunModules(b, env, prefix, quality.Module(), insights.Module())
	consumed := testutil.ToFloat64
	counter := env.Metrics.Consumed.WithLabelValues(topology.MetricsEvents, prefix+"-"+quality.Name)
	// A new group starts at the earliest offset: work off what other tests
	// left in the shared topic before timing.
	kafkatest.Eventually(b, 5*time.Minute, "backlog processed", func() bool { return consumed(counter) >= float64(backlog) })
	tenant := "bench-" + prefix
	b.ResetTimer()
	for iter := range b.N {
		start := time.Now()
		kafkatest.Fill(b, topology.MetricsEvents, n, func(i int) *kgo.Record {
			agent := fmt.Sprintf("agent-%d", i%1000)
			ts := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC).Add(time.Duration(iter*n+i) * time.Second)
			r := metricsRecord(b, codecs.TenantKey(tenant, agent), tenant, agent, i, ts, float64(50+i%400))
			r.Topic = ""
			return r
		})
		want := float64(backlog) + float64((iter+1)*n)
		kafkatest.Eventually(b, 10*time.Minute, "events processed", func() bool { return consumed(counter) >= want })
		rate := float64(n) / time.Since(start).Seconds()
		baseline := kafkatest.Baseline(b, topology.MetricsEvents, out, n)
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(baseline, "baseline-records/s")
	}
}
