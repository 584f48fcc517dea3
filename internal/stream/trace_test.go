package stream_test

import (
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

const (
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tracestate  = "vendor=abc"
)

func thinking(t *testing.T) []byte {
	t.Helper()
	b, err := codecs.Encode(codecs.Envelope{EventID: "e1", EventType: codecs.TypeThinking, TenantID: "acme", Source: "ai-service",
		Timestamp: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC))},
		codecs.Thinking{TraceID: "tr-1", Agent: "a", Step: 0, Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The trace context of the record being processed reaches every record a
// handler emits (an output, a dead letter, a loop record), and a record
// without one adds none.
func TestTraceContextCarriedOntoOutputs(t *testing.T) {
	tt := tester.New(t)
	in, out := "trace-in", "trace-out"
	accept := stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking}, func(ctx goka.Context, ev *codecs.Event) {
		if ev.EventID == "e1" && ctx.Key() == "rekey" {
			ctx.Loopback("tr-1", ev.Raw)
			return
		}
		// An emit's own headers are kept beside the trace context.
		ctx.Emit(goka.Stream(out), ctx.Key(), ev.Raw, goka.WithCtxEmitHeaders(goka.Headers{"own": []byte("1")}))
	})
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("trace-test",
		goka.Input(goka.Stream(in), new(codec.Bytes), accept),
		goka.Loop(new(codec.Bytes), func(goka.Context, any) {}),
		goka.Output(goka.Stream(out), new(codec.Bytes)),
		stream.DeadLetterOutput(),
	))
	outs, dead, loop := tt.NewQueueTracker(out), tt.NewQueueTracker(topology.DeadLetters), tt.NewQueueTracker("trace-test-loop")
	carried := tester.WithHeaders(goka.Headers{stream.HeaderTraceparent: []byte(traceparent), stream.HeaderTracestate: []byte(tracestate), "other": []byte("x")})

	check := func(what string, h goka.Headers, ok bool, want bool) {
		t.Helper()
		if !ok {
			t.Fatalf("%s: nothing emitted", what)
		}
		got := string(h[stream.HeaderTraceparent]) == traceparent && string(h[stream.HeaderTracestate]) == tracestate
		_, any := h[stream.HeaderTraceparent]
		if want && !got || !want && any {
			t.Errorf("%s: headers %v, trace context wanted: %v", what, h, want)
		}
		if _, leaked := h["other"]; leaked {
			t.Errorf("%s: an unrelated input header was copied: %v", what, h)
		}
	}

	tt.Consume(in, "tr-1", thinking(t), carried)
	h, _, _, ok := outs.NextWithHeaders()
	check("output", h, ok, true)
	if string(h["own"]) != "1" {
		t.Errorf("output lost its own header: %v", h)
	}

	tt.Consume(in, "tr-1", []byte("not json"), carried)
	h, _, _, ok = dead.NextWithHeaders()
	check("dead letter", h, ok, true)
	if string(h[stream.HeaderReason]) != string(codecs.ReasonNotJSON) {
		t.Errorf("dead letter lost its own headers: %v", h)
	}

	tt.Consume(in, "rekey", thinking(t), carried)
	h, _, _, ok = loop.NextWithHeaders()
	check("loop record", h, ok, true)

	tt.Consume(in, "tr-1", thinking(t))
	h, _, _, ok = outs.NextWithHeaders()
	check("output of a record without trace context", h, ok, false)
}

// Only a trace context of a length the W3C spec allows is carried.
func TestTraceHeadersBounded(t *testing.T) {
	if h := stream.TraceHeaders(goka.Headers{stream.HeaderTraceparent: make([]byte, 513)}); h != nil {
		t.Errorf("an oversized traceparent was carried: %d bytes", len(h[stream.HeaderTraceparent]))
	}
	if h := stream.TraceHeaders(goka.Headers{stream.HeaderTracestate: []byte(tracestate)}); h != nil {
		t.Errorf("tracestate without traceparent was carried: %v", h)
	}
	h := stream.TraceHeaders(goka.Headers{stream.HeaderTraceparent: []byte(traceparent), stream.HeaderTracestate: make([]byte, 600)})
	if string(h[stream.HeaderTraceparent]) != traceparent || h[stream.HeaderTracestate] != nil {
		t.Errorf("headers %v: want the traceparent without the oversized tracestate", h)
	}
}
