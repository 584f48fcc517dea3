package stream_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// ack is what a promise finished with.
type ack struct {
	topic      string
	partition  int32
	offset     int64
	key, value []byte
	keyNull    bool
	err        error
	calls      int
}

// acks collects the promises of a producer's emits, by value.
type acks struct {
	mu sync.Mutex
	by map[string]*ack
}

func (a *acks) watch(value string, p *goka.Promise) {
	a.mu.Lock()
	a.by[value] = &ack{}
	a.mu.Unlock()
	p.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		r := a.by[value]
		r.calls++
		r.err = err
		if msg != nil {
			r.topic, r.partition, r.offset = msg.Topic, msg.Partition, msg.Offset
			r.keyNull = msg.Key == nil
			if msg.Key != nil {
				r.key, _ = msg.Key.Encode()
			}
			if msg.Value != nil {
				r.value, _ = msg.Value.Encode()
			}
		}
	})
}

func (a *acks) get(value string) ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.by[value]
}

// On a broker: the processors' producer places every keyed record as
// topology.PartitionFor (aiokafka, the Java client) does, "" included and
// kept an empty (not null) key; a record marked HeaderNullKey goes with a
// null key and without the mark; headers pass, every record but the
// table's carries the group header (an emit that sets it keeps its own);
// each promise finishes once with the record's topic, partition, offset,
// key and value; a dead letter cut to valueRoom fits the record limit and
// a record past it fails; Close returns with nothing in flight.
func TestIntegrationProducerKeysPartitionsHeadersAndAcks(t *testing.T) {
	env, prefix := kafkatest.Setup(t, func(prefix string) []topology.Group {
		return []topology.Group{{Name: prefix + "-prod", Partitions: 6, Table: true, Extra: []string{prefix + "-prod-out"}}}
	})
	name, out := prefix+"-prod", prefix+"-prod-out"
	table := topology.GroupTable(name)
	p, err := env.NewGroupProducer(name)
	if err != nil {
		t.Fatal(err)
	}
	a := &acks{by: map[string]*ack{}}
	const keyed = 300
	for i := range keyed {
		v := fmt.Sprintf("keyed-%d", i)
		a.watch(v, p.Emit(out, fmt.Sprintf("key-%d", i*7919), []byte(v)))
	}
	a.watch("empty", p.Emit(out, "", []byte("empty")))
	a.watch("null", p.EmitWithHeaders(out, "", []byte("null"), goka.Headers{stream.HeaderNullKey: nil, "x-h": []byte("1")}))
	a.watch("own-group", p.EmitWithHeaders(out, "k", []byte("own-group"), goka.Headers{stream.HeaderGroup: []byte("other")}))
	a.watch("table", p.Emit(table, "tk", []byte("table")))

	dlHeaders := goka.Headers{
		stream.HeaderReason: []byte("oversized"), stream.HeaderError: []byte("message larger than the limit"),
		stream.HeaderTopic: []byte(out), stream.HeaderPartition: []byte("5"), stream.HeaderOffset: []byte("123456"),
		stream.HeaderGroup: []byte(name), stream.HeaderTruncated: []byte("1500000"),
		stream.HeaderOriginalSHA256: bytes.Repeat([]byte("f"), 64),
	}
	big := bytes.Repeat([]byte("x"), stream.ValueRoom("dl-key", dlHeaders))
	copy(big, "big")
	a.watch("big", p.EmitWithHeaders(out, "dl-key", big, dlHeaders))
	tooBig := bytes.Repeat([]byte("y"), config.ProducerMaxBytes+1)
	a.watch("too-big", p.Emit(out, "k", tooBig))

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("close did not return")
	}

	recs := kafkatest.ReadUntil(t, out, 60*time.Second, func(*kgo.Record) bool { return true },
		func(rs []*kgo.Record) bool { return len(rs) >= keyed+4 })
	recs = append(recs, kafkatest.ReadUntil(t, table, 60*time.Second, func(*kgo.Record) bool { return true },
		func(rs []*kgo.Record) bool { return len(rs) >= 1 })...)
	for _, r := range recs {
		v := string(r.Value)
		if bytes.HasPrefix(r.Value, []byte("big")) {
			v = "big"
		}
		got := a.get(v)
		if got.calls != 1 || got.err != nil {
			t.Errorf("%s: promise finished %d times, error %v", v, got.calls, got.err)
		}
		if got.topic != r.Topic || got.partition != r.Partition || got.offset != r.Offset ||
			got.keyNull != (r.Key == nil) || !bytes.Equal(got.key, r.Key) || !bytes.Equal(got.value, r.Value) {
			t.Errorf("%s: promise finished with %s/%d@%d key %q (null %v), %d value bytes; the record is %s/%d@%d key %q (null %v), %d bytes",
				v, got.topic, got.partition, got.offset, got.key, got.keyNull, len(got.value), r.Topic, r.Partition, r.Offset, r.Key, r.Key == nil, len(r.Value))
		}
		if r.Key != nil {
			if want := topology.PartitionFor(r.Key, 6); r.Partition != want {
				t.Errorf("%s: key %q on partition %d, want %d", v, r.Key, r.Partition, want)
			}
		}
		group := kafkatest.Header(r, stream.HeaderGroup)
		for _, h := range r.Headers {
			if h.Key == stream.HeaderNullKey {
				t.Errorf("%s carries %s", v, h.Key)
			}
		}
		switch v {
		case "empty":
			if r.Key == nil || len(r.Key) != 0 {
				t.Errorf("empty key produced as %q (null %v), want an empty key", r.Key, r.Key == nil)
			}
		case "null":
			if r.Key != nil || kafkatest.Header(r, "x-h") != "1" {
				t.Errorf("null-key record: key %q (null %v), x-h %q; want a null key and the header", r.Key, r.Key == nil, kafkatest.Header(r, "x-h"))
			}
		case "own-group":
			if group != "other" || len(r.Headers) != 1 {
				t.Errorf("an emit's own group header: %v", r.Headers)
			}
		case "table":
			if group != "" {
				t.Errorf("the table's changelog record carries %s=%q", stream.HeaderGroup, group)
			}
		case "big":
			if len(r.Value) != len(big) {
				t.Errorf("dead letter at the limit: %d bytes, want %d", len(r.Value), len(big))
			}
		}
		if v != "table" && v != "own-group" && group != name {
			t.Errorf("%s: %s = %q, want %q", v, stream.HeaderGroup, group, name)
		}
	}
	if got := a.get("too-big"); got.calls != 1 || got.err == nil {
		t.Errorf("a record past config.ProducerMaxBytes: promise finished %d times with %v, want once with an error", got.calls, got.err)
	}
	if n := testutil.ToFloat64(env.Metrics.Produced.WithLabelValues(out, name)); int(n) != keyed+4 {
		t.Errorf("produced to %s: %v, want %d", out, n, keyed+4)
	}
	if n := testutil.ToFloat64(env.Metrics.ProduceErrors.WithLabelValues(out)); n != 1 {
		t.Errorf("produce errors on %s: %v, want 1", out, n)
	}
}

// On a broker: a key's records reach its partition in the order emitted.
func TestIntegrationProducerKeepsOrderPerKey(t *testing.T) {
	env, prefix := kafkatest.Setup(t, func(prefix string) []topology.Group {
		return []topology.Group{{Name: prefix + "-ord", Partitions: 3, Extra: []string{prefix + "-ord-out"}}}
	})
	out := prefix + "-ord-out"
	p, err := env.NewGroupProducer(prefix + "-ord")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		p.Emit(out, fmt.Sprint(i%4), fmt.Appendf(nil, "%06d", i))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	kafkatest.ReadUntil(t, out, 60*time.Second, func(r *kgo.Record) bool {
		if k, v := string(r.Key), string(r.Value); v <= last[k] {
			t.Errorf("key %s: %s after %s", k, v, last[k])
		} else {
			last[k] = v
		}
		return true
	}, func(rs []*kgo.Record) bool { return len(rs) >= n })
}

// A broker that dies under the producer fails the emits still to be
// written (and with them the processor), within the delivery timeout,
// and Close returns: no hang.
func TestProducerDeadBrokerFailsEmits(t *testing.T) {
	t.Parallel() // it waits out the delivery timeout
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "out"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := config.Kafka{BootstrapServers: c.ListenAddrs(), SecurityProtocol: "PLAINTEXT", ClientID: "aistream-test"}.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	env := &stream.Env{Brokers: c.ListenAddrs(), Sarama: sc, Log: zerolog.Nop(), Metrics: stream.NewMetrics()}
	p, err := env.NewGroupProducer("g")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	p.Emit("out", "k", []byte("1")).Then(func(err error) { first <- err })
	if err := <-first; err != nil {
		t.Fatalf("emit to the live broker: %v", err)
	}
	c.Close()
	failed := make(chan error, 1)
	start := time.Now()
	p.Emit("out", "k", []byte("2")).Then(func(err error) { failed <- err })
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("an emit to a dead broker succeeded")
		}
		t.Logf("failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(2 * time.Minute):
		t.Fatal("an emit to a dead broker neither failed nor succeeded in 2 minutes")
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case <-closed:
	case <-time.After(90 * time.Second):
		t.Fatal("close hangs on a dead broker")
	}
}
