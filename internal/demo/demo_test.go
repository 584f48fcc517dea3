package demo

import (
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// Every event the demo means to be valid decodes and sits on its event
// type's topic; the malformed ones are rejected.
func TestDemoTrafficDecodes(t *testing.T) {
	topicOf := map[string]string{
		codecs.TypeFeedback: topology.FeedbackEvents, codecs.TypeThinking: topology.ThinkingEvents,
		codecs.TypeDecision: topology.DecisionEvents, codecs.TypeSpan: topology.TraceEvents,
		codecs.TypeMetrics: topology.MetricsEvents, codecs.TypeLineage: topology.LineageEvents, codecs.TypeAudit: topology.AuditEvents,
	}
	g := New(42)
	g.MalformedShare = 0.2
	var valid, rejected int
	seenTypes := map[string]bool{}
	for i := 0; i < 500; i++ {
		for _, r := range g.Trace(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)) {
			ev, err := codecs.Decoder{}.Decode(r.Value)
			if err != nil {
				rejected++
				continue
			}
			valid++
			seenTypes[ev.EventType] = true
			if topicOf[ev.EventType] != r.Topic {
				t.Fatalf("%s produced to %s", ev.EventType, r.Topic)
			}
		}
	}
	if len(seenTypes) != len(topicOf) {
		t.Errorf("demo covers %d event types, want %d: %v", len(seenTypes), len(topicOf), seenTypes)
	}
	// ~20% of 500 traces carry one malformed event.
	if rejected < 50 || rejected > 150 {
		t.Errorf("%d malformed events in 500 traces at share 0.2", rejected)
	}
	if valid < 3000 {
		t.Errorf("only %d valid events", valid)
	}
}
