package contextgraph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/responses"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// pipeline runs both groups and the views on the test cluster.
type pipeline struct {
	prefix string
	api    *httptest.Server
}

func startPipeline(t *testing.T, c contextgraph.Config) *pipeline {
	t.Helper()
	mods := []*stream.Module{contextgraph.NewModule(c), responses.Module()}
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(mods...))
	kafkatest.StartAtEnd(t, prefix, mods...)
	o := stream.Options{Prefix: stream.Prefix(prefix), Metrics: env.Metrics}
	return &pipeline{prefix: prefix, api: kafkatest.Serve(t, env, o, mods...)}
}

// get fetches path as tenant; ok is false unless the answer is 200.
func (p *pipeline) get(t *testing.T, path, tenant string, out any) bool {
	return kafkatest.GetJSON(t, p.api.URL+path, out, views.TenantHeader, tenant) == http.StatusOK
}

func record(topic, key string, ev map[string]any) *kgo.Record {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: b}
}

func envelope(id, typ, tenant string, at time.Time, data map[string]any) map[string]any {
	return map[string]any{"event_id": id, "event_type": typ, "tenant_id": tenant, "timestamp": at.Format(time.RFC3339Nano), "source": "ai-service", "data": data}
}

func spanData(trace, id string, at time.Time) map[string]any {
	return map[string]any{
		"trace_id": trace, "span_id": id, "agent": "sql-agent", "name": "run_sql", "status": "ok",
		"start_time": at.Format(time.RFC3339Nano), "end_time": at.Add(time.Second).Format(time.RFC3339Nano), "model": "gpt-4o",
	}
}

// TestIntegrationTraceEndToEnd: events keyed by trace_id with a murmur2 client are found
// by the view under that key, also those produced under another key or on
// another partition; malformed ones land in the dead-letter topic; feedback
// becomes a learning signal readable through the responses view.
func TestIntegrationTraceEndToEnd(t *testing.T) {
	p := startPipeline(t, contextgraph.DefaultConfig())
	trace, resp := p.prefix+"-trace", p.prefix+"-resp"
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

	cl := kafkatest.Client(t)
	kafkatest.Produce(t, cl,
		record(topology.ThinkingEvents, trace, envelope(p.prefix+"-th", codecs.TypeThinking, "acme", at, map[string]any{
			"trace_id": trace, "agent": "sql-agent", "step": 1, "content": "plan the query"})),
		record(topology.DecisionEvents, trace, envelope(p.prefix+"-dec", codecs.TypeDecision, "acme", at, map[string]any{
			"trace_id": trace, "decision_id": "d1", "agent": "router", "decision_type": "route", "chosen": "sql-agent", "confidence": 0.9})),
		record(topology.TraceEvents, trace, envelope(p.prefix+"-sp1", codecs.TypeSpan, "acme", at, spanData(trace, "s1", at))),
		// Keyed by something else, as a producer keying by session would.
		record(topology.TraceEvents, "session-9", envelope(p.prefix+"-sp2", codecs.TypeSpan, "acme", at, spanData(trace, "s2", at))),
		// Feedback keyed by response_id.
		record(topology.FeedbackEvents, resp, envelope(p.prefix+"-fb", codecs.TypeFeedback, "acme", at.Add(time.Minute), map[string]any{
			"response_id": resp, "trace_id": trace, "session_id": "sess", "user_id": "u1", "agent": "sql-agent",
			"model": "gpt-4o", "thumbs": "up"})),
	)
	// Right key, wrong partition (as librdkafka's CRC32 partitioner may pick).
	manual := kafkatest.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	wrong := record(topology.TraceEvents, trace, envelope(p.prefix+"-sp3", codecs.TypeSpan, "acme", at, spanData(trace, "s3", at)))
	n, _ := topology.PartitionsOf(topology.TraceEvents)
	wrong.Partition = (topology.PartitionFor([]byte(trace), n) + 1) % n
	kafkatest.Produce(t, manual, wrong)
	malformed := []byte(`{"event_id": "` + p.prefix + `-bad", "event_type": "agent.span", "tenant_id": "acme"`)
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.TraceEvents, Key: []byte(trace), Value: malformed})

	var g contextgraph.Graph
	kafkatest.Eventually(t, 60*time.Second, "trace view shows 3 spans and the feedback", func() bool {
		return p.get(t, "/v1/traces/"+trace, "acme", &g) && len(g.Spans) == 3 && len(g.Feedback) == 1 && len(g.Thinking) == 1 && len(g.Decisions) == 1
	})
	if g.TenantID != "acme" || g.Feedback[0].SignalID != contextgraph.SignalID("acme", p.prefix+"-fb") {
		t.Errorf("graph = %+v", g)
	}
	if p.get(t, "/v1/traces/"+trace, "globex", &g) {
		t.Error("another tenant sees the trace")
	}

	dead := kafkatest.ReadUntil(t, topology.DeadLetters, 60*time.Second, func(r *kgo.Record) bool {
		return kafkatest.Header(r, stream.HeaderGroup) == string(stream.Prefix(p.prefix).Group(contextgraph.Name))
	}, func(rs []*kgo.Record) bool { return len(rs) >= 1 })
	if d := dead[0]; string(d.Value) != string(malformed) || string(d.Key) != trace ||
		kafkatest.Header(d, stream.HeaderReason) != string(codecs.ReasonNotJSON) || kafkatest.Header(d, stream.HeaderTopic) != topology.TraceEvents {
		t.Errorf("dead letter: key %q reason %q topic %q value %q", d.Key, kafkatest.Header(d, stream.HeaderReason), kafkatest.Header(d, stream.HeaderTopic), d.Value)
	}

	var body responses.ResponseFeedback
	kafkatest.Eventually(t, 60*time.Second, "responses view shows the feedback", func() bool {
		return p.get(t, fmt.Sprintf("/v1/responses/%s/feedback", resp), "acme", &body) && len(body.Feedback) == 1
	})
	if s := body.Signals[0]; s.SignalType != codecs.SignalPositive || !s.Current || s.Feedback.Thumbs != "up" {
		t.Errorf("signal = %+v", s)
	}
}
