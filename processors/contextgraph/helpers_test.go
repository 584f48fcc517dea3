package contextgraph

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

const prefix = "test"

// t0 is the event time tests count from.
var t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

// harness runs the context-graph group on goka's tester.
type harness struct {
	t       *testing.T
	tt      *tester.Tester
	signals *tester.QueueTracker
	dead    *tester.QueueTracker
	loop    *tester.QueueTracker
	memo    *TableCodec // the group table's codec
}

func newHarness(t *testing.T, c Config) *harness {
	t.Helper()
	tt := tester.New(t)
	gg := graph(stream.Options{Prefix: prefix}, c)
	kafkatest.RunOnTester(t, tt, gg)
	return &harness{
		t: t, tt: tt, memo: gg.GroupTable().Codec().(*TableCodec),
		signals: tt.NewQueueTracker(topology.LearningSignals),
		dead:    tt.NewQueueTracker(topology.DeadLetters),
		loop:    tt.NewQueueTracker(string(stream.Prefix(prefix).Loop(Name))),
	}
}

// send consumes raw on topic under key.
func (h *harness) send(topic, key string, raw []byte) { h.tt.Consume(topic, key, raw) }

// event sends an envelope on the topic its type belongs to, keyed by trace.
func (h *harness) event(e env) { h.send(e.topic(), e.trace(), e.bytes()) }

func (h *harness) graph(trace string) *Graph {
	v := h.tt.TableValue(stream.Prefix(prefix).Table(Name), trace)
	if v == nil {
		return nil
	}
	// A copy, as the table holds it: the value may be the group's memo entry
	// (TableCodec), which later events change.
	b, err := GraphCodec{}.Encode(v)
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := GraphCodec{}.Decode(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.(*Graph)
}

// received is an emitted learning signal.
type received struct {
	Key string
	Env codecs.Envelope
	Sig codecs.Signal
}

// drain returns the signals emitted since the last call.
func (h *harness) drain() []received {
	h.t.Helper()
	var out []received
	for {
		key, v, ok := h.signals.Next()
		if !ok {
			return out
		}
		var r received
		r.Key = key
		if err := json.Unmarshal(v.([]byte), &r.Env); err != nil {
			h.t.Fatal(err)
		}
		if err := json.Unmarshal(r.Env.Data, &r.Sig); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
}

// one asserts that exactly one signal was emitted since the last drain.
func (h *harness) one() received {
	h.t.Helper()
	got := h.drain()
	if len(got) != 1 {
		h.t.Fatalf("want 1 signal, got %d: %+v", len(got), got)
	}
	return got[0]
}

func (h *harness) none() {
	h.t.Helper()
	if got := h.drain(); len(got) != 0 {
		h.t.Fatalf("want no signal, got %d: %+v", len(got), got)
	}
}

// env is a test event.
type env struct {
	id, typ, tenant string
	at              time.Time
	data            map[string]any
}

func (e env) trace() string { return e.data["trace_id"].(string) }

func (e env) topic() string {
	switch e.typ {
	case codecs.TypeThinking:
		return topology.ThinkingEvents
	case codecs.TypeDecision:
		return topology.DecisionEvents
	case codecs.TypeSpan:
		return topology.TraceEvents
	}
	return topology.FeedbackEvents
}

func (e env) bytes() []byte {
	tenant := e.tenant
	if tenant == "" {
		tenant = "acme"
	}
	// Without HTML escaping, as the AI Service (Python json.dumps) writes.
	b, err := codecs.Marshal(map[string]any{
		"event_id": e.id, "event_type": e.typ, "tenant_id": tenant,
		"timestamp": e.at.Format(time.RFC3339Nano), "source": "ai-service", "data": e.data,
	})
	if err != nil {
		panic(err)
	}
	return b
}

func (e env) as(tenant string) env { e.tenant = tenant; return e }

func thinking(id, trace string, at time.Duration, step int) env {
	return env{id: id, typ: codecs.TypeThinking, at: t0.Add(at), data: map[string]any{
		"trace_id": trace, "agent": "sql-agent", "step": step, "kind": "plan",
		"content": fmt.Sprintf("step %d of %s", step, trace), "tokens": 10,
	}}
}

func decision(id, trace string, at time.Duration) env {
	return env{id: id, typ: codecs.TypeDecision, at: t0.Add(at), data: map[string]any{
		"trace_id": trace, "decision_id": "dec-" + id, "agent": "router", "decision_type": "route",
		"chosen": "sql-agent", "confidence": 0.87,
		"alternatives": []map[string]any{{"option": "rag-agent", "score": 0.31}},
	}}
}

func span(id, trace string, at time.Duration, failed bool) env {
	d := map[string]any{
		"trace_id": trace, "span_id": "span-" + id, "agent": "sql-agent", "name": "generate_sql", "status": "ok",
		"start_time": t0.Add(at).Format(time.RFC3339Nano), "end_time": t0.Add(at + 2*time.Second).Format(time.RFC3339Nano),
		"model": "gpt-4o", "tokens_in": 100, "tokens_out": 20,
	}
	if failed {
		d["status"] = "error"
		d["error"] = map[string]any{"type": "timeout", "message": "warehouse did not answer"}
	}
	return env{id: id, typ: codecs.TypeSpan, at: t0.Add(at + 2*time.Second), data: d}
}

func feedback(id, trace string, at time.Duration, thumbs string) env {
	return env{id: id, typ: codecs.TypeFeedback, at: t0.Add(at), data: map[string]any{
		"response_id": "resp-" + trace, "trace_id": trace, "session_id": "sess-1", "user_id": "user-1",
		"agent": "sql-agent", "model": "gpt-4o", "thumbs": thumbs,
	}}
}

func (e env) with(k string, v any) env {
	d := map[string]any{}
	for k, v := range e.data {
		d[k] = v
	}
	d[k] = v
	e.data = d
	return e
}
