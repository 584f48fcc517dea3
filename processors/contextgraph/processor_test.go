package contextgraph

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

func TestFeedbackAfterTraceEmitsCompleteSignal(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.event(decision("d1", "tr-1", 0))
	h.event(thinking("th1", "tr-1", time.Second, 1))
	h.event(span("sp1", "tr-1", time.Second, true))
	h.none()

	h.event(feedback("fb1", "tr-1", time.Minute, "down").with("comment", "wrong total"))
	s := h.one()
	if s.Key != "acme|resp-tr-1" {
		t.Errorf("key = %q, want tenant|response_id", s.Key)
	}
	if s.Env.EventType != "learning_signal.correction" || s.Env.Source != "aistream" || s.Env.TenantID != "acme" || !s.Env.Timestamp.Equal(t0.Add(time.Minute)) {
		t.Errorf("envelope = %+v", s.Env)
	}
	if s.Sig.Revision != 1 || s.Sig.SignalID != SignalID("acme", "fb1") || s.Env.EventID != signalEventID(s.Sig.SignalID, 1) {
		t.Errorf("ids: %+v", s.Sig)
	}
	c := s.Sig.Context
	if c.Missing || !reflect.DeepEqual(c.Agents, []string{"router", "sql-agent"}) || len(c.Decisions) != 1 || len(c.Thinking) != 1 ||
		len(c.SpanErrors) != 1 || c.TokensIn != 100 || c.TokensOut != 20 || c.ThinkingTokens != 10 || c.LatencyMS != 3000 ||
		!reflect.DeepEqual(c.Models, []string{"gpt-4o"}) {
		t.Errorf("context = %+v", c)
	}
	if d := c.Decisions[0]; d.Confidence != 0.87 || len(d.Alternatives) != 1 || d.Alternatives[0].Option != "rag-agent" {
		t.Errorf("decision = %+v", d)
	}
	if s.Sig.Weight != 1.125 { // correction 1.5 × thumbs 0.75 × context 1.0
		t.Errorf("weight = %v", s.Sig.Weight)
	}
	// The trace view shows the feedback with its signal.
	g := h.graph("tr-1")
	if len(g.Feedback) != 1 || g.Feedback[0].SignalID != s.Sig.SignalID || g.Feedback[0].Revision != 1 {
		t.Errorf("graph feedback = %+v", g.Feedback)
	}
}

func TestFeedbackBeforeTraceIsRevisedByLateContext(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.event(feedback("fb1", "tr-2", time.Minute, "up"))
	first := h.one()
	if !first.Sig.Context.Missing || first.Sig.Revision != 1 || first.Sig.Weight != 0.375 {
		t.Fatalf("first signal = %+v", first.Sig)
	}

	h.event(span("sp1", "tr-2", 0, false))
	second := h.one()
	if second.Sig.SignalID != first.Sig.SignalID || second.Sig.Revision != 2 || second.Sig.Context.Missing || second.Sig.Context.Spans != 1 {
		t.Fatalf("second signal = %+v", second.Sig)
	}
	if second.Sig.Weight != 0.75 || second.Env.EventID == first.Env.EventID || !second.Env.Timestamp.Equal(first.Env.Timestamp.Time) {
		t.Errorf("revision 2: weight %v, event_id %s (rev 1 %s), timestamp %s", second.Sig.Weight, second.Env.EventID, first.Env.EventID, second.Env.Timestamp)
	}

	// During: more context, one revision per event that changes it.
	h.event(decision("d1", "tr-2", 10*time.Second))
	if s := h.one(); s.Sig.Revision != 3 || len(s.Sig.Context.Decisions) != 1 {
		t.Fatalf("third = %+v", s.Sig)
	}
	// A duplicate changes nothing and emits nothing.
	h.event(decision("d1", "tr-2", 10*time.Second))
	h.event(feedback("fb1", "tr-2", time.Minute, "up"))
	h.none()
	if g := h.graph("tr-2"); g.Feedback[0].Revision != 3 || len(g.Decisions) != 1 || g.Events != 3 {
		t.Errorf("graph after duplicates: revision %d, %d decisions, %d events", g.Feedback[0].Revision, len(g.Decisions), g.Events)
	}
}

func TestContextAfterHorizonDoesNotReviseSignal(t *testing.T) {
	c := DefaultConfig()
	c.SignalHorizon = 15 * time.Minute
	h := newHarness(t, c)
	h.event(feedback("fb1", "tr-3", 0, "down"))
	h.one()
	h.event(span("late", "tr-3", 16*time.Minute, false))
	h.none()
	if g := h.graph("tr-3"); len(g.Spans) != 1 || g.Feedback[0].Revision != 1 {
		t.Errorf("late span must join the graph but not revise: %d spans, revision %d", len(g.Spans), g.Feedback[0].Revision)
	}
	// Just inside the horizon still revises.
	h.event(thinking("th", "tr-3", 15*time.Minute, 1))
	if s := h.one(); s.Sig.Revision != 2 || len(s.Sig.Context.Thinking) != 1 || s.Sig.Context.Spans != 1 {
		t.Errorf("in-horizon revision = %+v", s.Sig)
	}
}

func TestUnchangedContextEmitsNoRevision(t *testing.T) {
	c := DefaultConfig()
	c.SignalThinkingSteps = 1
	h := newHarness(t, c)
	h.event(thinking("th1", "tr-4", 0, 1))
	h.event(thinking("th2", "tr-4", time.Second, 2))
	h.event(feedback("fb", "tr-4", time.Minute, "up"))
	if s := h.one(); !s.Sig.Context.Truncated || len(s.Sig.Context.Thinking) != 1 {
		t.Fatalf("signal = %+v", s.Sig.Context)
	}
	// A replaced span with identical content does not change the signal.
	h.event(span("sp", "tr-4", 0, false))
	h.one()
	h.event(span("sp2", "tr-4", 0, false).with("span_id", "span-sp"))
	h.none()
}

func TestRedeliveryAfterRestartEmitsNothing(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	batch := []env{
		thinking("th1", "tr-5", 0, 1), feedback("fb1", "tr-5", time.Minute, "down"),
		span("sp1", "tr-5", time.Second, false), decision("d1", "tr-5", 0),
	}
	for _, e := range batch {
		h.event(e)
	}
	if got := h.drain(); len(got) != 3 { // rev 1, then one per context change
		t.Fatalf("first delivery: %d signals, want 3", len(got))
	}
	before, _ := json.Marshal(h.graph("tr-5"))
	// A restart mid-batch redelivers what was not committed: state exists.
	for _, e := range batch {
		h.event(e)
	}
	h.none()
	after, _ := json.Marshal(h.graph("tr-5"))
	if string(before) != string(after) {
		t.Errorf("redelivery changed the graph:\n%s\n%s", before, after)
	}
}

func TestGraphDoesNotDependOnArrivalOrder(t *testing.T) {
	evs := []env{
		thinking("th2", "tr-6", 2*time.Second, 2), thinking("th1", "tr-6", time.Second, 1),
		decision("d1", "tr-6", 0), span("sp2", "tr-6", 3*time.Second, true), span("sp1", "tr-6", 0, false),
		thinking("th1b", "tr-6", time.Second, 1).with("agent", "rag-agent"),
		// A decision and a span replaced by later events: what only the
		// replaced ones said (agent, earlier times) must not stay behind.
		decision("d2", "tr-6", -time.Second).with("decision_id", "dec-x").with("agent", "old-agent"),
		decision("d2b", "tr-6", time.Second).with("decision_id", "dec-x"),
		span("sp3", "tr-6", -2*time.Second, false).with("span_id", "span-x").with("agent", "old-span-agent"),
		span("sp3b", "tr-6", time.Second, false).with("span_id", "span-x"),
	}
	var want []byte
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {2, 7, 0, 4, 9, 1, 6, 5, 8, 3}} {
		h := newHarness(t, DefaultConfig())
		for _, i := range order {
			h.event(evs[i])
		}
		got, _ := json.Marshal(h.graph("tr-6"))
		if want == nil {
			want = got
			g := h.graph("tr-6")
			if g.Thinking[0].Step != 1 || g.Thinking[2].Step != 2 || g.Agents[0].Name != "router" || len(g.Errors) != 1 ||
				!g.Started.Equal(t0) || !g.Ended.Equal(t0.Add(5*time.Second)) ||
				len(g.Agents) != 3 || g.Events != 8 || len(g.Decisions) != 2 || len(g.Spans) != 3 {
				t.Fatalf("graph = %s", got)
			}
		} else if string(got) != string(want) {
			t.Errorf("order %v gives\n%s\nwant\n%s", order, got, want)
		}
	}
}

func TestRatingChangeSupersedes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []int
	}{{"in order", []int{0, 1}}, {"reversed", []int{1, 0}}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, DefaultConfig())
			fbs := []env{feedback("fb-old", "tr-7", time.Minute, "down"), feedback("fb-new", "tr-7", 2*time.Minute, "up")}
			old, cur := SignalID("acme", "fb-old"), SignalID("acme", "fb-new")
			byID := map[string]codecs.Signal{}
			for _, i := range tc.order {
				h.event(fbs[i])
				s := h.one()
				byID[s.Sig.SignalID] = s.Sig
			}
			// The later signal names the one it supersedes when that one
			// came first; otherwise the earlier one, arriving late, names
			// its successor. Either way the timestamp rule picks fb-new.
			if tc.name == "in order" && byID[cur].Supersedes != old {
				t.Errorf("new signal supersedes %q, want %q", byID[cur].Supersedes, old)
			}
			if tc.name == "reversed" && byID[old].SupersededBy != cur {
				t.Errorf("late-arriving old signal superseded_by %q, want %q", byID[old].SupersededBy, cur)
			}
			g := h.graph("tr-7")
			if g.Feedback[0].SignalID != old || g.Feedback[0].SupersededBy != cur || g.Feedback[1].Supersedes != old {
				t.Errorf("graph feedback links = %+v", g.Feedback)
			}
			// Later context revises only the current signal.
			h.event(span("sp", "tr-7", 0, false))
			if s := h.one(); s.Sig.SignalID != cur || s.Sig.Revision != 2 {
				t.Errorf("revision went to %s rev %d, want the current signal", s.Sig.SignalID, s.Sig.Revision)
			}
		})
	}
}

func TestSignalTypes(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	cases := []struct {
		e    env
		want string
	}{
		{feedback("a", "tr-8", 0, "up"), "learning_signal.positive_example"},
		{feedback("b", "tr-8", 0, "down"), "learning_signal.negative_example"},
		{feedback("c", "tr-8", 0, "down").with("comment", "use refunds"), "learning_signal.correction"},
		{feedback("d", "tr-8", 0, "up").with("categories", []string{"unsafe"}), "learning_signal.safety_escalation"},
	}
	for _, c := range cases {
		h.event(c.e.with("user_id", c.e.id))
		if s := h.one(); s.Env.EventType != c.want || s.Sig.SignalType != c.want[len("learning_signal."):] {
			t.Errorf("%s: %s / %s, want %s", c.e.id, s.Env.EventType, s.Sig.SignalType, c.want)
		}
	}
}

func TestWeight(t *testing.T) {
	score := func(n int) *int { return &n }
	cases := []struct {
		f       codecs.Feedback
		typ     string
		missing bool
		want    float64
	}{
		{codecs.Feedback{Score: score(5)}, codecs.SignalPositive, false, 1},
		{codecs.Feedback{Score: score(4)}, codecs.SignalPositive, false, 0.75},
		{codecs.Feedback{Score: score(3)}, codecs.SignalNegative, false, 0.5},
		{codecs.Feedback{Thumbs: "down", Score: score(1)}, codecs.SignalCorrection, false, 1.5},
		{codecs.Feedback{Thumbs: "up", Score: score(1)}, codecs.SignalPositive, false, 0.5},
		{codecs.Feedback{Thumbs: "down"}, codecs.SignalSafety, false, 1.5},
		{codecs.Feedback{Thumbs: "down"}, codecs.SignalSafety, true, 0.75},
	}
	for _, c := range cases {
		if got := weight(&c.f, c.typ, c.missing); got != c.want {
			t.Errorf("weight(%+v, %s, missing=%v) = %v, want %v", c.f, c.typ, c.missing, got, c.want)
		}
	}
}

// Defect: a second tenant's events for a trace id another tenant used first
// were dead-lettered as tenant_conflict, so its data and learning signals
// were lost and any tenant could block another by reusing its ids. Every
// tenant has its own trace under any id; the first keeps the plain key.
func TestTenantsHaveTheirOwnTraceUnderTheSameID(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.event(span("sp1", "tr-9", 0, false))
	h.event(span("sp-g", "tr-9", 0, true).as("globex"))
	h.event(feedback("fb-other", "tr-9", time.Minute, "down").as("globex"))
	if _, _, ok := h.dead.Next(); ok {
		t.Fatal("the second tenant's events were dead-lettered")
	}
	sig := h.one()
	if sig.Env.TenantID != "globex" || sig.Sig.Context.Missing || sig.Sig.Context.Spans != 1 || len(sig.Sig.Context.SpanErrors) != 1 {
		t.Errorf("globex's signal = %+v: want its own trace's context (1 failed span)", sig)
	}
	if g := h.graph("tr-9"); g.TenantID != "acme" || len(g.Spans) != 1 || len(g.Feedback) != 0 {
		t.Errorf("acme's graph under the plain key = %+v", g)
	}
	if g := h.graph(TenantTraceKey("globex", "tr-9")); g == nil || g.TenantID != "globex" || g.TraceID != "tr-9" || len(g.Feedback) != 1 {
		t.Errorf("globex's graph under its scoped key = %+v", g)
	}
	// Both read their own trace through the read model; a third tenant
	// gets the same answer as for an unknown id.
	q := NewQuery(tableOf{h})
	for tenant, spans := range map[string]int{"acme": 1, "globex": 1} {
		tr, err := q.Trace(tenant, "tr-9")
		if err != nil || tr.TenantID != tenant || len(tr.Spans) != spans {
			t.Errorf("%s reads %+v, %v", tenant, tr, err)
		}
	}
	_, errOther := q.Trace("initech", "tr-9")
	_, errUnknown := q.Trace("initech", "no-such-trace")
	if errOther == nil || errOther.Error() != strings.ReplaceAll(errUnknown.Error(), "no-such-trace", "tr-9") {
		t.Errorf("a foreign trace answers %v, an unknown one %v", errOther, errUnknown)
	}
}

// The scoped key can never be a trace_id (longer than any) and no two
// tenant × trace pairs share one.
func TestTenantTraceKeyIsDisjoint(t *testing.T) {
	seen := map[string]string{}
	for _, tenant := range []string{"a", "ab", "acme"} {
		for _, trace := range []string{"", "x", "x\x00", "b\x001\x00x", strings.Repeat("t", codecs.MaxIDBytes)} {
			k := TenantTraceKey(tenant, trace)
			if len(k) <= codecs.MaxIDBytes {
				t.Errorf("key of %q/%q is %d bytes: it could be a trace_id", tenant, trace, len(k))
			}
			if prev, dup := seen[k]; dup {
				t.Errorf("%q/%q and %s share a key", tenant, trace, prev)
			}
			seen[k] = tenant + "/" + trace
		}
	}
}

// tableOf reads the harness's group table like a view.
type tableOf struct{ h *harness }

func (t tableOf) Get(key string) (any, error) {
	if g := t.h.graph(key); g != nil {
		return g, nil
	}
	return nil, nil
}
func (tableOf) Recovered() bool { return true }

func TestMalformedIsDeadLetteredWithOriginalBytes(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	bad := []byte(`{"event_id": "x", "event_type": "agent.span"`)
	h.send(topology.TraceEvents, "tr-10", bad)
	wrongTopic := thinking("th", "tr-10", 0, 1).bytes()
	h.send(topology.TraceEvents, "tr-10", wrongTopic)
	for _, want := range []struct {
		raw    []byte
		reason codecs.Reason
	}{{bad, codecs.ReasonNotJSON}, {wrongTopic, codecs.ReasonWrongTopic}} {
		hdr, key, v, ok := h.dead.NextWithHeaders()
		if !ok {
			t.Fatalf("no dead letter for %s", want.reason)
		}
		if key != "tr-10" || string(v.([]byte)) != string(want.raw) || string(hdr[stream.HeaderReason]) != string(want.reason) ||
			string(hdr[stream.HeaderTopic]) != topology.TraceEvents || len(hdr[stream.HeaderOffset]) == 0 {
			t.Errorf("dead letter: key %q reason %q topic %q value %q", key, hdr[stream.HeaderReason], hdr[stream.HeaderTopic], v)
		}
	}
	if g := h.graph("tr-10"); g != nil {
		t.Errorf("rejected events built a graph: %+v", g)
	}
}

func TestMisplacedKeyIsLoopedToTraceID(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	e := span("sp", "tr-11", 0, false)
	h.send(e.topic(), "some-other-key", e.bytes())
	key, _, ok := h.loop.Next()
	if !ok || key != "tr-11" {
		t.Fatalf("loop got key %q (ok=%v), want the trace_id", key, ok)
	}
	if g := h.graph("tr-11"); g == nil || len(g.Spans) != 1 {
		t.Fatalf("graph under trace_id = %+v", g)
	}
	if g := h.graph("some-other-key"); g != nil {
		t.Errorf("state written under the producer's key")
	}
}

func TestBounds(t *testing.T) {
	c := DefaultConfig()
	c.MaxThinkingSteps, c.MaxSpans, c.MaxFeedback = 2, 1, 1
	h := newHarness(t, c)
	for i, id := range []string{"a", "b", "c", "d"} {
		h.event(thinking(id, "tr-12", time.Duration(i)*time.Second, i))
	}
	h.event(thinking("c", "tr-12", 2*time.Second, 2)) // a dropped event redelivered
	h.event(span("s1", "tr-12", 0, false))
	h.event(span("s2", "tr-12", 0, false))
	h.event(feedback("f1", "tr-12", time.Minute, "up"))
	h.drain()
	// Past MaxFeedback the signal still goes out once.
	h.event(feedback("f2", "tr-12", time.Minute, "down").with("user_id", "user-2"))
	h.event(feedback("f2", "tr-12", time.Minute, "down").with("user_id", "user-2"))
	if s := h.one(); s.Sig.SignalID != SignalID("acme", "f2") || !s.Sig.Context.Truncated {
		t.Errorf("overflow feedback signal = %+v", s.Sig)
	}
	g := h.graph("tr-12")
	if ids := []string{g.Thinking[0].EventID, g.Thinking[1].EventID}; !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("kept steps %v, want the first two", ids)
	}
	if g.Dropped != (Dropped{Feedback: 1}) || g.Truncated != (Truncated{Thinking: true, Spans: true}) || len(g.Spans) != 1 || len(g.Feedback) != 1 {
		t.Errorf("dropped = %+v, truncated %+v, %d spans, %d feedback", g.Dropped, g.Truncated, len(g.Spans), len(g.Feedback))
	}
}

func TestByteBudget(t *testing.T) {
	c := DefaultConfig()
	c.MaxStateBytes = 16 << 10
	h := newHarness(t, c)
	big := strings.Repeat("x", 3000)
	for i := range 10 {
		h.event(thinking(string(rune('a'+i)), "tr-13", 0, i).with("content", "x"+big))
	}
	g := h.graph("tr-13")
	if !g.Truncated.Bytes || g.Bytes > c.MaxStateBytes || len(g.Thinking) >= 10 || len(g.Thinking) < 4 {
		t.Errorf("kept %d steps, truncated %+v, %d bytes", len(g.Thinking), g.Truncated, g.Bytes)
	}
	if n := len(g.Thinking[0].Content); n != clipContent {
		t.Errorf("content stored with %d bytes, want clipped to %d", n, clipContent)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.SignalHorizon = -time.Second
	if err := c.Validate(); err == nil {
		t.Error("negative horizon accepted")
	}
	c = DefaultConfig()
	c.MaxSpans = 0
	if err := c.Validate(); err == nil {
		t.Error("zero spans accepted")
	}
}

// Defect: past a bound every dropped event still rewrote the whole graph
// (one hot trace wrote GBs of changelog). Once a bound is reached, a
// dropped event writes nothing.
func TestDroppedEventsPastABoundWriteNothing(t *testing.T) {
	c := DefaultConfig()
	c.MaxThinkingSteps = 2
	h := newHarness(t, c)
	table := h.tt.NewQueueTracker(string(stream.Prefix(prefix).Table(Name)))
	writes := func() int {
		n := 0
		for {
			if _, _, ok := table.Next(); !ok {
				return n
			}
			n++
		}
	}
	for i := range 3 { // two kept, the third reaches the bound
		h.event(thinking(fmt.Sprint("t", i), "tr-hot", time.Duration(i)*time.Second, i))
	}
	if n := writes(); n != 3 {
		t.Fatalf("%d table writes for 3 events (2 kept, 1 reaching the bound), want 3", n)
	}
	for i := range 200 {
		h.event(thinking(fmt.Sprint("late", i), "tr-hot", time.Hour, 10+i))
	}
	if n := writes(); n != 0 {
		t.Errorf("%d table writes for 200 events dropped past a reached bound, want 0", n)
	}
	if g := h.graph("tr-hot"); !g.Truncated.Thinking || len(g.Thinking) != 2 {
		t.Errorf("graph truncated %+v, %d steps", g.Truncated, len(g.Thinking))
	}
}

// Defect: a duplicate of a feedback dropped past the feedback bound emitted
// its signal again once 512 more had been dropped (the id ring turned
// over). The dedupe window recognises it however many came since.
func TestDuplicateOfDroppedFeedbackEmitsNothingAfterManyMore(t *testing.T) {
	c := DefaultConfig()
	c.MaxFeedback = 1
	h := newHarness(t, c)
	h.event(span("s1", "tr-fb", 0, false))
	first := feedback("fb-0", "tr-fb", time.Minute, "up")
	h.event(first) // kept
	dropped := feedback("fb-1", "tr-fb", time.Minute+time.Millisecond, "down")
	h.event(dropped)
	for i := range maxDroppedFeedback + 100 {
		h.event(feedback(fmt.Sprint("fb-more-", i), "tr-fb", time.Minute+time.Duration(2+i)*time.Millisecond, "down").with("user_id", fmt.Sprint("u", i)))
	}
	h.drain()
	h.event(dropped)
	h.event(first)
	h.none()
}

// Defect: goka writes the local table before the changelog and outputs are
// acknowledged, so after a crash the uncommitted input is redelivered onto
// a state that already holds it, and its signal was never emitted again.
// A redelivery (an offset the state has applied) re-emits the signal with
// the same ids and rewrites the state.
func TestRedeliveryOntoStateThatHoldsTheEventReemitsItsSignal(t *testing.T) {
	fb := feedback("fb-r", "tr-r", time.Minute, "down")
	h := newHarness(t, DefaultConfig())
	h.event(fb)
	want := h.one()
	ahead := h.graph("tr-r")

	// A restart whose local state is ahead: the same message, same offset.
	h2 := newHarness(t, DefaultConfig())
	h2.tt.SetTableValue(stream.Prefix(prefix).Table(Name), "tr-r", ahead)
	h2.event(fb)
	got := h2.one()
	if got.Env.EventID != want.Env.EventID || got.Sig.Revision != want.Sig.Revision {
		t.Errorf("re-emitted %s rev %d, want %s rev %d", got.Env.EventID, got.Sig.Revision, want.Env.EventID, want.Sig.Revision)
	}
	// A duplicate the AI Service sent again (a later offset) emits nothing.
	h2.event(fb)
	h2.none()
}
