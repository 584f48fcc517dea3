package contextgraph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"testing"

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
