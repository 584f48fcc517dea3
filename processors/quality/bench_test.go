package quality

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// benchEvents are pre-encoded metrics events for keys agents, event time
// advancing 1 s per event so windows keep closing, as in a live stream.
func benchEvents(b *testing.B, h *harness, agents []string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		m := &codecs.Metrics{Agent: agents[i%len(agents)], Model: fmt.Sprintf("m%d", i%2), LatencyMS: float64(50 + i%400), TokensIn: 100, TokensOut: 40, CostUSD: 0.001, Status: "ok"}
		out[i] = h.event(codecs.TypeMetrics, t0.Add(time.Duration(i)*time.Second), m)
	}
	return out
}

// BenchmarkHandlerWithTester drives the quality group on goka's tester: the
// handler, codecs and goka's callback path, no broker. Agents are chosen on
// the tester's one partition so none needs re-keying.
func BenchmarkHandlerWithTester(b *testing.B) {
	h := newHarness(b, DefaultConfig())
	var agents []string
	for i := 0; len(agents) < 100; i++ {
		a := fmt.Sprintf("agent-%d", i)
		if topology.PartitionFor([]byte(codecs.TenantKey(tenant, a)), mustPartitions(topology.MetricsEvents)) == 0 {
			agents = append(agents, a)
		}
	}
	events := benchEvents(b, h, agents, 10000)
	i := 0
	start := time.Now()
	for b.Loop() {
		ev := events[i%len(events)]
		var env struct{ Data struct{ Agent string } }
		_ = json.Unmarshal(ev, &env)
		h.tt.Consume(topology.MetricsEvents, codecs.TenantKey(tenant, env.Data.Agent), ev)
		i++
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAggregation is the handler's own work without goka: decode the
// event, load the state (StateCodec), window it, store the state.
func BenchmarkAggregation(b *testing.B) {
	p := &proc{cfg: DefaultConfig()}
	h := &harness{t: b}
	agents := make([]string, 1000)
	for i := range agents {
		agents[i] = fmt.Sprintf("agent-%d", i)
	}
	events := benchEvents(b, h, agents, 20000)
	states := map[string][]byte{}
	var dec codecs.Decoder
	var codec StateCodec
	i := 0
	start := time.Now()
	for b.Loop() {
		ev, err := dec.Decode(events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
		// Each pass over events is new deliveries, not redeliveries that
		// the dedupe window would skip.
		ev.EventID = strconv.Itoa(i)
		k := key(ev)
		s := &State{Tenant: tenant, Agent: ev.Payload.(*codecs.Metrics).Agent}
		if raw, ok := states[k]; ok {
			v, _ := codec.Decode(raw)
			s = v.(*State)
		}
		p.observe(s, ev)
		if states[k], err = codec.Encode(s); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkStateMemory10kKeys builds 10,000 active tenant×agent states, each
// with a full history (12 closed windows, baseline) and an open window of 20
// requests over 2 models, and reports the table bytes per key (StateCodec,
// what storage and the table topic hold) and the heap bytes per key of the
// decoded states.
func BenchmarkStateMemory10kKeys(b *testing.B) {
	const keys = 10000
	p := &proc{cfg: DefaultConfig()}
	h := &harness{t: b}
	var dec codecs.Decoder
	proto := &State{Tenant: tenant, Agent: "agent"}
	var evs []*codecs.Event
	for w := 0; w < 14; w++ {
		for k := 0; k < 20; k++ {
			m := &codecs.Metrics{Agent: "agent", Model: fmt.Sprintf("m%d", k%2), LatencyMS: float64(80 + (w*7+k*13)%300), TokensIn: 100, TokensOut: 40, CostUSD: 0.001, Status: "ok"}
			ev, err := dec.Decode(h.event(codecs.TypeMetrics, t0.Add(time.Duration(w)*5*time.Minute+time.Duration(k)*14*time.Second), m))
			if err != nil {
				b.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
	for _, ev := range evs {
		p.observe(proto, ev)
	}
	raw, err := StateCodec{}.Encode(proto)
	if err != nil {
		b.Fatal(err)
	}
	var heapPerKey float64
	for b.Loop() {
		states := make([]*State, keys)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range states {
			v, _ := StateCodec{}.Decode(raw)
			states[i] = v.(*State)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heapPerKey = float64(after.HeapAlloc-before.HeapAlloc) / keys
		runtime.KeepAlive(states)
	}
	b.ReportMetric(float64(len(raw)), "table-bytes/key")
	b.ReportMetric(heapPerKey, "heap-bytes/key")
	b.ReportMetric(float64(len(raw))*keys/(1<<20), "table-MiB/10k-keys")
	b.ReportMetric(heapPerKey*keys/(1<<20), "heap-MiB/10k-keys")
}

func mustPartitions(topic string) int32 {
	n, ok := topology.PartitionsOf(topic)
	if !ok {
		panic(topic + " is not a contract topic")
	}
	return n
}
