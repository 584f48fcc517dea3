package responses

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// benchSignal is a learning signal of the size the context-graph group
// writes for a trace of the pipeline's shape: agents, decisions with
// alternatives, thinking steps, a span error.
func benchSignal(b testing.TB, n int, response string) []byte {
	b.Helper()
	score := 1 + n%5
	sig := codecs.Signal{
		SignalID: fmt.Sprintf("sig-%d", n), Revision: 1 + n%2, SignalType: codecs.SignalCorrection, Weight: 1.125,
		ResponseID: response, TraceID: fmt.Sprintf("trace-%d", n/2), SessionID: "sess-42", UserID: fmt.Sprintf("user-%d", n%7),
		Agent: "planner", Model: "gpt-4o",
		Feedback: codecs.SignalFeedback{EventID: fmt.Sprintf("fb-%d", n), Timestamp: codecs.NewTime(t0.Add(time.Duration(n) * time.Second)),
			Thumbs: "down", Score: &score, Categories: []string{"incorrect", "incomplete"}, Comment: "the answer cites the \"wrong\" table"},
		Context: codecs.SignalContext{
			Agents: []string{"router", "planner", "sql-writer"},
			Decisions: []codecs.SignalDecision{
				{DecisionID: "d-1", Agent: "router", DecisionType: "route", Chosen: "planner", Confidence: 0.82,
					Alternatives: []codecs.Alternative{{Option: "faq", Score: 0.11}, {Option: "human", Score: 0.07}}, Reason: "multi-step question"},
			},
			Thinking: []codecs.SignalThinking{
				{Agent: "planner", Step: 1, Kind: "plan", Content: strings.Repeat("look up the orders table, then join customers. ", 4)},
				{Agent: "planner", Step: 2, Kind: "reflect", Content: "the join needs customer_id"},
			},
			SpanErrors: []codecs.SignalSpanError{{SpanID: "sp-3", Agent: "sql-writer", Name: "run_sql", Type: "timeout", Message: "query exceeded 30s"}},
			Spans:      6, LatencyMS: 1834.25, Models: []string{"gpt-4o", "gpt-4o-mini"}, TokensIn: 1200, TokensOut: 340, ThinkingTokens: 88,
		},
	}
	raw, err := codecs.Encode(codecs.Envelope{
		EventID: fmt.Sprintf("ls-%d", n), EventType: codecs.SignalTypePrefix + sig.SignalType, TenantID: "acme",
		Timestamp: sig.Feedback.Timestamp, Source: "aistream",
	}, sig)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkResponsesHandler measures the group's handler on goka's tester
// (no broker): the signal's decode, the response's state decoded and
// encoded by the table codec, the entry's insertion and size accounting.
// "spread" gives each response 4 signals (the pipeline's shape: a few
// users rate a response); "hot-response" sends every signal to one
// response, which fills to MaxSignals (then each signal evicts one).
func BenchmarkResponsesHandler(b *testing.B) {
	run := func(b *testing.B, responseOf func(i int) string) {
		tt := tester.New(b)
		kafkatest.RunOnTester(b, tt, graph(stream.Options{Prefix: "bench"}, DefaultConfig()))
		const distinct = 4096
		msgs := make([][]byte, distinct)
		keys := make([]string, distinct)
		for i := range msgs {
			keys[i] = responseOf(i)
			msgs[i] = benchSignal(b, i, keys[i])
			keys[i] = codecs.TenantKey("acme", keys[i])
		}
		n := 0
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			tt.Consume(topology.LearningSignals, keys[n%distinct], msgs[n%distinct])
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("spread", func(b *testing.B) { run(b, func(i int) string { return fmt.Sprintf("resp-%d", i/4) }) })
	b.Run("hot-response", func(b *testing.B) { run(b, func(int) string { return "resp-hot" }) })
}

// BenchmarkDecodeSignal measures decodeKeyed alone.
func BenchmarkDecodeSignal(b *testing.B) {
	raw := benchSignal(b, 3, "resp-1")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := decodeKeyed(raw); err != nil {
			b.Fatal(err)
		}
	}
}
