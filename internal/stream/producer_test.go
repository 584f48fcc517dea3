package stream

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/topology"
)

// The franz-go producer places every keyed record where sarama's
// partitioner on topology.NewHash (the producer's until now, the views'
// lookup) places it, for many keys and partition counts, "" included.
func TestProducerPartitionsLikeSaramasHashPartitioner(t *testing.T) {
	sp := sarama.NewCustomHashPartitioner(topology.NewHash)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"", "a", "tenant-1", "trace-4bf92f3577b34da6a3ce929d0e0e4736"}
	for range 20000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		keys = append(keys, string(b))
	}
	kp := kgo.StickyKeyPartitioner(partitionFor).ForTopic("t")
	for _, n := range []int32{1, 2, 3, 6, 7, 12, 32, 100} {
		p := sp("t")
		for _, k := range keys {
			want, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, n)
			if err != nil {
				t.Fatal(err)
			}
			r := &kgo.Record{Key: []byte(k)}
			if !kp.RequiresConsistency(r) {
				t.Fatalf("key %q: not partitioned by key", k)
			}
			if got := kp.Partition(r, int(n)); int32(got) != want {
				t.Fatalf("key %q, %d partitions: franz-go producer %d, sarama %d", k, n, got, want)
			}
		}
	}
}

// Each record's promise finishes exactly once, with the record's ack or
// its error; the metrics count each once.
func TestProducerFinishesEachPromiseOnce(t *testing.T) {
	f := newFakeSink()
	m := NewMetrics()
	p := newProducer(f, m, testGroup, 0)
	calls := make([]int, 4)
	errs := make([]error, 4)
	for i := range calls {
		p.send("out", fmt.Sprint(i), []byte("v"), nil, inFlight{start: time.Now(), finish: func(_ *sarama.ProducerMessage, err error) *goka.Promise {
			calls[i]++
			errs[i] = err
			return nil
		}})
	}
	f.waitSent(t, 4)
	first, _ := f.take()
	f.ack(first)
	second, _ := f.take()
	f.fail(second, kgo.ErrRecordTimeout)
	closeProducer(t, p, f) // acks the other two
	for i, n := range calls {
		if n != 1 {
			t.Errorf("record %d: promise finished %d times", i, n)
		}
	}
	if errs[0] != nil || errs[2] != nil || errs[3] != nil {
		t.Errorf("acknowledged records finished with %v", errs)
	}
	if errs[1] == nil || !errors.Is(errs[1], kgo.ErrRecordTimeout) {
		t.Errorf("failed record finished with %v, want %v", errs[1], kgo.ErrRecordTimeout)
	}
	if got := testutil.ToFloat64(m.Produced.WithLabelValues("out", testGroup)); got != 3 {
		t.Errorf("produced %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.ProduceErrors.WithLabelValues("out")); got != 1 {
		t.Errorf("produce errors %v, want 1", got)
	}
}

// The client is built with acks=all, idempotence (no duplicates, no
// reordering within a partition on a retry), no compression, the record
// limit config.ProducerMaxBytes and a bounded delivery; a sarama
// configuration asking for other acks or compression is refused, not
// silently changed.
func TestProducerClientSettings(t *testing.T) {
	sc, err := config.Kafka{BootstrapServers: []string{"127.0.0.1:1"}, SecurityProtocol: "PLAINTEXT", ClientID: "aistream-test"}.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := newFranzClient([]string{"127.0.0.1:1"}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := cl.OptValue(kgo.RequiredAcks); got != kgo.AllISRAcks() {
		t.Errorf("acks %v, want all", got)
	}
	if got := cl.OptValue(kgo.DisableIdempotentWrite); got != false {
		t.Errorf("idempotence disabled: %v", got)
	}
	if got, _ := cl.OptValue(kgo.ProducerBatchCompression).([]kgo.CompressionCodec); len(got) != 1 || got[0] != kgo.NoCompression() {
		t.Errorf("compression %v, want none", got)
	}
	if got := cl.OptValue(kgo.ProducerBatchMaxBytes); got != int32(config.ProducerMaxBytes) {
		t.Errorf("record limit %v, want %d", got, config.ProducerMaxBytes)
	}
	if got, _ := cl.OptValue(kgo.RecordDeliveryTimeout).(time.Duration); got <= 0 || got >= closeTimeout {
		t.Errorf("delivery timeout %v, want one above 0 and below %v", got, closeTimeout)
	}
	if got := cl.OptValue(kgo.AllowIdempotentProduceCancellation); got != true {
		t.Errorf("records in flight cannot time out (%v): a dead broker would hold the processor", got)
	}
	for name, change := range map[string]func(*sarama.Config){
		"acks=1":      func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.WaitForLocal },
		"compression": func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionSnappy },
	} {
		c := *sc
		change(&c)
		if cl, err := newFranzClient([]string{"127.0.0.1:1"}, &c); err == nil {
			cl.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// Keys and headers as produced: "" with HeaderNullKey is a null key and
// the mark is dropped; "" alone stays an empty, non-null key; headers pass;
// every record of the group but its table's changelog carries the group
// header, and an emit's own group header is kept instead.
func TestProducerKeysAndHeaders(t *testing.T) {
	f := newFakeSink()
	p := newProducer(f, nil, testGroup, 0)
	fin := func(*sarama.ProducerMessage, error) *goka.Promise { return nil }
	p.send("out", "", []byte("null"), goka.Headers{HeaderNullKey: nil, "x-h": []byte("1")}, inFlight{finish: fin})
	p.send("out", "", []byte("empty"), nil, inFlight{finish: fin})
	p.send("out", "k", []byte("own"), goka.Headers{HeaderGroup: []byte("other")}, inFlight{finish: fin})
	p.send(testChangelog, "k", []byte("table"), nil, inFlight{finish: fin})
	p.send("out", "k", []byte("keyed"), nil, inFlight{finish: fin})
	rs := f.waitSent(t, 5)
	headers := func(r *kgo.Record) map[string]string {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		return h
	}
	want := []struct {
		key     string
		null    bool
		headers map[string]string
	}{
		{"", true, map[string]string{"x-h": "1", HeaderGroup: testGroup}},
		{"", false, map[string]string{HeaderGroup: testGroup}},
		{"k", false, map[string]string{HeaderGroup: "other"}},
		{"k", false, map[string]string{}},
		{"k", false, map[string]string{HeaderGroup: testGroup}},
	}
	for i, w := range want {
		r := rs[i]
		if (r.Key == nil) != w.null || string(r.Key) != w.key {
			t.Errorf("%s: key %q (null %v), want %q (null %v)", r.Value, r.Key, r.Key == nil, w.key, w.null)
		}
		if got := headers(r); fmt.Sprint(got) != fmt.Sprint(w.headers) || len(r.Headers) != len(w.headers) {
			t.Errorf("%s: headers %v, want %v", r.Value, r.Headers, w.headers)
		}
	}
	closeProducer(t, p, f)
}

// Close waits for the records in flight only so long (a minute in
// production), then fails them, finishing each promise once with an
// error, and says so.
func TestProducerCloseGivesUp(t *testing.T) {
	f := newFakeSink()
	p := newProducer(f, NewMetrics(), testGroup, 0)
	p.closeWait = 50 * time.Millisecond
	var mu sync.Mutex
	calls, failed := 0, 0
	for i := range 3 {
		p.send("out", fmt.Sprint(i), []byte("v"), nil, inFlight{start: time.Now(), finish: func(_ *sarama.ProducerMessage, err error) *goka.Promise {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if err != nil {
				failed++
			}
			return nil
		}})
	}
	f.waitSent(t, 3) // never answered
	if err := p.Close(); err == nil {
		t.Error("close with records never answered: no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || failed != 3 {
		t.Errorf("promises finished %d times, %d with an error; want 3 and 3", calls, failed)
	}
}
