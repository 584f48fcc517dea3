package contextgraph

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
)

// graphsForCodec are graphs the handlers built from every kind of event:
// failed spans, replaced decisions, scored and categorised feedback, and
// feedback dropped past its bound (the dedupe window).
func graphsForCodec(t *testing.T) []*Graph {
	c := DefaultConfig()
	c.MaxFeedback = 2
	h := newHarness(t, c)
	var out []*Graph
	for tr := 0; tr < 4; tr++ {
		trace := fmt.Sprintf("tr-codec-%d", tr)
		for i := 0; i < 3+tr*3; i++ {
			id := fmt.Sprintf("%s-%d", trace, i)
			at := time.Duration(i) * time.Second
			h.event(thinking(id+"-t", trace, at, i))
			h.event(decision(id+"-d", trace, at).with("decision_id", fmt.Sprintf("dec-%d", i%2)))
			h.event(span(id+"-s", trace, at, i%3 == 1))
			fb := feedback(id+"-f", trace, at, "down").with("score", i).with("categories", []string{"incorrect", "slow"}).with("comment", "wrong \"sum\" é")
			h.event(fb)
		}
		h.drain()
		g := h.graph(trace)
		if g == nil {
			t.Fatalf("no graph for %s", trace)
		}
		out = append(out, g)
	}
	out = append(out, newGraph("acme", "empty"))
	return out
}

// The binary form decodes to exactly the graph encoded (compared through
// its JSON form, which shows every field), encodes deterministically, and
// a graph stored as JSON by the earlier codec still decodes.
func TestGraphCodecRoundTripsWhatJSONHolds(t *testing.T) {
	graphs := graphsForCodec(t)
	if len(graphs[3].DroppedFeedback.Marks) == 0 || len(graphs[3].Errors) == 0 || len(graphs[3].Offsets) == 0 {
		t.Fatalf("the test graph lacks dropped feedback, errors or offsets: %+v", graphs[3])
	}
	for _, g := range graphs {
		want, err := codecs.JSON[Graph]{}.Encode(g)
		if err != nil {
			t.Fatal(err)
		}
		b, err := GraphCodec{}.Encode(g)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := GraphCodec{}.Encode(g)
		if !bytes.Equal(b, again) {
			t.Errorf("%s: two encodings differ", g.TraceID)
		}
		v, err := GraphCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", g.TraceID, err)
		}
		got, _ := codecs.JSON[Graph]{}.Encode(v)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: round trip changed the graph:\n got %s\nwant %s", g.TraceID, got, want)
		}
		if len(b) >= len(want) && g.TraceID != "empty" {
			t.Errorf("%s: binary %d bytes, JSON %d", g.TraceID, len(b), len(want))
		}
		old, err := GraphCodec{}.Decode(want)
		if err != nil {
			t.Fatalf("%s: the JSON form no longer decodes: %v", g.TraceID, err)
		}
		if got, _ := (codecs.JSON[Graph]{}).Encode(old); !bytes.Equal(got, want) {
			t.Errorf("%s: the JSON form decodes to another graph", g.TraceID)
		}
	}
}

// Every cut of a valid value and other bytes fail with an error, never a
// panic or a huge allocation.
func FuzzGraphCodecDecode(f *testing.F) {
	g := &Graph{TenantID: "acme", TraceID: "t", Thinking: []Step{{EventID: "e", Content: "c"}}, Offsets: nil}
	b, _ := GraphCodec{}.Encode(g)
	f.Add(b)
	f.Add([]byte{graphVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte(`{"tenant_id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := (GraphCodec{}).Decode(b); err == nil {
			if _, err := (GraphCodec{}).Encode(v); err != nil && b[0] != '{' {
				t.Fatalf("decoded but does not encode: %v", err)
			}
		}
	})
}

func TestGraphCodecRefusesCutValues(t *testing.T) {
	g := graphsForCodec(t)[3]
	b, _ := GraphCodec{}.Encode(g)
	for n := 0; n < len(b); n++ {
		if _, err := (GraphCodec{}).Decode(b[:n]); err == nil {
			t.Fatalf("a value cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// A list's stored length is its length plus one: a short graph whose last
// lists hold one element each must still decode (the bound once counted
// the extra one as an element and refused it as truncated).
func TestGraphCodecShortListsAtTheEnd(t *testing.T) {
	g := &Graph{TenantID: "acme", TraceID: "tr-1",
		Feedback: []FeedbackEntry{{EventID: "fb1", SignalID: "sig-1", Revision: 2, Fingerprint: "f"}},
		Offsets:  stream.Offsets{{Topic: "t", Offset: 7}}, Bytes: 123}
	b, err := GraphCodec{}.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	v, err := GraphCodec{}.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := v.(*Graph); got.TraceID != "tr-1" || len(got.Feedback) != 1 || got.Feedback[0].Revision != 2 || len(got.Offsets) != 1 || got.Offsets[0].Offset != 7 {
		t.Errorf("round trip: %+v", got)
	}
}
