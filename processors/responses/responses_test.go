package responses

import (
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

type harness struct {
	tt         *tester.Tester
	dead, loop *tester.QueueTracker
}

func newHarness(t *testing.T, c Config) *harness {
	tt := tester.New(t)
	kafkatest.RunOnTester(t, tt, graph(stream.Options{Prefix: "test"}, c))
	return &harness{tt: tt, dead: tt.NewQueueTracker(topology.DeadLetters), loop: tt.NewQueueTracker(topology.GroupLoop("test-responses"))}
}

var t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

// signal encodes a learning signal as the context-graph group writes it.
func signal(t *testing.T, id string, rev int, user string, at time.Duration) []byte {
	t.Helper()
	b, err := codecs.Encode(codecs.Envelope{
		EventID: id + "-rev", EventType: "learning_signal.positive_example", TenantID: "acme",
		Timestamp: codecs.NewTime(t0.Add(at)), Source: "aistream",
	}, codecs.Signal{
		SignalID: id, Revision: rev, SignalType: "positive_example", ResponseID: "resp-1", UserID: user,
		Feedback: codecs.SignalFeedback{EventID: "fb-" + id, Timestamp: codecs.NewTime(t0.Add(at)), Thumbs: "up"},
		Context:  codecs.SignalContext{TokensIn: rev, Agents: []string{"router"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) response(t *testing.T) *Response {
	t.Helper()
	v, _ := h.tt.TableValue(stream.Prefix("test").Table(Name), "acme|resp-1").(*Response)
	if v == nil {
		t.Fatal("no state under acme|resp-1")
	}
	return v
}

func TestKeepsLatestRevisionAndCurrentPerUser(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	key := "acme|resp-1"
	h.tt.Consume(topology.LearningSignals, key, signal(t, "s1", 1, "u1", 0))
	h.tt.Consume(topology.LearningSignals, key, signal(t, "s1", 2, "u1", 0))
	h.tt.Consume(topology.LearningSignals, key, signal(t, "s1", 1, "u1", 0)) // stale redelivery
	h.tt.Consume(topology.LearningSignals, key, signal(t, "s2", 1, "u1", time.Minute))
	h.tt.Consume(topology.LearningSignals, key, signal(t, "s3", 1, "u2", -time.Minute))
	r := h.response(t)
	if len(r.Signals) != 3 {
		t.Fatalf("signals = %+v", r.Signals)
	}
	got := map[string]Entry{}
	for _, e := range r.Signals {
		got[e.SignalID] = e
	}
	if got["s1"].Revision != 2 || got["s1"].Context.TokensIn != 2 || got["s1"].Current || !got["s2"].Current || !got["s3"].Current {
		t.Errorf("entries = %+v", got)
	}
}

func TestBoundEvictsOldest(t *testing.T) {
	h := newHarness(t, Config{MaxSignals: 2})
	for i, id := range []string{"s1", "s2", "s3"} {
		h.tt.Consume(topology.LearningSignals, "acme|resp-1", signal(t, id, 1, id, time.Duration(i)*time.Minute))
	}
	r := h.response(t)
	if len(r.Signals) != 2 || r.Signals[0].SignalID != "s2" || r.Dropped != 1 {
		t.Errorf("signals = %+v, dropped %d", r.Signals, r.Dropped)
	}
}

func TestMisplacedSignalIsRekeyed(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.tt.Consume(topology.LearningSignals, "", signal(t, "s1", 1, "u1", 0))
	if key, _, ok := h.loop.Next(); !ok || key != "acme|resp-1" {
		t.Fatalf("loop key %q ok=%v", key, ok)
	}
	if r := h.response(t); len(r.Signals) != 1 {
		t.Errorf("signals = %+v", r.Signals)
	}
}

func TestNotASignalIsDeadLettered(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	for _, raw := range []string{`nope`, `{"event_type":"feedback.submitted","tenant_id":"acme","data":{}}`, `{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s"}}`} {
		h.tt.Consume(topology.LearningSignals, "k", []byte(raw))
		hdr, _, v, ok := h.dead.NextWithHeaders()
		if !ok || string(v.([]byte)) != raw || len(hdr[stream.HeaderReason]) == 0 {
			t.Errorf("%s: dead letter ok=%v value %q reason %q", raw, ok, v, hdr[stream.HeaderReason])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{MaxSignals: 0}).Validate(); err == nil {
		t.Error("0 accepted")
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
