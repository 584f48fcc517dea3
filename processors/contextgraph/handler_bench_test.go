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
		gg := graph(stream.Options{Prefix: prefix}, DefaultConfig())
		kafkatest.RunOnTester(b, tt, gg)
		memo := gg.GroupTable().Codec().(*TableCodec)
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
		b.ReportMetric(float64(memo.misses())/float64(n), "decodes/ev")
	}
	b.Run("spread", func(b *testing.B) { run(b, func(i int) string { return fmt.Sprintf("trace-%d", i/8) }) })
	b.Run("hot-trace", func(b *testing.B) { run(b, func(int) string { return "trace-hot" }) })
}

// hotGraph is the graph of BenchmarkContextGraphHandler's hot trace after n
// events (at its bounds from about 1,500 on).
func hotGraph(b *testing.B, n int) *Graph {
	tt := tester.New(b)
	gg := graph(stream.Options{Prefix: prefix}, DefaultConfig())
	kafkatest.RunOnTester(b, tt, gg)
	for i := range n {
		id, at := fmt.Sprintf("ev-%d", i), time.Duration(i)*time.Millisecond
		var e env
		switch i % 8 {
		case 0:
			e = decision(id, "trace-hot", at)
		case 1, 2, 3:
			e = thinking(id, "trace-hot", at, i%8)
		case 7:
			e = feedback(id, "trace-hot", at, "down")
		default:
			e = span(id, "trace-hot", at, i%16 == 5)
		}
		tt.Consume(e.topic(), "trace-hot", e.bytes())
	}
	return tt.TableValue(stream.Prefix(prefix).Table(Name), "trace-hot").(*Graph)
}

// BenchmarkGraphCodec measures the table codec on a graph at its bounds:
// encode, decode, and the memo's hit (a lookup and a compare of the bytes).
func BenchmarkGraphCodec(b *testing.B) {
	g := hotGraph(b, 3000)
	enc, _ := GraphCodec{}.Encode(g)
	b.Logf("graph: %d encoded bytes, %d counted (JSON)", len(enc), g.Bytes)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			GraphCodec{}.Encode(g)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			GraphCodec{}.Decode(enc)
		}
	})
	b.Run("memo-encode", func(b *testing.B) {
		m := newTableCodec()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			m.Encode(g)
		}
	})
	b.Run("memo-hit", func(b *testing.B) {
		m := newTableCodec()
		m.Encode(g)
		cp := append([]byte(nil), enc...) // as leveldb returns it: a copy
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			m.Decode(cp)
		}
	})
}
