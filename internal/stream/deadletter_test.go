package stream_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

const valid = `{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"t1","agent":"planner","step":0,"content":"x"}}`

// Accept passes valid events on and dead-letters everything else with the
// original key and bytes and the reason, source topic, partition and offset
// in headers; the processor keeps going.
func TestAcceptDeadLettersWithReasonAndKeepsGoing(t *testing.T) {
	tt := tester.New(t)
	m := stream.NewMetrics()
	var handled []string
	in := goka.Stream("agent-thinking-events")
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("g",
		goka.Input(in, new(codec.Bytes), stream.Accept(codecs.Decoder{MaxBytes: 4096}, m, []string{codecs.TypeThinking},
			func(ctx goka.Context, ev *codecs.Event) {
				handled = append(handled, ev.EventID)
				if ev.Payload.(*codecs.Thinking).Content == "boom" {
					var p *codecs.Thinking
					_ = p.Content // a bug: nil dereference
				}
			})),
		stream.DeadLetterOutput(),
	))
	dl := tt.NewQueueTracker(string(stream.DeadLetterStream))

	bad := map[string]codecs.Reason{
		`{"event_id":`: codecs.ReasonNotJSON,
		`{"event_id":"e2","event_type":"agent.decision","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"t","decision_id":"d","agent":"router","decision_type":"route","chosen":"a","confidence":0.5}}`: codecs.ReasonWrongTopic,
		`{"event_id":"e3","event_type":"agent.thinking","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"t1","agent":"planner","step":0,"content":"boom"}}`:                                             stream.ReasonProcessing,
	}
	for raw := range bad {
		tt.Consume(string(in), "key-"+raw[:5], []byte(raw))
	}
	tt.Consume(string(in), "t1", []byte(valid))

	got := map[string]codecs.Reason{}
	for {
		h, key, value, ok := dl.NextRawWithHeaders()
		if !ok {
			break
		}
		if key != "key-"+string(value)[:5] {
			t.Errorf("dead letter key %q does not keep the original key", key)
		}
		if string(h[stream.HeaderTopic]) != string(in) || len(h[stream.HeaderOffset]) == 0 || len(h[stream.HeaderPartition]) == 0 || string(h[stream.HeaderGroup]) != "g" {
			t.Errorf("headers %v", h)
		}
		got[string(value)] = codecs.Reason(h[stream.HeaderReason])
	}
	for raw, reason := range bad {
		if got[raw] != reason {
			t.Errorf("%.30s…: reason %q, want %q", raw, got[raw], reason)
		}
	}
	if len(handled) != 2 || handled[1] != "e1" {
		t.Errorf("handled %v: the valid event after the bad ones must still be processed", handled)
	}
	if n := testutil.ToFloat64(m.DeadLetters.WithLabelValues(string(in), string(codecs.ReasonNotJSON))); n != 1 {
		t.Errorf("dead letter metric %v", n)
	}
}

// A message too large to produce whole (the broker took it compressed) is
// dead-lettered as its first bytes with its size and digest, instead of
// failing the group on the producer's limit.
func TestDeadLetterOfAnOversizedMessageIsTruncatedWithItsDigest(t *testing.T) {
	tt := tester.New(t)
	in := goka.Stream("agent-thinking-events")
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("g",
		goka.Input(in, new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking}, func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	dl := tt.NewQueueTracker(string(stream.DeadLetterStream))
	big := bytes.Repeat([]byte("x"), 1_500_000)
	tt.Consume(string(in), "k", big)
	h, key, value, ok := dl.NextRawWithHeaders()
	if !ok {
		t.Fatal("no dead letter")
	}
	sum := sha256.Sum256(big)
	if key != "k" || len(value) != 1_000_000 || !bytes.Equal(value, big[:1_000_000]) ||
		string(h[stream.HeaderTruncated]) != "1500000" || string(h[stream.HeaderOriginalSHA256]) != hex.EncodeToString(sum[:]) ||
		string(h[stream.HeaderReason]) != string(codecs.ReasonOversized) {
		t.Errorf("dead letter: key %q, %d bytes, headers %q", key, len(value), h)
	}
}
