package stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
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

// runWithNilProcess runs g on the tester with the nil handling of
// Env.ProcessorOptions, so that a tombstone reaches the callbacks.
func runWithNilProcess(t *testing.T, tt *tester.Tester, g *goka.GroupGraph) {
	t.Helper()
	p, err := goka.NewProcessor(nil, g, goka.WithTester(tt), goka.WithHasher(topology.NewHash),
		goka.WithNilHandling(goka.NilProcess), goka.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	})
}

// recordSize is what sarama's producer measures against its limit.
func recordSize(key string, value []byte, h goka.Headers) int {
	return (&sarama.ProducerMessage{Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value), Headers: h.ToSarama()}).ByteSize(2)
}

// An event the broker took uncompressed (its default record limit is
// 1048588 bytes) but that aistream rejects is dead-lettered whole.
func TestDeadLetterKeepsAnOversizedEventWholeWhenItFitsARecord(t *testing.T) {
	tt := tester.New(t)
	in := goka.Stream("agent-thinking-events")
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("g",
		goka.Input(in, new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking}, func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	dl := tt.NewQueueTracker(string(stream.DeadLetterStream))
	big := bytes.Repeat([]byte("x"), 1_040_000)
	tt.Consume(string(in), "k", big)
	h, key, value, ok := dl.NextRawWithHeaders()
	if !ok {
		t.Fatal("no dead letter")
	}
	if key != "k" || !bytes.Equal(value, big) || h[stream.HeaderTruncated] != nil || string(h[stream.HeaderReason]) != string(codecs.ReasonOversized) {
		t.Errorf("dead letter: key %q, %d of %d bytes, truncated-from %q, reason %q", key, len(value), len(big), h[stream.HeaderTruncated], h[stream.HeaderReason])
	}
}

// A message too large to produce whole (the broker took it compressed) is
// dead-lettered as its first bytes, as many as the producer's record limit
// leaves room for beside key and headers, with its size and digest, instead
// of failing the group on the producer's limit.
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
	if key != "k" || !bytes.HasPrefix(big, value) ||
		string(h[stream.HeaderTruncated]) != "1500000" || string(h[stream.HeaderOriginalSHA256]) != hex.EncodeToString(sum[:]) ||
		string(h[stream.HeaderReason]) != string(codecs.ReasonOversized) {
		t.Errorf("dead letter: key %q, %d bytes, headers %q", key, len(value), h)
	}
	// The record fits the producer's limit, and is not cut shorter than it
	// must be.
	if n := recordSize(key, value, h); n > config.ProducerMaxBytes || n < config.ProducerMaxBytes-64 {
		t.Errorf("dead letter record is %d bytes, want at most and close to the producer's limit %d", n, config.ProducerMaxBytes)
	}
}

// A record whose key was null (the consumer marks it, see
// stream.WrapConsumerGroup) is dead-lettered with the mark, which the
// producer turns back into a null key; an empty key is not marked.
func TestDeadLetterOfANullKeyedMessageCarriesTheNullKeyMark(t *testing.T) {
	tt := tester.New(t)
	in := goka.Stream("agent-thinking-events")
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("g",
		goka.Input(in, new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking}, func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	dl := tt.NewQueueTracker(string(stream.DeadLetterStream))
	tt.Consume(string(in), "", []byte("null key"), tester.WithHeaders(goka.Headers{stream.HeaderNullKey: nil}))
	tt.Consume(string(in), "", []byte("empty key"))
	for _, want := range []bool{true, false} {
		h, key, value, ok := dl.NextRawWithHeaders()
		if !ok {
			t.Fatal("no dead letter")
		}
		if _, marked := h[stream.HeaderNullKey]; marked != want || key != "" {
			t.Errorf("dead letter of %q: key %q, null-key mark %v, want %v", value, key, marked, want)
		}
	}
}

// A tombstone on an event topic is dead-lettered with reason null_value,
// by Accept and by Keyed, instead of vanishing unseen.
func TestATombstoneIsDeadLetteredAsNullValue(t *testing.T) {
	tt := tester.New(t)
	m := stream.NewMetrics()
	events, keyed := goka.Stream("agent-thinking-events"), goka.Stream("keyed")
	applied := 0
	input, loop := stream.Keyed(m, func(raw []byte) (string, string, error) { return "k", string(raw), nil },
		func(goka.Context, string) { applied++ })
	runWithNilProcess(t, tt, goka.DefineGroup("accept",
		goka.Input(events, new(codec.Bytes), stream.Accept(codecs.Decoder{}, m, []string{codecs.TypeThinking}, func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	runWithNilProcess(t, tt, goka.DefineGroup("keyed",
		goka.Input(keyed, new(codec.Bytes), input),
		goka.Loop(new(codec.Bytes), loop),
		stream.DeadLetterOutput(),
	))
	dl := tt.NewQueueTracker(string(stream.DeadLetterStream))
	tt.Consume(string(events), "t1", nil)
	tt.Consume(string(keyed), "k", nil)
	for _, topic := range []goka.Stream{events, keyed} {
		h, key, value, ok := dl.NextRawWithHeaders()
		if !ok {
			t.Fatalf("no dead letter of the tombstone on %s", topic)
		}
		if string(h[stream.HeaderReason]) != string(stream.ReasonNullValue) || string(h[stream.HeaderTopic]) != string(topic) ||
			value != nil || key == "" || !strings.Contains(string(h[stream.HeaderError]), "tombstone") {
			t.Errorf("dead letter: key %q, value %q, headers %q", key, value, h)
		}
		if n := testutil.ToFloat64(m.DeadLetters.WithLabelValues(string(topic), string(stream.ReasonNullValue))); n != 1 {
			t.Errorf("%s: null_value dead letters counted %v, want 1", topic, n)
		}
	}
	if applied != 0 {
		t.Errorf("the tombstone was applied %d times", applied)
	}
}
