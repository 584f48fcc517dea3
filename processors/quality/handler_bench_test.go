package quality

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// demoRecords are the metrics and feedback events of the demo traffic
// (internal/demo, what "aistream bench" produces), at least n of them. With
// hot, every one is rewritten onto one tenant×agent, as the bench's
// hot-agent phase does; event ids stay distinct.
func demoRecords(b testing.TB, n int, hot bool) []demo.Record {
	gen := demo.New(7)
	gen.MalformedShare = 0
	at := t0
	var out []demo.Record
	for len(out) < n {
		for _, r := range gen.Trace(at) {
			if r.Topic != topology.MetricsEvents && r.Topic != topology.FeedbackEvents {
				continue
			}
			if hot {
				r = hotRecord(b, r)
			}
			out = append(out, r)
		}
		at = at.Add(10 * time.Millisecond)
	}
	return out
}

// BenchmarkQualityHandlerDemo drives the router and agent-quality groups on
// goka's tester (no broker) with the bench's traffic: "spread" is the demo
// mix over its tenants × agents, "hot" the same events on one tenant×agent.
// A hot key's state is the biggest (a full dedupe window, wide sketches),
// so the difference between the two is what a hot key costs per event.
func BenchmarkQualityHandlerDemo(b *testing.B) {
	for _, c := range []struct {
		name string
		hot  bool
	}{{"spread", false}, {"hot", true}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(b, DefaultConfig())
			recs := demoRecords(b, b.N, c.hot)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := recs[i]
				h.tt.Consume(r.Topic, string(r.Key), r.Value)
			}
		})
	}
}

// TestStateCacheChangesNothing runs the same traffic (the demo mix spread
// and on one hot key, event time moving fast enough to close windows and
// fire rules, every tenth event delivered twice, idle visits) through the
// groups with the table codec's state cache and without it: the insights
// and every stored state must be byte for byte the same.
func TestStateCacheChangesNothing(t *testing.T) {
	run := func(noCache bool) (out [][]byte, states map[string][]byte) {
		cfg := DefaultConfig()
		cfg.noStateCache = noCache
		h := newHarness(t, cfg)
		var recs []demo.Record
		for _, hot := range []bool{false, true} {
			gen := demo.New(11)
			gen.MalformedShare = 0
			at := t0
			if hot {
				at = t0.Add(6 * time.Hour)
			}
			for range 600 {
				for _, r := range gen.Trace(at) {
					if r.Topic != topology.MetricsEvents && r.Topic != topology.FeedbackEvents {
						continue
					}
					if hot {
						r = hotRecord(t, r)
					}
					recs = append(recs, r)
				}
				at = at.Add(3 * time.Second)
			}
		}
		for i, r := range recs {
			h.tt.Consume(r.Topic, string(r.Key), r.Value)
			if i%10 == 0 {
				h.tt.Consume(r.Topic, string(r.Key), r.Value)
			}
			if i%500 == 0 {
				h.visit(t0.Add(time.Duration(i) * time.Minute))
			}
		}
		var raw [][]byte
		for {
			key, v, ok := h.out.Next()
			if !ok {
				break
			}
			raw = append(raw, append([]byte(key+" "), v.([]byte)...))
		}
		states = map[string][]byte{}
		for _, tn := range demo.Tenants() {
			for _, a := range append(demo.Agents(), "sql-agent") {
				k := codecs.TenantKey(tn, a)
				if v := h.tt.TableValue(stream.Prefix("test").Table(Name), k); v != nil {
					b, err := StateCodec{}.Encode(v)
					if err != nil {
						t.Fatal(err)
					}
					states[k] = b
				}
			}
		}
		return raw, states
	}
	out, states := run(false)
	plainOut, plainStates := run(true)
	if len(out) < 10 || len(states) < 5 {
		t.Fatalf("the traffic produced %d insights and %d states: too little to compare", len(out), len(states))
	}
	if len(out) != len(plainOut) {
		t.Fatalf("%d insights with the cache, %d without", len(out), len(plainOut))
	}
	for i := range out {
		if !bytes.Equal(out[i], plainOut[i]) {
			t.Fatalf("insight %d differs:\n%s\n%s", i, out[i], plainOut[i])
		}
	}
	if len(states) != len(plainStates) {
		t.Fatalf("%d states with the cache, %d without", len(states), len(plainStates))
	}
	for k, b := range states {
		if !bytes.Equal(b, plainStates[k]) {
			t.Fatalf("state %s differs", k)
		}
	}
}

// hotRecord moves a demo record onto tenant|sql-agent.
func hotRecord(t testing.TB, r demo.Record) demo.Record {
	var env map[string]any
	if err := json.Unmarshal(r.Value, &env); err != nil {
		t.Fatal(err)
	}
	env["tenant_id"], env["data"].(map[string]any)["agent"] = tenant, "sql-agent"
	v, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	r.Value = v
	if r.Topic == topology.MetricsEvents {
		r.Key = []byte(codecs.TenantKey(tenant, "sql-agent"))
	}
	return r
}
