package quality

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/window"
	"github.com/aistream/aistream/topology"
)

func TestIdleCloseKeepsASparseAgentsEventsInTheirWindows(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	// Wall time runs with event time (a year on), visits every 30 s; the
	// agent sends one request every 3 minutes, then goes quiet.
	wall := func(e time.Duration) time.Time { return t0.AddDate(1, 0, 0).Add(e) }
	for k := 0; k < 10; k++ {
		h.metric("sparse", t0.Add(time.Duration(k)*3*time.Minute), 100, "ok")
		for v := 30 * time.Second; v < 3*time.Minute; v += 30 * time.Second {
			h.visit(wall(time.Duration(k)*3*time.Minute + v))
		}
	}
	s := h.state("sparse")
	if s.Late != 0 {
		t.Fatalf("%d of a sparse agent's events late: idle close cut their windows short", s.Late)
	}
	var requests []int64 // newest first: [10:20) … [10:00)
	for _, w := range s.Recent {
		requests = append(requests, w.Requests)
	}
	if want := []int64{2, 2, 1, 2, 2}; !equal(requests, want) {
		t.Fatalf("closed windows' requests %v, want %v", requests, want)
	}
	// Truly quiet now: watermark 10:27, quiet since the visit at 10:27:30 of
	// wall time; [10:25,10:30) closes at 10:31, so after 4 minutes of quiet.
	h.visit(wall(31*time.Minute + 29*time.Second))
	if len(h.state("sparse").Windows.Open) != 1 {
		t.Fatal("last window closed before watermark + quiet time reached end + grace")
	}
	h.visit(wall(31*time.Minute + 30*time.Second))
	s = h.state("sparse")
	if len(s.Windows.Open) != 0 || s.Recent[0].ClosedBy != "idle" || s.Recent[0].Requests != 1 {
		t.Fatalf("quiet agent's last window not idle-closed: open %d, newest closed %+v", len(s.Windows.Open), s.Recent[0])
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFutureTimestampIsDeadLetteredAndDoesNotStallWindows(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	dl := h.tt.NewQueueTracker(topology.DeadLetters)
	m := &codecs.Metrics{Agent: "planner", Model: "gpt-4o", LatencyMS: 100, Status: "ok"}
	future := h.event(codecs.TypeMetrics, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), m)
	h.tt.Consume(topology.MetricsEvents, "", future, tester.WithTime(t0))
	hd, _, v, ok := dl.NextWithHeaders()
	if !ok || string(v.([]byte)) != string(future) || string(hd[stream.HeaderReason]) != string(codecs.ReasonInvalidValue) ||
		!strings.Contains(string(hd[stream.HeaderError]), "ahead of the record time") {
		t.Fatalf("event stamped 2030 in a 2025 record: dead letter %v, headers %q", ok, hd)
	}
	// Within the skew (and with ordinary record times) events count.
	h.tt.Consume(topology.MetricsEvents, "", h.event(codecs.TypeMetrics, t0.Add(30*time.Minute), &codecs.Metrics{Agent: "router", Model: "m", Status: "ok"}), tester.WithTime(t0))
	for k := 0; k < 3; k++ {
		h.tt.Consume(topology.MetricsEvents, "", h.event(codecs.TypeMetrics, at(0, k*20), m), tester.WithTime(at(0, k*20+1)))
	}
	if s := h.state("planner"); s == nil || s.Late != 0 || len(s.Windows.Open) != 1 || s.Windows.Open[0].Agg.Requests != 3 {
		t.Fatalf("real events after a future-stamped one: state %+v", s)
	}
	if s := h.state("router"); s == nil || len(s.Windows.Open) != 1 {
		t.Fatal("event 30m ahead of its record (within --quality-max-skew) rejected")
	}
	if _, _, ok := dl.Next(); ok {
		t.Fatal("an event within the skew was dead-lettered")
	}
	f := &codecs.Feedback{ResponseID: "r", TraceID: "tr", SessionID: "s", UserID: "u", Agent: "planner", Model: "gpt-4o", Thumbs: "up"}
	h.tt.Consume(string(stream.Prefix("test").Stream(FeedbackStream)), codecs.TenantKey(tenant, "planner"),
		h.event(codecs.TypeFeedback, t0.Add(2*time.Hour), f), tester.WithTime(t0))
	if _, _, ok := dl.Next(); !ok {
		t.Fatal("feedback 2h ahead of its record not dead-lettered")
	}
}

func TestGraceIsBoundedInWindows(t *testing.T) {
	c := DefaultConfig()
	c.Grace = 2 * c.Window
	if err := c.Validate(); err != nil {
		t.Fatalf("grace of two windows: %v", err)
	}
	c.Grace++
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "--quality-grace") {
		t.Fatalf("grace over two windows (unbounded open windows): %v", err)
	}
}

// metricsEvent builds a decoded event directly, as the decoder would.
// eventSeq numbers the events tests hand to observe: each needs its own
// event_id, or it is skipped as a redelivery.
var eventSeq atomic.Int64

func eventID() string { return fmt.Sprintf("evt-%d", eventSeq.Add(1)) }

func metricsEvent(ts time.Time, m *codecs.Metrics) *codecs.Event {
	return &codecs.Event{Envelope: codecs.Envelope{EventID: eventID(), EventType: codecs.TypeMetrics, TenantID: tenant, Timestamp: codecs.NewTime(ts)}, Payload: m}
}

func TestHugeValuesStayFiniteInSummariesInsightsAndBaseline(t *testing.T) {
	p := &proc{cfg: DefaultConfig()}
	s := &State{Tenant: tenant, Agent: "planner"}
	var out []*insights.Insight
	send := func(i int, cost float64) {
		for k := 0; k < 10; k++ {
			got, _, _ := p.observe(s, metricsEvent(at(i, k*20), &codecs.Metrics{Agent: "planner", Model: "m", LatencyMS: 1e308, CostUSD: cost, Status: "ok"}))
			out = append(out, got...)
		}
	}
	for i := 0; i < 5; i++ {
		send(i, 1e303) // x·1e6 overflows in rounding
	}
	send(5, 1e307)
	send(7, 1e303) // closes window 5
	for _, in := range out {
		if _, err := insights.Encode(tenant, in); err != nil {
			t.Fatalf("insight %+v does not encode: %v", in, err)
		}
	}
	if b := s.Base.CostPerRequest; math.Abs(b.Value/1e303-1) > 1e-9 || b.Windows < 3 {
		t.Fatalf("cost baseline %+v, want 1e303", b)
	}
	if !hasRule(deref(out), RuleCostAnomaly) {
		t.Fatalf("cost per request 1e307 vs baseline 1e303 did not fire: %+v", deref(out))
	}
	for _, w := range s.RecentSummaries() {
		if math.IsInf(w.CostUSD, 0) || math.IsInf(w.CostPerRequest, 0) || math.IsInf(w.LatencyP95, 0) {
			t.Fatalf("window summary not finite: %+v", w)
		}
	}
	// A baseline stored as +Inf (before values were kept finite) recovers.
	e := EWMA{Value: math.Inf(1), Windows: 7}
	e.learn(math.NaN(), 0.2)
	e.learn(2, 0.2)
	if e.Value != 2 || e.Windows != 8 {
		t.Fatalf("poisoned EWMA after learning 2: %+v", e)
	}
	e = EWMA{Value: math.MaxFloat64, Windows: 1}
	if e.learn(math.MaxFloat64, 0.2); math.IsInf(e.Value, 0) {
		t.Fatalf("EWMA overflowed: %+v", e)
	}
}

func deref(in []*insights.Insight) []insights.Insight {
	out := make([]insights.Insight, 0, len(in))
	for _, x := range in {
		out = append(out, *x)
	}
	return out
}

// long is a distinct name of the decoder's maximum length (256 bytes).
func long(prefix string, i int) string {
	s := prefix + "-" + strings.Repeat("x", 8) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
	return s + strings.Repeat("y", 256-len(s))
}

func encodedSize(t *testing.T, s *State) int {
	t.Helper()
	b, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestEncodedStateStaysUnderOneRecordForAdversarialInput(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Recent = 288
	cfg.Grace = maxGraceWindows * cfg.Window // the most open windows
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cfg: cfg}
	s := &State{Tenant: strings.Repeat("t", 128), Agent: long("agent", 0)}
	peak, errType := 0, 0
	metric := func(ts time.Time, model string, latency float64) {
		errType++
		p.observe(s, metricsEvent(ts, &codecs.Metrics{Agent: s.Agent, Model: model, LatencyMS: latency, CostUSD: 0.123456,
			Status: "error", ErrorType: long("error", errType)}))
	}
	feedback := func(ts time.Time) {
		f := &codecs.Feedback{Agent: s.Agent, Thumbs: "down", Categories: codecs.FeedbackCategories}
		p.observe(s, &codecs.Event{Envelope: codecs.Envelope{EventID: eventID(), EventType: codecs.TypeFeedback, TenantID: tenant, Timestamp: codecs.NewTime(ts)}, Payload: f})
	}
	// A day and more of windows, each with every breakdown full of new
	// maximum-length names (models, error types: new failure categories).
	const windows = 300
	for i := 0; i < windows; i++ {
		for k := 0; k < 2*maxErrorTypes; k++ {
			metric(at(i, k), long("model", k%(maxModels+3)), float64(k+1))
		}
		feedback(at(i, 100))
		peak = max(peak, encodedSize(t, s))
	}
	if len(s.Recent) < 20 {
		t.Fatalf("only %d closed windows retained", len(s.Recent))
	}
	// Then the open windows at their bound, every latency sketch at its bin
	// bound, with counts as heavy as 2^21 events per bin and window.
	gamma := (1 + window.DefaultAccuracy) / (1 - window.DefaultAccuracy)
	for i := windows; i < windows+maxGraceWindows+1; i++ {
		for m := 0; m <= maxModels; m++ {
			for x := 1e-9; x <= 1e9; x *= gamma {
				metric(at(i, 0), long("model", m), x)
			}
		}
	}
	if len(s.Windows.Open) != maxGraceWindows+1 {
		t.Fatalf("%d windows open, want the bound %d", len(s.Windows.Open), maxGraceWindows+1)
	}
	for i := range s.Windows.Open {
		a := &s.Windows.Open[i].Agg
		sketches := []*window.Sketch{&a.Latency}
		for _, m := range a.Models {
			sketches = append(sketches, &m.Latency)
		}
		if len(sketches) != maxModels+2 {
			t.Fatalf("%d sketches in a window", len(sketches))
		}
		for _, sk := range sketches {
			if len(sk.Index) < window.MaxBins-10 {
				t.Fatalf("sketch of %d bins, want about %d", len(sk.Index), window.MaxBins)
			}
			for j := range sk.Counts {
				sk.Counts[j] = 1<<21 - 1
			}
		}
	}
	peak = max(peak, encodedSize(t, s))
	if peak > maxStateBytes {
		t.Fatalf("encoded state reached %d bytes, bound %d", peak, maxStateBytes)
	}
	t.Logf("peak encoded state %d bytes, %d closed windows retained", peak, len(s.Recent))
}

func TestShortNamesKeepEveryRecentWindow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Recent = 288
	p := &proc{cfg: cfg}
	s := &State{Tenant: tenant, Agent: "planner"}
	for i := 0; i < 300; i++ {
		for k := 0; k < 20; k++ {
			p.observe(s, metricsEvent(at(i, k), &codecs.Metrics{Agent: "planner", Model: "gpt-" + string(rune('a'+k%9)), LatencyMS: float64(k + 1), Status: "error", ErrorType: "timeout-" + string(rune('a'+k))}))
		}
	}
	if len(s.Recent) != cfg.Recent {
		t.Fatalf("%d closed windows retained, want --quality-recent-windows %d", len(s.Recent), cfg.Recent)
	}
}
