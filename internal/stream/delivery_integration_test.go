package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// inputOf is a group whose input is a one-partition topic of its own, so
// that its offsets and dead letters are the test's alone.
func inputOf(name string) func(prefix string) []topology.Group {
	return func(prefix string) []topology.Group {
		return []topology.Group{{Name: prefix + "-" + name, Partitions: 1, Extra: []string{prefix + "-" + name + "-in"}}}
	}
}

// On a broker: a malformed record with a null key is dead-lettered with a
// null key (not ""), a tombstone is dead-lettered as null_value instead of
// being dropped, and a 1,040,000-byte event the broker took uncompressed is
// dead-lettered whole.
func TestIntegrationDeadLettersKeepNullKeysTombstonesAndWholeEvents(t *testing.T) {
	env, prefix := kafkatest.Setup(t, inputOf("dl"))
	in := prefix + "-dl-in"
	group := goka.DefineGroup(goka.Group(prefix+"-dl"),
		goka.Input(goka.Stream(in), new(codec.Bytes),
			stream.Accept(codecs.Decoder{}, env.Metrics, []string{codecs.TypeThinking}, func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	)
	kafkatest.RunGroups(t, env, stream.Options{}, stream.Group{Name: "dl", Graph: func(stream.Options) *goka.GroupGraph { return group }})

	big := bytes.Repeat([]byte("x"), 1_040_000)
	cl := kafkatest.Client(t, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerBatchMaxBytes(1048588))
	kafkatest.Produce(t, cl,
		&kgo.Record{Topic: in, Key: nil, Value: []byte("not json")},
		&kgo.Record{Topic: in, Key: []byte("tenant"), Value: nil},
		&kgo.Record{Topic: in, Key: []byte("big"), Value: big})

	got := kafkatest.ReadUntil(t, topology.DeadLetters, 60*time.Second,
		func(r *kgo.Record) bool { return kafkatest.Header(r, stream.HeaderTopic) == in },
		func(rs []*kgo.Record) bool { return len(rs) >= 3 })
	byOffset := map[string]*kgo.Record{}
	for _, r := range got {
		byOffset[kafkatest.Header(r, stream.HeaderOffset)] = r
		for _, h := range r.Headers {
			if h.Key == stream.HeaderNullKey {
				t.Errorf("dead letter at source offset %s carries the internal header %s", kafkatest.Header(r, stream.HeaderOffset), h.Key)
			}
		}
	}
	if r := byOffset["0"]; r == nil || r.Key != nil || string(r.Value) != "not json" || kafkatest.Header(r, stream.HeaderReason) != string(codecs.ReasonNotJSON) {
		t.Errorf("dead letter of the null-keyed record: %s", describe(r))
	}
	if r := byOffset["1"]; r == nil || string(r.Key) != "tenant" || r.Value != nil || kafkatest.Header(r, stream.HeaderReason) != string(stream.ReasonNullValue) {
		t.Errorf("dead letter of the tombstone: %s", describe(r))
	}
	if r := byOffset["2"]; r == nil || string(r.Key) != "big" || !bytes.Equal(r.Value, big) || kafkatest.Header(r, stream.HeaderTruncated) != "" {
		t.Errorf("dead letter of the 1,040,000-byte event: %s", describe(r))
	}
	kafkatest.Eventually(t, 10*time.Second, "dead letters counted as produced by the group", func() bool {
		return testutil.ToFloat64(env.Metrics.Produced.WithLabelValues(topology.DeadLetters, prefix+"-dl")) >= 3
	})
	if n := testutil.ToFloat64(env.Metrics.DeadLetters.WithLabelValues(in, string(codecs.ReasonNotJSON))); n != 1 {
		t.Errorf("aistream_dead_letters_total{source_topic=%q,reason=not_json} = %v, want 1", in, n)
	}
}

func describe(r *kgo.Record) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("key %q (null %v), value of %d bytes (null %v), reason %q, truncated-from %q",
		r.Key, r.Key == nil, len(r.Value), r.Value == nil, kafkatest.Header(r, stream.HeaderReason), kafkatest.Header(r, stream.HeaderTruncated))
}

// On a broker: message 0 emits to an output whose produce has not succeeded
// when the processor fails, message 1 emits nothing and is done at once. The
// group must not have committed past message 0, so after a restart message
// 0 is processed again and its output is not lost.
func TestIntegrationACrashDoesNotSkipAMessageWhoseEmitsWereInFlight(t *testing.T) {
	env, prefix := kafkatest.Setup(t, inputOf("order"))
	in, out, name := prefix+"-order-in", prefix+"-order-out", prefix+"-order"
	// out does not exist yet: the producer retries its metadata, then fails
	// the emit and with it the processor, long after message 1 is done.
	group := goka.DefineGroup(goka.Group(name),
		goka.Input(goka.Stream(in), new(codec.Bytes), func(ctx goka.Context, msg any) {
			if string(msg.([]byte)) == "slow" {
				ctx.Emit(goka.Stream(out), ctx.Key(), msg)
			}
		}),
		goka.Output(goka.Stream(out), new(codec.Bytes)),
	)
	g := stream.Group{Name: "order", Graph: func(stream.Options) *goka.GroupGraph { return group }}
	cl := kafkatest.Client(t)
	admin := kadm.NewClient(cl)

	ctx, cancel := context.WithCancel(context.Background())
	r := stream.NewRunner(env)
	if _, err := r.AddGroup(g, stream.Options{}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- r.Run(ctx) }()
	ready, cancelReady := context.WithTimeout(ctx, 90*time.Second)
	if err := r.WaitReady(ready); err != nil {
		t.Fatal(err)
	}
	cancelReady()
	kafkatest.Produce(t, cl,
		&kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("slow")},
		&kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("fast")})
	select {
	case <-errs:
	case <-time.After(90 * time.Second):
		t.Fatal("the processor did not fail on the emit to a missing topic")
	}
	cancel()

	offsets, err := admin.FetchOffsets(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(in, 0); ok && o.At > 0 {
		t.Errorf("committed offset %d: message 0, whose emit failed, would never be processed again", o.At)
	}

	if _, err := admin.CreateTopic(context.Background(), 1, 1, nil, out); err != nil {
		t.Fatal(err)
	}
	kafkatest.RunGroups(t, env, stream.Options{}, g)
	kafkatest.ReadUntil(t, out, 60*time.Second,
		func(r *kgo.Record) bool { return string(r.Value) == "slow" },
		func(rs []*kgo.Record) bool { return len(rs) > 0 })
}

// On a broker: every record a group emits names the group in
// HeaderGroup, an output and a loop record alike, next to the trace
// headers it passes on. Other deployments on the cluster read the same
// contract topics and write the same ids (a benchmark's replicas once
// added an insight to the crash test's outputs); the header is how a
// reader tells whose output a record is.
func TestIntegrationEveryEmittedRecordNamesItsGroup(t *testing.T) {
	env, prefix := kafkatest.Setup(t, func(prefix string) []topology.Group {
		return []topology.Group{{Name: prefix + "-hdr", Partitions: 1, Loop: true, Extra: []string{prefix + "-hdr-in", prefix + "-hdr-out"}}}
	})
	in, out, name := goka.Stream(prefix+"-hdr-in"), goka.Stream(prefix+"-hdr-out"), goka.Group(prefix+"-hdr")
	group := goka.DefineGroup(name,
		goka.Input(in, new(codec.String), stream.Traced(func(ctx goka.Context, msg any) {
			ctx.Emit(out, ctx.Key(), "from input")
			ctx.Loopback(ctx.Key(), msg)
		})),
		goka.Loop(new(codec.String), func(ctx goka.Context, msg any) { ctx.Emit(out, ctx.Key(), "from loop") }),
		goka.Output(out, new(codec.String)),
	)
	kafkatest.RunGroups(t, env, stream.Options{}, stream.Group{Name: "hdr", Graph: func(stream.Options) *goka.GroupGraph { return group }})

	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	kafkatest.Produce(t, kafkatest.Client(t), &kgo.Record{Topic: string(in), Key: []byte("k"), Value: []byte("event"),
		Headers: []kgo.RecordHeader{{Key: stream.HeaderTraceparent, Value: []byte(traceparent)}}})

	got := kafkatest.ReadUntil(t, string(out), 60*time.Second, func(*kgo.Record) bool { return true },
		func(rs []*kgo.Record) bool { return len(rs) >= 2 })
	loop := kafkatest.ReadUntil(t, string(name)+"-loop", 60*time.Second, func(*kgo.Record) bool { return true },
		func(rs []*kgo.Record) bool { return len(rs) >= 1 })
	for _, r := range append(got, loop...) {
		if g := kafkatest.Header(r, stream.HeaderGroup); g != string(name) {
			t.Errorf("%s record %q: %s = %q, want %q", r.Topic, r.Value, stream.HeaderGroup, g, name)
		}
	}
	for _, r := range got {
		if tp := kafkatest.Header(r, stream.HeaderTraceparent); string(r.Value) == "from input" && tp != traceparent {
			t.Errorf("output of the traced input: traceparent = %q, want %q (kept beside the group)", tp, traceparent)
		}
	}
}
