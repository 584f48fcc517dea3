package contextgraph

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// hostile is a string of n bytes that grows most when encoded as JSON ('<',
// '>', '&' and U+2028 may become 6-byte escapes, quotes and controls 2-6),
// starting with unique so that ids and names stay distinct.
func hostile(unique string, n int) string {
	s := unique + strings.Repeat("<<<<>>>>&&&&\u2028\"\x01é\\", n/16+1)
	return clip(s, n)
}

// TestEncodedGraphFitsOneRecord fills a trace past its default byte budget
// with entries of every kind whose strings are built to expand when encoded,
// then drops events whose ids the graph remembers: the encoded graph must
// stay one Kafka record.
func TestEncodedGraphFitsOneRecord(t *testing.T) {
	c := DefaultConfig()
	h := newHarness(t, c)
	const trace = "tr-big"
	id := func(kind string, i int) string { return hostile(fmt.Sprintf("%s%d", kind, i), 256) }
	name := func(kind string, i int) string { return hostile(fmt.Sprintf("%s%d", kind, i), 256) }
	for i := range 8 {
		alts := []map[string]any{}
		for k := range maxAlternatives {
			alts = append(alts, map[string]any{"option": name(fmt.Sprintf("opt%d-", k), i), "score": 0.5})
		}
		h.event(decision(id("d", i), trace, time.Duration(i)*time.Millisecond).with("decision_id", name("dec", i)).
			with("agent", name("dagent", i)).with("decision_type", name("dt", i)).with("chosen", name("ch", i)).
			with("reason", hostile("r", clipText)).with("alternatives", alts))
	}
	for i := range 8 {
		h.event(thinking(id("t", i), trace, time.Duration(i)*time.Millisecond, i).with("agent", name("tagent", i)).
			with("kind", name("kind", i)).with("span_id", name("tspan", i)).with("content", hostile("c", clipContent)))
	}
	for i := range 2 {
		h.event(feedback(id("f", i), trace, time.Minute, "down").with("user_id", name("user", i)).
			with("session_id", name("session", i)).with("comment", hostile("x", 8<<10)))
	}
	for i := range 100 {
		h.event(span(id("s", i), trace, time.Duration(i)*time.Millisecond, true).
			with("span_id", name("span", i)).with("parent_span_id", name("parent", i)).with("agent", name("agent", i)).
			with("name", name("name", i)).with("model", name("model", i)).
			with("error", map[string]any{"type": name("type", i), "message": hostile("m", clipText)}))
	}
	for i := range 70 { // past the budget: dropped, their ids remembered
		h.event(thinking(id("late", i), trace, time.Hour, 1000+i).with("content", hostile("c", clipContent)))
	}
	h.drain()
	g := h.graph(trace)
	if g == nil {
		t.Fatal("no graph")
	}
	raw, err := codecs.JSON[Graph]{}.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, v, ok := h.dead.NextRaw(); ok {
		t.Fatalf("an event was dead-lettered, the test does not reach the bounds: %.300s", v)
	}
	if limit := 900 << 10; len(raw) > limit {
		t.Errorf("encoded graph is %d bytes, over %d (%d spans, %d decisions, %d steps, %d feedback, %d seen; approx_bytes %d)",
			len(raw), limit, len(g.Spans), len(g.Decisions), len(g.Thinking), len(g.Feedback), len(g.DroppedFeedback.Marks), g.Bytes)
	}
	if !g.Truncated.Bytes || g.Bytes > c.MaxStateBytes || len(g.Decisions) < 8 || len(g.Thinking) < 8 || len(g.Feedback) != 2 {
		t.Errorf("byte budget not applied or applied too early: truncated %+v, approx_bytes %d, kept %d decisions, %d steps, %d feedback", g.Truncated, g.Bytes, len(g.Decisions), len(g.Thinking), len(g.Feedback))
	}
	t.Logf("encoded graph %d bytes, approx_bytes %d, truncated %+v", len(raw), g.Bytes, g.Truncated)
}
