package main

import (
	"testing"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// The progress line: events in per topic from the busiest group (every
// group reads its own copy), outputs only to the contract's topics, dead
// letters and lag summed.
func TestReadProgress(t *testing.T) {
	m := stream.NewMetrics()
	m.Consumed.WithLabelValues(topology.TraceEvents, "g1").Add(10)
	m.Consumed.WithLabelValues(topology.TraceEvents, "g2").Add(7)
	m.Consumed.WithLabelValues(topology.FeedbackEvents, "g1").Add(3)
	m.Consumed.WithLabelValues("aistream-context-graph-loop", "g1").Add(100)
	m.Produced.WithLabelValues(topology.Insights, "g1").Add(4)
	m.Produced.WithLabelValues(topology.DeadLetters, "g1").Add(50)
	m.Produced.WithLabelValues("aistream-context-graph-table", "g1").Add(100)
	m.DeadLetters.WithLabelValues(topology.TraceEvents, "decode").Add(2)
	m.Lag.WithLabelValues("g1", topology.TraceEvents, "0").Set(5)
	m.Lag.WithLabelValues("g1", topology.TraceEvents, "1").Set(6)
	p, err := readProgress(m)
	if err != nil {
		t.Fatal(err)
	}
	want := progress{EventsIn: 13, Outputs: 4, DeadLetters: 2, Lag: 11}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if got := p.String(); got != "progress: events in 13, outputs 4, dead letters 2, lag 11" {
		t.Errorf("line %q", got)
	}
}
