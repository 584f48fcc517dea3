package contextgraph

import (
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

// BenchmarkContextGraphHandler measures the group's handlers on goka's
// tester (no broker): strict decode, the graph decoded and encoded by the
// table codec, apply, signals. "spread" has the shape of the pipeline's
// traffic (8 events per trace: a decision, thinking steps, spans, a
// feedback); "hot-trace" sends every event to one trace, which grows to
// its bounds (then each event costs a lookup).
func BenchmarkContextGraphHandler(b *testing.B) {
	run := func(b *testing.B, traceOf func(i int) string) {
		tt := tester.New(b)
		kafkatest.RunOnTester(b, tt, graph(stream.Options{Prefix: prefix}, DefaultConfig()))
		n := 0
		b.ResetTimer()
		for b.Loop() {
			trace := traceOf(n)
			id := fmt.Sprintf("ev-%d", n)
			at := time.Duration(n) * time.Millisecond
			var e env
			switch n % 8 {
			case 0:
				e = decision(id, trace, at)
			case 1, 2, 3:
				e = thinking(id, trace, at, n%8)
			case 7:
				e = feedback(id, trace, at, "down")
			default:
				e = span(id, trace, at, n%16 == 5)
			}
			tt.Consume(e.topic(), trace, e.bytes())
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("spread", func(b *testing.B) { run(b, func(i int) string { return fmt.Sprintf("trace-%d", i/8) }) })
	b.Run("hot-trace", func(b *testing.B) { run(b, func(int) string { return "trace-hot" }) })
}
