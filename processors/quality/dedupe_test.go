package quality

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// redeliver hands the same bytes to the quality group again, as Kafka does
// after a crash or rebalance, or the AI Service retrying a send.
func (h *harness) redeliverMetric(raw []byte) { h.tt.Consume(topology.MetricsEvents, "", raw) }
func (h *harness) redeliverFeedback(raw []byte) {
	h.tt.Consume(topology.FeedbackEvents, "tr", raw)
}

func (h *harness) metricEvent(latency float64) []byte {
	return h.event(codecs.TypeMetrics, at(0, 10), &codecs.Metrics{Agent: "planner", Model: "gpt-4o", LatencyMS: latency, CostUSD: 0.002, Status: "ok"})
}

func (h *harness) feedbackEvent(thumbs string) []byte {
	return h.event(codecs.TypeFeedback, at(0, 20), &codecs.Feedback{ResponseID: "r", TraceID: "tr", SessionID: "s", UserID: "u", Agent: "planner", Model: "gpt-4o", Thumbs: thumbs})
}

// open is planner's open window's figures.
func (h *harness) open() Summary {
	h.t.Helper()
	s := h.state("planner")
	if s == nil || len(s.Windows.Open) != 1 {
		h.t.Fatalf("state %+v, want one open window", s)
	}
	return s.OpenSummaries()[0]
}

func TestRedeliveredMetricsEventIsCountedOnce(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	slow := h.metricEvent(1000)
	h.redeliverMetric(h.metricEvent(100))
	h.redeliverMetric(slow)
	h.redeliverMetric(slow)
	if n := h.state("planner").Windows.Open[0].Agg.Latency.N; n != 2 {
		t.Fatalf("latency sketch holds %d requests, want 2", n)
	}
	sum := h.open()
	if sum.Requests != 2 || sum.Models["gpt-4o"].Requests != 2 || sum.CostUSD != 0.004 {
		t.Fatalf("requests %d (gpt-4o %d), cost %v; want 2 requests, 0.004 usd", sum.Requests, sum.Models["gpt-4o"].Requests, sum.CostUSD)
	}
	// Counted twice, the slow request would be 2 of 3 and make p50 1000 ms.
	if math.Abs(sum.LatencyP50-100)/100 > 0.01 {
		t.Fatalf("p50 %v ms, want 100 (nearest rank of one 100 ms and one 1000 ms request)", sum.LatencyP50)
	}
}

func TestRedeliveredFeedbackIsCountedOnce(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	up := h.feedbackEvent("up")
	h.redeliverFeedback(up)
	h.redeliverFeedback(up)
	h.redeliverFeedback(h.feedbackEvent("down"))
	sum := h.open()
	if sum.Feedback != 2 || sum.Positive != 1 || sum.SatisfactionRate == nil || *sum.SatisfactionRate != 0.5 {
		t.Fatalf("feedback %d, positive %d, satisfaction %v; want 2, 1, 0.5", sum.Feedback, sum.Positive, sum.SatisfactionRate)
	}
}

func TestRedeliveryAfterRestartIsStillSkipped(t *testing.T) {
	first := newHarness(t, DefaultConfig())
	m, f := first.metricEvent(100), first.feedbackEvent("up")
	first.redeliverMetric(m)
	first.redeliverFeedback(f)
	saved, err := StateCodec{}.Encode(first.state("planner"))
	if err != nil {
		t.Fatal(err)
	}
	// A new process recovers the table from its encoded values.
	h := newHarness(t, DefaultConfig())
	h.seq = first.seq
	v, err := StateCodec{}.Decode(saved)
	if err != nil {
		t.Fatal(err)
	}
	h.tt.SetTableValue(stream.Prefix("test").Table(Name), codecs.TenantKey(tenant, "planner"), v)
	h.redeliverMetric(m)
	h.redeliverFeedback(f)
	again, err := StateCodec{}.Encode(h.state("planner"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, saved) {
		t.Fatalf("redelivery after restart changed the state: %+v", h.open())
	}
	h.redeliverMetric(h.metricEvent(200))
	if sum := h.open(); sum.Requests != 2 || sum.Feedback != 1 {
		t.Fatalf("requests %d, feedback %d; want 2 and 1", sum.Requests, sum.Feedback)
	}
}

func TestDedupeWindowKeepsTheLast512EventIdsAcrossTheCodec(t *testing.T) {
	p := &proc{cfg: DefaultConfig()}
	s := &State{Tenant: tenant, Agent: "planner"}
	ev := func(i int) *codecs.Event {
		e := metricsEvent(at(0, 0), &codecs.Metrics{Agent: "planner", Model: "m", LatencyMS: 100, Status: "ok"})
		e.EventID = fmt.Sprintf("bound-%d", i)
		return e
	}
	for i := range maxApplied + 1 {
		p.observe(s, ev(i))
	}
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := StateCodec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	s = v.(*State)
	if again, _ := (StateCodec{}).Encode(s); !bytes.Equal(again, raw) {
		t.Fatal("a wrapped window encodes differently after a round trip")
	}
	// Event 0 left the window when event 512 arrived; 1..512 are in it.
	for _, i := range []int{1, maxApplied, 0} {
		p.observe(s, ev(i))
	}
	if got := s.Windows.Open[0].Agg.Requests; got != maxApplied+2 {
		t.Fatalf("%d requests, want %d: only event 0, redelivered past the window, counts again", got, maxApplied+2)
	}
}
