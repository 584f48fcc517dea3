package contextgraph_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// pyRecord is a line printed by testdata/python/consume_signals.py: what
// aiokafka's json.loads made of a learning signal.
type pyRecord struct {
	Key   string `json:"key"`
	Value struct {
		EventID   string        `json:"event_id"`
		EventType string        `json:"event_type"`
		TenantID  string        `json:"tenant_id"`
		Timestamp string        `json:"timestamp"`
		Source    string        `json:"source"`
		Data      codecs.Signal `json:"data"`
	} `json:"value"`
}

// consume runs the Python consumer until it has read n signals keyed key
// that the group writer wrote (other deployments on the broker write the
// same signals: README "Delivery and crashes").
func consume(t *testing.T, py, bootstrap, group, writer, key string, n int) []pyRecord {
	t.Helper()
	// Generous: the pipeline processes every test's records on the shared
	// input topics before this test's, which on a busy broker takes minutes.
	out := kafkatest.RunPython(t, py, "consume_signals.py", 6*time.Minute,
		"--bootstrap", bootstrap, "--group", group, "--key", key, "--count", strconv.Itoa(n), "--timeout", "300",
		"--writer-group", writer)
	var recs []pyRecord
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r pyRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("consumer printed %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestIntegrationPythonClients: the AI Service's aiokafka producer publishes feedback,
// then the trace it rates; its aiokafka consumer reads back the learning
// signal (revision 1 without context) and one revision per trace event, all
// under one signal_id, the last with the full context.
func TestIntegrationPythonClients(t *testing.T) {
	py := kafkatest.Python(t)
	p := startPipeline(t, contextgraph.DefaultConfig())
	bootstrap := strings.Join(kafkatest.Brokers(t), ",")
	trace, resp, fb := p.prefix+"-pytrace", p.prefix+"-pyresp", p.prefix+"-pyfb"
	key := codecs.TenantKey("acme", resp)
	args := []string{"--bootstrap", bootstrap, "--tenant", "acme", "--trace", trace, "--response", resp,
		"--feedback-id", fb, "--at", "2025-03-15T10:00:00Z"}

	// The consumers' groups start at the end of ai-learning-signals, as an
	// AI Service that has consumed before does: reading the shared topic's
	// history from the earliest offset took minutes on a busy broker.
	py1, py2 := p.prefix+"-py1", p.prefix+"-py2"
	kafkatest.CommitAtEnd(t, py1, topology.LearningSignals)
	kafkatest.CommitAtEnd(t, py2, topology.LearningSignals)

	kafkatest.RunPython(t, py, "produce_feedback.py", time.Minute, append(args, "--events", "feedback")...)
	writer := string(stream.Prefix(p.prefix).Group(contextgraph.Name))
	first := consume(t, py, bootstrap, py1, writer, key, 1)[0]
	v := first.Value
	if v.EventType != "learning_signal.correction" || v.Source != "aistream" || v.TenantID != "acme" || v.Timestamp != "2025-03-15T10:00:00Z" ||
		v.Data.SignalID != contextgraph.SignalID("acme", fb) || v.Data.Revision != 1 || !v.Data.Context.Missing ||
		v.Data.Feedback.Comment == "" || v.Data.TraceID != trace {
		t.Fatalf("first signal = %+v", v)
	}

	kafkatest.RunPython(t, py, "produce_feedback.py", time.Minute, append(args, "--events", "trace")...)
	all := consume(t, py, bootstrap, py2, writer, key, 4)
	for i, r := range all {
		if r.Value.Data.SignalID != v.Data.SignalID || r.Value.Data.Revision != i+1 {
			t.Errorf("signal %d: id %s revision %d, want %s revision %d", i, r.Value.Data.SignalID, r.Value.Data.Revision, v.Data.SignalID, i+1)
		}
	}
	c := all[3].Value.Data.Context
	if c.Missing || c.Spans != 1 || len(c.Decisions) != 1 || len(c.Decisions[0].Alternatives) != 1 || len(c.Thinking) != 1 ||
		len(c.SpanErrors) != 1 || c.SpanErrors[0].Type != "timeout" || c.TokensIn != 800 || len(c.Agents) != 2 {
		t.Errorf("latest context = %+v", c)
	}
	if w := all[3].Value.Data.Weight; w != 1.125 { // correction 1.5 × score 2 → 0.75 × context 1
		t.Errorf("weight = %v", w)
	}
}
