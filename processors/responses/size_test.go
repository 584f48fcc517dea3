package responses

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// long is a string of at most n bytes of characters JSON encoders may
// escape to 6 bytes, prefixed by unique.
func long(unique string, n int) string {
	s := (unique + strings.Repeat("<>&\u2028", n/6+1))[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// TestResponseFitsOneRecord sends MaxSignals signals at the sizes the
// context-graph group can produce (a trace of hundreds of agents and models,
// 256-byte ids, 8 KiB comments), with strings that expand when encoded: the
// stored response must stay one Kafka record, keep the newest signal and say
// what it cut.
func TestResponseFitsOneRecord(t *testing.T) {
	c := DefaultConfig()
	h := newHarness(t, c)
	var agents, models []string
	for i := range 100 {
		agents = append(agents, long(fmt.Sprintf("agent%d", i), 256))
		models = append(models, long(fmt.Sprintf("model%d", i), 256))
	}
	for i := range c.MaxSignals {
		id := long(fmt.Sprintf("sig%d", i), 256)
		at := codecs.NewTime(t0.Add(time.Duration(i) * time.Second))
		b, err := codecs.Encode(codecs.Envelope{
			EventID: long(fmt.Sprintf("ev%d", i), 256), EventType: "learning_signal.correction", TenantID: "acme", Timestamp: at, Source: "aistream",
		}, codecs.Signal{
			SignalID: id, Revision: 1, SignalType: "correction", ResponseID: "resp-1", UserID: long(fmt.Sprintf("user%d", i), 256),
			TraceID: long("trace", 256), SessionID: long("session", 256), Agent: long("agent", 256), Model: long("model", 256),
			Supersedes: long("prev", 256), SupersededBy: long("next", 256),
			Feedback: codecs.SignalFeedback{EventID: long(fmt.Sprintf("fb%d", i), 256), Timestamp: at, Thumbs: "down",
				Comment: long("comment", 8<<10), Categories: []string{long("cat", 256)}},
			Context: codecs.SignalContext{Agents: agents, Models: models},
		})
		if err != nil {
			t.Fatal(err)
		}
		h.tt.Consume(topology.LearningSignals, "acme|resp-1", b)
	}
	r := h.response(t)
	raw, err := codecs.JSON[Response]{}.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if limit := 900 << 10; len(raw) > limit {
		t.Errorf("encoded response is %d bytes, over %d (%d signals)", len(raw), limit, len(r.Signals))
	}
	last := r.Signals[len(r.Signals)-1]
	if last.SignalID != long(fmt.Sprintf("sig%d", c.MaxSignals-1), 256) || r.Dropped != c.MaxSignals-len(r.Signals) {
		t.Errorf("kept %d signals, dropped %d; want the newest kept and the rest counted", len(r.Signals), r.Dropped)
	}
	if len(last.Context.Agents) != 16 || len(last.Context.Models) != 16 || !last.Context.Truncated || last.Context.Agents[0] != agents[0] {
		t.Errorf("summary lists %d agents, %d models, truncated %v: want the first 16 of each and truncated",
			len(last.Context.Agents), len(last.Context.Models), last.Context.Truncated)
	}
}
