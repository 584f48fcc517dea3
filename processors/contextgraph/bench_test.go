package contextgraph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// benchEvents is how many events each phase produces (AISTREAM_BENCH_EVENTS).
func benchEvents(b *testing.B) int {
	if s := os.Getenv("AISTREAM_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			b.Fatalf("AISTREAM_BENCH_EVENTS=%q: want an integer >= 100", s)
		}
		return n
	}
	return 20000
}

// BenchmarkContextGraph measures the pipeline on the test cluster, beside
// kafkatest.Baseline (a plain franz-go consume-and-produce of the same
// number of records) in the same run:
//
//   - graph-events/s: span events keyed by trace_id (8 per trace) into graph state;
//   - signals/s: feedback events on those traces to learning signals read back;
//   - p50-ms, p99-ms: produce-to-signal latency of feedback sent at 500/s
//     (so that queueing behind a burst does not dominate).
//
// Run against the real broker:
//
//	AISTREAM_TEST_KAFKA=127.0.0.1:19092 go test -run '^$' -bench . -benchtime 1x ./processors/contextgraph/
func BenchmarkContextGraph(b *testing.B) {
	n := benchEvents(b)
	var benchOut string
	env, prefix := kafkatest.Setup(b, func(prefix string) []topology.Group {
		benchOut = prefix + "-bench-out"
		return append(kafkatest.ModuleTopics(contextgraph.Module())(prefix), topology.Group{Name: prefix + "-bench", Partitions: 6, Extra: []string{benchOut}})
	})
	kafkatest.StartAtEnd(b, prefix, contextgraph.Module())
	group := string(stream.Prefix(prefix).Group(contextgraph.Name))
	kafkatest.RunModules(b, env, prefix, contextgraph.Module())
	spansConsumed := func(want int) func() bool {
		return func() bool { return consumed(env.Metrics, topology.TraceEvents, group) >= float64(want) }
	}

	tenant := "bench-" + prefix
	traces := n / 8
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	signals := readSignals(b, tenant)
	b.ResetTimer()
	for iter := range b.N {
		// Phase 1: agent events into graph state.
		start := time.Now()
		kafkatest.Fill(b, topology.TraceEvents, n, func(i int) *kgo.Record {
			trace := fmt.Sprintf("%s-%d-tr-%d", prefix, iter, i%traces)
			return benchRecord(trace, envelope(fmt.Sprintf("%s-%d-sp-%d", prefix, iter, i), codecs.TypeSpan, tenant, at,
				spanData(trace, "s"+strconv.Itoa(i/traces), at)))
		})
		kafkatest.Eventually(b, 10*time.Minute, "span events processed", spansConsumed((iter+1)*n))
		graphRate := float64(n) / time.Since(start).Seconds()

		// Phase 2: a burst of feedback into signals.
		before := signals.count()
		start = time.Now()
		kafkatest.Fill(b, topology.FeedbackEvents, n, func(i int) *kgo.Record {
			trace := fmt.Sprintf("%s-%d-tr-%d", prefix, iter, i%traces)
			return benchRecord(trace, feedbackEvent(fmt.Sprintf("%s-%d-fb-%d", prefix, iter, i), tenant, trace, at.Add(time.Minute)))
		})
		kafkatest.Eventually(b, 10*time.Minute, "signals of the burst read", func() bool { return signals.count() >= before+n })
		signalRate := float64(n) / time.Since(start).Seconds()

		// Phase 3: paced feedback for latency.
		cl := kafkatest.Client(b)
		paced := min(n/10, 1000)
		sent := make([]time.Time, paced)
		tick := time.NewTicker(2 * time.Millisecond)
		for i := range paced {
			<-tick.C
			trace := fmt.Sprintf("%s-%d-tr-%d", prefix, iter, i%traces)
			id := fmt.Sprintf("%s-%d-lat-%d", prefix, iter, i)
			sent[i] = time.Now()
			cl.Produce(context.Background(), benchRecord(trace, feedbackEvent(id, tenant, trace, at.Add(time.Minute))), nil)
		}
		tick.Stop()
		kafkatest.Eventually(b, 5*time.Minute, "paced signals read", func() bool { return signals.count() >= before+n+paced })
		lat := make([]float64, paced)
		for i := range paced {
			got := signals.receivedAt(fmt.Sprintf("%s-%d-lat-%d", prefix, iter, i))
			lat[i] = float64(got.Sub(sent[i]).Microseconds()) / 1000
		}
		slices.Sort(lat)

		baseline := kafkatest.Baseline(b, topology.FeedbackEvents, benchOut, n)
		b.ReportMetric(graphRate, "graph-events/s")
		b.ReportMetric(signalRate, "signals/s")
		b.ReportMetric(lat[len(lat)/2], "p50-ms")
		b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
		b.ReportMetric(baseline, "baseline-records/s")
	}
}

func consumed(m *stream.Metrics, topic, group string) float64 {
	var d dto.Metric
	if err := m.Consumed.WithLabelValues(topic, group).Write(&d); err != nil {
		panic(err)
	}
	return d.GetCounter().GetValue()
}

// benchRecord is a record of ev under key for ai-feedback-events (Fill sets
// the topic of what it produces).
func benchRecord(key string, ev map[string]any) *kgo.Record {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Key: []byte(key), Value: b, Topic: topology.FeedbackEvents}
}

func feedbackEvent(id, tenant, trace string, at time.Time) map[string]any {
	return envelope(id, codecs.TypeFeedback, tenant, at, map[string]any{
		"response_id": "resp-" + trace, "trace_id": trace, "session_id": "sess", "user_id": "u-" + id,
		"agent": "sql-agent", "model": "gpt-4o", "thumbs": "down", "comment": "wrong",
	})
}

// signalReader consumes ai-learning-signals in the background and notes
// when each signal of tenant arrived, by feedback event_id.
type signalReader struct {
	mu sync.Mutex
	at map[string]time.Time
}

func readSignals(b *testing.B, tenant string) *signalReader {
	r := &signalReader{at: map[string]time.Time{}}
	cl := kafkatest.Client(b, kgo.ConsumeTopics(topology.LearningSignals), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(rec *kgo.Record) {
				if !strings.HasPrefix(string(rec.Key), tenant+codecs.KeySeparator) {
					return
				}
				var env struct {
					Data codecs.Signal `json:"data"`
				}
				if json.Unmarshal(rec.Value, &env) != nil {
					return
				}
				r.mu.Lock()
				if _, ok := r.at[env.Data.Feedback.EventID]; !ok {
					r.at[env.Data.Feedback.EventID] = now
				}
				r.mu.Unlock()
			})
		}
	}()
	return r
}

func (r *signalReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}

func (r *signalReader) receivedAt(feedbackID string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at[feedbackID]
}
