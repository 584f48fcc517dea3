package contextgraph

import (
	"math"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// checkJSONLen asserts that every entry kind built from these values
// measures what codecs.EncodedLen (the encoding the budget was defined by)
// makes of it.
func checkJSONLen(t *testing.T, s string, f float64, n int, at time.Time) {
	t.Helper()
	ct := codecs.NewTime(at)
	score := n
	entries := []jsonLener{
		Step{EventID: s, Timestamp: ct, SpanID: s, Agent: s, Step: n, Kind: s, Content: s, Tokens: n},
		Step{EventID: s, Timestamp: ct},
		DecisionNode{EventID: s, Timestamp: ct, DecisionID: s, SpanID: s, Agent: s, DecisionType: s, Chosen: s,
			Alternatives: []codecs.Alternative{{Option: s, Score: f}, {Option: "", Score: -f}}, Confidence: f, Reason: s},
		DecisionNode{Alternatives: []codecs.Alternative{}, Confidence: f},
		SpanNode{EventID: s, Timestamp: ct, SpanID: s, ParentSpanID: s, Agent: s, Name: s, Status: s, StartTime: ct, EndTime: ct,
			LatencyMS: f, Model: s, TokensIn: n, TokensOut: -n, Error: &codecs.SpanError{Type: s, Message: s}},
		SpanNode{Error: &codecs.SpanError{}},
		FeedbackEntry{EventID: s, Timestamp: ct, ResponseID: s, SessionID: s, UserID: s, Agent: s, Model: s, Thumbs: s, Score: &score,
			Categories: []string{s, "", s}, Comment: s, SignalID: s, SignalType: s, Revision: n, Weight: f, Supersedes: s, SupersededBy: s, Fingerprint: s},
		FeedbackEntry{Categories: []string{}},
		Agent{Name: s, FirstSeen: ct},
		Agent{Name: s},
		SpanFailure{SpanID: s, Agent: s, Name: s, Type: s, Message: s},
		SpanFailure{},
	}
	for _, e := range entries {
		if got, want := e.jsonLen(), codecs.EncodedLen(e); got != want {
			b, _ := codecs.JSON[jsonLener]{}.Encode(e)
			t.Fatalf("%T: jsonLen %d, encoded %d bytes: %s", e, got, want, b)
		}
	}
}

// The budget's measure is the length of the JSON encoding, for every entry
// kind and field: strings with every kind of escape (quotes, controls,
// invalid UTF-8, U+2028, HTML characters, which the encoding leaves as
// they are), floats in both notations, negative and zero numbers, empty
// and omitted fields, and times with and without fractions.
func TestJSONLenIsEncodedLen(t *testing.T) {
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "plain", "wrong \"sum\" é", "<<>>&&", "\u2028\u2029", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"\xff\xfe", "a\xe2\x80", "\xed\xa0\x80", "😀反馈", "back\\slash", hostile("h", 300)} {
		for _, f := range []float64{0, 1, -1, 0.1, 123.456, 1e-7, -1e-7, 1e20, 1e21, 1e-300, math.MaxFloat64, 0.7300000000000001} {
			for _, n := range []int{0, 1, -1, 12345, math.MinInt64} {
				for _, tm := range []time.Time{at, at.Add(123456789), at.Add(time.Millisecond), time.Time{}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600))} {
					checkJSONLen(t, s, f, n, tm)
				}
			}
		}
	}
	// And the entries the handlers built.
	for _, g := range graphsForCodec(t) {
		var all []jsonLener
		for _, x := range g.Thinking {
			all = append(all, x)
		}
		for _, x := range g.Decisions {
			all = append(all, x)
		}
		for _, x := range g.Spans {
			all = append(all, x)
		}
		for _, x := range g.Feedback {
			all = append(all, x)
		}
		for _, x := range g.Agents {
			all = append(all, x)
		}
		for _, x := range g.Errors {
			all = append(all, x)
		}
		for _, e := range all {
			if got, want := e.jsonLen(), codecs.EncodedLen(e); got != want {
				t.Fatalf("%s: %T: jsonLen %d, encoded %d", g.TraceID, e, got, want)
			}
		}
	}
}

func FuzzJSONLen(f *testing.F) {
	f.Add("wrong \"sum\" é\u2028\xff", 0.5, 3, int64(0))
	f.Add("", 1e21, -1, int64(1742032800123456789))
	f.Fuzz(func(t *testing.T, s string, x float64, n int, nanos int64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return // refused by the decoder; both measures panic
		}
		checkJSONLen(t, s, x, n, time.Unix(0, nanos))
	})
}
