package contextgraph

import (
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/stream"
)

// The W3C trace context the AI Service put on a feedback event arrives on
// the learning signal it produces, and on the re-keyed loop record of a
// feedback sent under another key.
func TestTraceContextReachesSignals(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h := newHarness(t, DefaultConfig())
	e := feedback("fb-1", "tr-1", 0, "up")
	headers := tester.WithHeaders(goka.Headers{stream.HeaderTraceparent: []byte(tp)})
	h.tt.Consume(e.topic(), "not-the-trace", e.bytes(), headers)
	lh, _, _, ok := h.loop.NextWithHeaders()
	if !ok || string(lh[stream.HeaderTraceparent]) != tp {
		t.Fatalf("re-keyed loop record: ok=%v headers %v", ok, lh)
	}
	hd, _, _, ok := h.signals.NextWithHeaders()
	if !ok {
		t.Fatal("no learning signal")
	}
	if string(hd[stream.HeaderTraceparent]) != tp {
		t.Errorf("learning signal headers %v, want traceparent %s", hd, tp)
	}
}
