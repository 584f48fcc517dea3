package contextgraph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// The context encoded once per event gives the fingerprint the states
// hold (SHA-256 of encoding/json's HTML-escaped form) and the very bytes
// codecs.Encode gives the whole signal, strings HTML and JSON care about
// included.
func TestEncodedContextIsTheSignalsBytesAndFingerprint(t *testing.T) {
	odd := "a <b> & \"c\" \u2028 \u2029 é \\ \x01 </script>"
	graphs := graphsForCodec(t)
	g := graphs[3]
	g.Thinking[0].Content, g.Decisions[0].Reason, g.Agents[0].Name = odd, odd, odd
	c := DefaultConfig()
	for _, g := range graphs {
		sc := signalContext(c, g)
		old, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(old)
		ec := encodeContext(sc)
		if want := hex.EncodeToString(sum[:8]); ec.fp != want {
			t.Errorf("trace %s: fingerprint %s, want %s", g.TraceID, ec.fp, want)
		}
		for i := range g.Feedback {
			e := &g.Feedback[i]
			e.Comment = odd
			env := codecs.Envelope{EventID: "ls-1", EventType: codecs.SignalTypePrefix + e.SignalType, TenantID: g.TenantID, Timestamp: e.Timestamp, Source: Source}
			want, err := codecs.Encode(env, signal(g.TraceID, e, sc))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ec.encode(env, signal(g.TraceID, e, codecs.SignalContext{}))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("trace %s: signal\n%s\nwant\n%s", g.TraceID, got, want)
			}
			// What the appenders refuse is codecs.Encode's error.
			bad := signal(g.TraceID, e, codecs.SignalContext{})
			bad.Weight = math.NaN()
			_, err = ec.encode(env, bad)
			bad.Context = sc
			if _, wantErr := codecs.Encode(env, bad); err == nil || wantErr == nil || err.Error() != wantErr.Error() {
				t.Errorf("a NaN weight: error %v, want %v", err, wantErr)
			}
		}
	}
}

// The signal records of one event: the context encoded once, then each
// revision ("spliced", what the handler does), against encoding the whole
// signal, context included, for each revision ("whole").
func BenchmarkSignalEncode(b *testing.B) {
	// A context as a hot trace's: the configured number of steps of 1 KB.
	c := DefaultConfig()
	sc := codecs.SignalContext{Agents: []string{"planner", "retriever", "writer"}, Spans: 40, LatencyMS: 1234.5, Models: []string{"m-1", "m-2"}}
	for i := range c.SignalThinkingSteps {
		sc.Thinking = append(sc.Thinking, codecs.SignalThinking{Agent: "planner", Step: i, Content: strings.Repeat("thinking <about> \"it\" ", 50)})
	}
	for i := range c.SignalDecisions {
		sc.Decisions = append(sc.Decisions, codecs.SignalDecision{DecisionID: fmt.Sprint("d-", i), Agent: "planner", DecisionType: "tool", Chosen: "search", Alternatives: []codecs.Alternative{{Option: "a", Score: 0.5}}, Reason: "because"})
	}
	g := &Graph{TenantID: "acme", TraceID: "tr-hot"}
	for i := range 8 {
		score := i%5 + 1
		g.Feedback = append(g.Feedback, FeedbackEntry{EventID: fmt.Sprint("f-", i), Timestamp: codecs.NewTime(time.Unix(1700000000, 0)), ResponseID: "r-1", UserID: "u", Score: &score, Comment: "wrong", SignalID: fmt.Sprint("sig-", i), SignalType: codecs.SignalCorrection, Weight: 1.5, Revision: i})
	}
	env := codecs.Envelope{EventID: "ls-1", EventType: codecs.SignalTypePrefix + codecs.SignalCorrection, TenantID: g.TenantID, Timestamp: codecs.NewTime(time.Unix(1700000000, 0)), Source: Source}
	b.Run("spliced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ec := encodeContext(sc)
			for i := range g.Feedback {
				if _, err := ec.encode(env, signal(g.TraceID, &g.Feedback[i], codecs.SignalContext{})); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = fingerprint(sc)
			for i := range g.Feedback {
				if _, err := codecs.Encode(env, signal(g.TraceID, &g.Feedback[i], sc)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
