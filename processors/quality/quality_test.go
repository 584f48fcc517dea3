package quality

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/topology"
)

var t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

const tenant = "acme-corp"

// harness runs the router, quality and insights groups on one goka tester.
type harness struct {
	t       testing.TB
	tt      *tester.Tester
	quality *goka.Processor
	out     *tester.QueueTracker
	m       *stream.Metrics
	seq     int
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	tt := tester.New(t)
	m := stream.NewMetrics()
	h := &harness{t: t, tt: tt, m: m}
	o := stream.Options{Prefix: "test", Metrics: m}
	mods := []*stream.Module{NewModule(cfg), insights.Module()}
	var (
		graphs []*goka.GroupGraph
		names  []string
	)
	for _, mod := range mods {
		for _, g := range mod.Groups {
			graphs = append(graphs, g.Graph(o))
			names = append(names, g.Name)
		}
	}
	for i, p := range kafkatest.RunOnTester(t, tt, graphs...) {
		if names[i] == Name {
			h.quality = p
		}
	}
	h.out = tt.NewQueueTracker(topology.Insights)
	return h
}

func (h *harness) event(typ string, ts time.Time, payload any) []byte {
	h.t.Helper()
	h.seq++
	b, err := codecs.Encode(codecs.Envelope{
		EventID: fmt.Sprintf("evt-%d", h.seq), EventType: typ, TenantID: tenant,
		Timestamp: codecs.NewTime(ts), Source: "ai-service",
	}, payload)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// metric sends one agent.metrics event, keyed by nothing as the AI Service may.
func (h *harness) metric(agent string, ts time.Time, latency float64, status string) {
	h.t.Helper()
	m := &codecs.Metrics{Agent: agent, Model: "gpt-4o", LatencyMS: latency, TokensIn: 100, TokensOut: 50, CostUSD: 0.002, Status: status}
	if status == "error" {
		m.ErrorType = "timeout"
	}
	h.tt.Consume(topology.MetricsEvents, "", h.event(codecs.TypeMetrics, ts, m))
}

func (h *harness) feedback(agent string, ts time.Time, thumbs string, categories ...string) {
	h.t.Helper()
	f := &codecs.Feedback{ResponseID: "r", TraceID: "tr", SessionID: "s", UserID: "u", Agent: agent, Model: "gpt-4o", Thumbs: thumbs, Categories: categories}
	h.tt.Consume(topology.FeedbackEvents, "tr", h.event(codecs.TypeFeedback, ts, f))
}

// window sends n ok requests of the given latency spread over window i
// (10:00 + 5m·i), 20 s apart.
func (h *harness) window(agent string, i, n int, latency float64) {
	for k := 0; k < n; k++ {
		h.metric(agent, at(i, k*20), latency, "ok")
	}
}

func at(window, sec int) time.Time {
	return t0.Add(time.Duration(window)*5*time.Minute + time.Duration(sec)*time.Second)
}

func (h *harness) state(agent string) *State {
	v := h.tt.TableValue(stream.Prefix("test").Table(Name), codecs.TenantKey(tenant, agent))
	s, _ := v.(*State)
	return s
}

// insights returns the insight events emitted since the last call.
func (h *harness) insights() (raw [][]byte, out []insights.Insight) {
	h.t.Helper()
	for {
		key, v, ok := h.out.Next()
		if !ok {
			return raw, out
		}
		b := v.([]byte)
		tn, in, err := insights.Decode(b)
		if err != nil || tn != tenant || key != tenant {
			h.t.Fatalf("bad insight event (key %q): %v: %s", key, err, b)
		}
		raw = append(raw, b)
		out = append(out, *in)
	}
}

func (h *harness) visit(now time.Time) {
	h.t.Helper()
	if err := h.quality.VisitAll(context.Background(), IdleVisit, now); err != nil {
		h.t.Fatal(err)
	}
	h.tt.Catchup()
}

func TestWindowsOutOfOrderWithinGraceAndLatePastGrace(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.metric("planner", at(0, 60), 100, "ok")
	h.metric("planner", at(1, 30), 200, "ok")     // next window opens
	h.metric("planner", at(0, 240), 300, "error") // out of order, within grace
	h.feedback("planner", at(0, 250), "down", "incorrect")
	h.metric("planner", at(1, 61), 400, "ok") // watermark 10:06:01 closes [10:00)
	s := h.state("planner")
	if s == nil || len(s.Recent) != 1 {
		t.Fatalf("want one closed window, state %+v", s)
	}
	w := s.Recent[0]
	if w.Requests != 2 || w.Errors != 1 || w.Feedback != 1 || w.LatencyP95 != 300 || w.ClosedBy != "watermark" || w.TokensIn != 200 {
		t.Fatalf("closed window %+v: want the out-of-order request and feedback in it", w)
	}
	if w.SatisfactionRate == nil || *w.SatisfactionRate != 0 {
		t.Fatalf("satisfaction %v, want 0", w.SatisfactionRate)
	}
	// Past grace: counted on the retained window, the key and the metric, not aggregated.
	h.metric("planner", at(0, 10), 5000, "ok")
	h.feedback("planner", at(0, 20), "up")
	s = h.state("planner")
	if got := s.Recent[0]; got.LateEvents != 2 || got.Requests != 2 || got.Feedback != 1 || s.Late != 2 {
		t.Fatalf("late events: window %+v, key total %d", got, s.Late)
	}
	if got := testutil.ToFloat64(h.m.Late.WithLabelValues("test-agent-quality")); got != 2 {
		t.Fatalf("aistream_late_events_total = %v, want 2", got)
	}
	if open := s.OpenSummaries(); len(open) != 1 || open[0].Requests != 2 {
		t.Fatalf("open window %+v, want [10:05) with 2 requests", open)
	}
	// A window that was never retained: late, counted in the newest open window.
	h.metric("planner", at(40, 0), 100, "ok")
	h.metric("planner", at(2, 0), 100, "ok")
	s = h.state("planner")
	if s.Late != 3 || s.Windows.Open[len(s.Windows.Open)-1].Agg.LateEvents != 1 {
		t.Fatalf("late event for an unretained window: total %d, open %+v", s.Late, s.Windows.Open)
	}
}

func TestMisplacedMetricsAreRekeyedAndInvalidOnesDeadLettered(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	dl := h.tt.NewQueueTracker(topology.DeadLetters)
	for _, agent := range []string{"planner", "router", "sql-writer", "critic"} {
		h.metric(agent, t0, 100, "ok")
		if s := h.state(agent); s == nil || len(s.Windows.Open) != 1 {
			t.Fatalf("%s: no state under %q after a message keyed \"\"", agent, codecs.TenantKey(tenant, agent))
		}
	}
	h.tt.Consume(topology.MetricsEvents, "k", []byte(`{"event_id":"e","event_type":"agent.metrics","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"x","data":{"agent":"a"}}`))
	if _, _, ok := dl.Next(); !ok {
		t.Fatal("invalid metrics event not dead-lettered")
	}
}

// Defect: the router skipped invalid feedback silently, so a deployment
// without the context-graph group lost it without a trace. Every group that
// rejects, dead-letters, under its own name.
func TestRouterDeadLettersInvalidFeedbackUnderItsOwnName(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	dl := h.tt.NewQueueTracker(topology.DeadLetters)
	h.tt.Consume(topology.FeedbackEvents, "k", []byte(`{"not":"feedback"}`))
	hd, key, _, ok := dl.NextRawWithHeaders()
	if !ok {
		t.Fatal("invalid feedback was not dead-lettered by the router")
	}
	if key != "k" || string(hd[stream.HeaderGroup]) != "test-"+RouterName || string(hd[stream.HeaderReason]) != string(codecs.ReasonMissingField) {
		t.Errorf("dead letter key %q headers %q", key, hd)
	}
	if n := testutil.ToFloat64(h.m.DeadLetters.WithLabelValues(topology.FeedbackEvents, string(codecs.ReasonMissingField))); n != 1 {
		t.Errorf("aistream_dead_letters_total = %v, want 1", n)
	}
}

// baseline sends n windows of 10 requests at 100 ms.
func (h *harness) baseline(agent string, n int) {
	for i := 0; i < n; i++ {
		h.window(agent, i, 10, 100)
	}
}

func TestAlertsFireOncePerConditionAndResolve(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.baseline("planner", 4)
	steps := []struct {
		latency float64
		want    string // "" none, else state/severity
	}{
		{300, "firing/critical"}, // window 4: 3× baseline
		{300, ""},                // persists: no repeat
		{310, ""},
		{180, "firing/warning"}, // severity change
		{100, "resolved/warning"},
		{100, ""},
		{300, "firing/critical"}, // clear and return
	}
	for i, st := range steps {
		h.window("planner", 4+i, 10, st.latency)
		h.window("planner", 5+i, 4, 100) // closes window 4+i (and is overwritten by the next step)
		_, got := h.insights()
		var states []string
		for _, in := range got {
			if in.Rule != RuleLatencyP95 {
				t.Fatalf("step %d: unexpected %s insight %+v", i, in.Rule, in)
			}
			states = append(states, in.State+"/"+in.Severity)
		}
		if want := st.want; (want == "" && len(states) != 0) || (want != "" && (len(states) != 1 || states[0] != want)) {
			t.Fatalf("step %d (p95 %v ms): insights %v, want %q", i, st.latency, states, want)
		}
		if st.want == "firing/critical" && i == 0 {
			in := got[0]
			if in.Observed != 300 || in.Baseline != 100 || in.Threshold != 250 || !in.Window.Start.Equal(at(4, 0)) ||
				in.InsightID != insights.ID(tenant, "planner", RuleLatencyP95, "", at(4, 0), insights.Critical) ||
				!strings.Contains(in.Summary, "planner p95 latency 300 ms") || in.ByModel["gpt-4o"] != 300 {
				t.Fatalf("critical insight %+v", in)
			}
		}
	}
	s := h.state("planner")
	if a := s.Alerts[RuleLatencyP95]; a == nil || a.Severity != insights.Critical {
		t.Fatalf("active alerts %+v", s.Alerts)
	}
	if s.Base.LatencyP95.Value != 100 {
		t.Fatalf("baseline learned from regressions: %+v", s.Base.LatencyP95)
	}
}

func TestErrorSatisfactionCostAndNewCategoryRules(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	for i := 0; i < 4; i++ {
		h.window("planner", i, 10, 100)
		for k := 0; k < 5; k++ {
			h.feedback("planner", at(i, k*30), "up")
		}
	}
	h.insights()
	for k := 0; k < 10; k++ {
		status := "ok"
		if k < 4 {
			status = "error"
		}
		h.metric("planner", at(4, k*20), 100, status)
	}
	for k := 0; k < 5; k++ {
		h.feedback("planner", at(4, k*30), "down", "unsafe")
	}
	h.window("planner", 5, 4, 100)
	_, got := h.insights()
	byRule := map[string]insights.Insight{}
	for _, in := range got {
		byRule[in.Rule+"/"+in.Subject] = in
	}
	if in := byRule[RuleErrorRateSpike+"/"]; in.Severity != insights.Critical || in.Observed != 0.4 {
		t.Errorf("error rate 40%% vs 0: %+v", in)
	}
	if in := byRule[RuleSatisfactionDrop+"/"]; in.Severity != insights.Critical || in.Observed != 0 || in.Baseline != 1 {
		t.Errorf("satisfaction 0 vs 1: %+v", in)
	}
	if in := byRule[RuleNewFailure+"/unsafe"]; in.Severity != insights.Critical || in.Observed != 5 {
		t.Errorf("first unsafe feedback today: %+v", in)
	}
	if in := byRule[RuleNewFailure+"/error:timeout"]; in.Severity != insights.Warning {
		t.Errorf("first timeout error today: %+v", in)
	}
	if len(got) != 4 {
		t.Errorf("got %d insights, want 4: %+v", len(got), got)
	}
	// unsafe again the same day: no repeat; the next UTC day: reported again.
	h.feedback("planner", at(6, 0), "down", "unsafe")
	h.window("planner", 7, 4, 100)
	if _, again := h.insights(); hasRule(again, RuleNewFailure) {
		t.Errorf("unsafe reported twice in one day: %+v", again)
	}
	nextDay := t0.Add(24 * time.Hour)
	h.feedback("planner", nextDay, "down", "unsafe")
	h.metric("planner", nextDay.Add(7*time.Minute), 100, "ok")
	if _, again := h.insights(); !hasRule(again, RuleNewFailure) {
		t.Errorf("unsafe on a new day not reported: %+v", again)
	}
}

func hasRule(ins []insights.Insight, rule string) bool {
	for _, in := range ins {
		if in.Rule == rule {
			return true
		}
	}
	return false
}

func TestCostAnomaly(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.baseline("planner", 4)
	for k := 0; k < 10; k++ {
		m := &codecs.Metrics{Agent: "planner", Model: "o1", LatencyMS: 100, CostUSD: 0.01, Status: "ok"}
		h.tt.Consume(topology.MetricsEvents, "", h.event(codecs.TypeMetrics, at(4, k*20), m))
	}
	h.window("planner", 5, 4, 100)
	_, got := h.insights()
	if len(got) != 1 || got[0].Rule != RuleCostAnomaly || got[0].Severity != insights.Critical || got[0].ByModel["o1"] != 0.01 {
		t.Fatalf("cost 5× baseline: %+v", got)
	}
}

// degraded is the scenario for idle and replay tests: a baseline, then a
// window of triple latency and unsafe feedback that nothing later closes.
func degraded(h *harness) {
	h.baseline("planner", 4)
	h.window("planner", 4, 10, 300)
	h.feedback("planner", at(4, 100), "down", "unsafe")
	h.window("router", 0, 3, 50)
}

func TestIdleCloseGivesTheSameInsightsAsWatermarkClose(t *testing.T) {
	cfg := DefaultConfig()
	byWatermark := newHarness(t, cfg)
	degraded(byWatermark)
	byWatermark.metric("planner", at(6, 0), 100, "ok")
	byWatermark.metric("router", at(6, 0), 100, "ok")
	want, _ := byWatermark.insights()

	h := newHarness(t, cfg)
	degraded(h)
	if raw, _ := h.insights(); len(raw) != 0 {
		t.Fatalf("insights before the window closed: %s", raw)
	}
	wall := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) // wall clock, unrelated to event time
	h.visit(wall)
	if s := h.state("planner"); s.Quiet == nil || len(s.Windows.Open) != 1 {
		t.Fatalf("first visit should only mark the key quiet: %+v", s)
	}
	h.visit(wall.Add(cfg.IdleTimeout - time.Second))
	if len(h.state("planner").Windows.Open) != 1 {
		t.Fatal("closed before the idle timeout")
	}
	// planner's watermark is 10:23 and its window [10:20,10:25) closes at
	// 10:26: after 2m of quiet (10:25) it stays open, after 3m it closes.
	h.visit(wall.Add(cfg.IdleTimeout))
	h.visit(wall.Add(3*time.Minute - time.Second))
	if len(h.state("planner").Windows.Open) != 1 {
		t.Fatal("idle close before watermark + quiet time reached end + grace")
	}
	h.visit(wall.Add(3 * time.Minute))
	got, parsed := h.insights()
	s := h.state("planner")
	if len(s.Windows.Open) != 0 || s.Recent[0].ClosedBy != "idle" {
		t.Fatalf("idle visit did not close the window: %+v", s.Windows.Open)
	}
	// router's watermark is 10:00:40; its window closes at 10:06.
	if len(h.state("router").Windows.Open) != 1 {
		t.Fatal("router's window closed before its watermark + quiet time reached end + grace")
	}
	h.visit(wall.Add(5*time.Minute + 20*time.Second))
	if len(h.state("router").Windows.Open) != 0 {
		t.Fatal("router's window not closed at watermark + quiet time = end + grace")
	}
	if len(got) != 2 || !hasRule(parsed, RuleLatencyP95) || !hasRule(parsed, RuleNewFailure) {
		t.Fatalf("idle close insights: %+v", parsed)
	}
	if len(got) != len(want) {
		t.Fatalf("idle close gave %d insights, watermark close %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("insight %d differs:\nidle      %s\nwatermark %s", i, got[i], want[i])
		}
	}
	// An event for the idle-closed window is late; activity resets quietness.
	h.metric("planner", at(4, 290), 100, "ok")
	if s := h.state("planner"); s.Late != 1 || s.Recent[0].LateEvents != 1 {
		t.Fatalf("event for an idle-closed window: late %d, window %+v", s.Late, s.Recent[0])
	}
}

func TestReplayProducesByteIdenticalInsights(t *testing.T) {
	run := func() [][]byte {
		h := newHarness(t, DefaultConfig())
		degraded(h)
		h.window("planner", 5, 10, 100)
		h.window("planner", 6, 10, 400)
		for k := 0; k < 5; k++ {
			h.metric("planner", at(7, k), 100, "error")
		}
		h.metric("planner", at(9, 0), 100, "ok")
		raw, _ := h.insights()
		return raw
	}
	a, b := run(), run()
	if len(a) < 4 || len(a) != len(b) {
		t.Fatalf("runs gave %d and %d insights", len(a), len(b))
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			t.Fatalf("insight %d differs between runs:\n%s\n%s", i, a[i], b[i])
		}
	}
	var env codecs.Envelope
	if err := json.Unmarshal(a[0], &env); err != nil || env.Source != "aistream" || !strings.HasPrefix(env.EventID, "ins-") {
		t.Fatalf("envelope %s: %v", a[0], err)
	}
}

func TestInsightsGroupKeepsTenantsInsightsNewestFirst(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	degraded(h)
	h.metric("planner", at(6, 0), 100, "ok")
	raw, _ := h.insights()
	for _, b := range raw { // replayed insights are not stored twice
		h.tt.Consume(topology.Insights, tenant, b)
	}
	v, _ := h.tt.TableValue(stream.Prefix("test").Table(insights.Name), tenant).(*insights.Recent)
	if v == nil || len(v.Items) != len(raw) {
		t.Fatalf("stored %+v, want %d insights", v, len(raw))
	}
	for i := 1; i < len(v.Items); i++ {
		if insights.Before(v.Items[i-1], v.Items[i]) {
			t.Fatalf("not newest first: %+v", v.Items)
		}
	}
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	for flagName, mutate := range map[string]func(*Config){
		"--quality-window":         func(c *Config) { c.Window = 7 * time.Minute },
		"--quality-grace":          func(c *Config) { c.Grace = -time.Second },
		"--quality-idle-timeout":   func(c *Config) { c.IdleTimeout = 0 },
		"--quality-max-skew":       func(c *Config) { c.MaxSkew = 0 },
		"--quality-ewma-alpha":     func(c *Config) { c.Alpha = 0 },
		"--quality-recent-windows": func(c *Config) { c.Recent = 0 },
		"--quality-rules":          func(c *Config) { c.Rules.LatencyP95.Critical = 1 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), flagName) {
			t.Errorf("%s: Validate() = %v", flagName, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRulesFileOverridesDefaults(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(good, []byte(`{"latency_p95_regression":{"warning":2,"critical":4,"min_samples":20}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	fs := flagSet(&c)
	if err := fs.Parse([]string{"--quality-rules", good, "--quality-window", "1m"}); err != nil {
		t.Fatal(err)
	}
	if c.Rules.LatencyP95.Critical != 4 || c.Rules.CostAnomaly.Warning != 1.5 || c.Window != time.Minute {
		t.Fatalf("rules %+v", c.Rules)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"latency_p95":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := flagSet(&c).Parse([]string{"--quality-rules", bad}); err == nil || !strings.Contains(err.Error(), "quality-rules") {
		t.Fatalf("unknown rule accepted: %v", err)
	}
}

// Defect: after a crash the uncommitted input is redelivered onto a local
// state that already holds it (goka writes it before the outputs are
// acknowledged), and the insights its windows fired were never emitted
// again. A redelivery re-emits them, byte for byte, from the outbox.
func TestRedeliveryOntoStateThatHoldsTheEventsReemitsTheirInsights(t *testing.T) {
	send := func(h *harness) {
		degraded(h)
		h.window("planner", 5, 10, 100)
		h.window("planner", 6, 10, 400)
		h.metric("planner", at(9, 0), 100, "ok")
	}
	h := newHarness(t, DefaultConfig())
	send(h)
	first, _ := h.insights()
	if len(first) < 2 || len(first) > maxOutbox {
		t.Fatalf("%d insights: the test needs 2 to %d", len(first), maxOutbox)
	}
	ahead := h.state("planner")

	// A restart whose local state is ahead: the same messages, same offsets.
	h2 := newHarness(t, DefaultConfig())
	h2.tt.SetTableValue(stream.Prefix("test").Table(Name), codecs.TenantKey(tenant, "planner"), ahead)
	send(h2)
	again, _ := h2.insights()
	if len(again) != len(first) {
		t.Fatalf("redelivery re-emitted %d insights, want the %d of the first run", len(again), len(first))
	}
	for i := range first {
		if string(again[i]) != string(first[i]) {
			t.Errorf("insight %d differs:\n%s\n%s", i, again[i], first[i])
		}
	}
}
