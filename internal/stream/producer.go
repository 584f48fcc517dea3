package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/topology"
)

// producer is the goka.Producer of every processor: a franz-go client
// (sarama's AsyncProducer cost a large share of a hot key's CPU: four
// channel hops, a message and two encoders per record), except that a
// record emitted with key "" and HeaderNullKey is produced with a null key
// (goka's producer cannot send one) and without that header, that every
// delivery feeds the produce metrics of the seed document, and that a
// processor group's writes to its table's changelog may be merged per key
// (changelog.go). goka's promises take a *sarama.ProducerMessage: each
// finishes with one carrying the acknowledged Topic, Partition, Offset
// (goka's SetValue callback stores it as the table offset), Key, Value and
// Timestamp, and with the error on failure.
type producer struct {
	cl    sink
	m     *Metrics // may be nil
	group string   // the processor group producing; "" outside one
	// merge holds the group's changelog writes; nil: none are merged.
	merge *changelogMerge
	// table is the group's table topic, whose records carry no group
	// header, and groupHeader the HeaderGroup every other record of the
	// group carries (set here rather than as goka's default headers, which
	// merge into a new map per emit).
	table       string
	groupHeader kgo.RecordHeader
	// children caches each topic's metric series (*topicMetrics), so a
	// delivery costs no label lookup.
	children sync.Map
	// inFlight counts the records handed to cl whose promise has not
	// finished; ack is p.acked, bound once (a method value per record
	// would allocate).
	inFlight sync.WaitGroup
	ack      func(*kgo.Record, error)
	// closeWait is how long Close waits for the records in flight
	// (closeTimeout; shorter in tests).
	closeWait time.Duration
}

// sink is what the producer hands its records to: a *kgo.Client, or a
// test's fake broker. Produce calls promise once per record, in order per
// partition; Flush returns once every record produced before it has had
// its promise called; Close fails whatever is still buffered.
type sink interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Flush(ctx context.Context) error
	Close()
}

// closeTimeout is how long Close waits for the records in flight, as
// goka's producer does, before failing them.
const closeTimeout = time.Minute

// produceDeliveryTimeout bounds how long a record may wait for the broker
// (retries included) before its promise fails: a dead or unreachable
// broker fails the processor instead of holding it. It is below the
// minute goka waits for a revoked partition's promises.
const produceDeliveryTimeout = 30 * time.Second

// produceBufferBytes bounds the bytes (keys, values, headers) of the
// records produced and not yet acknowledged; an emit past it waits, as an
// emit into sarama's full input channel did. A memory bound, above the
// largest record (config.ProducerMaxBytes).
const produceBufferBytes = 64 << 20

// topicMetrics are one topic's produce series of a producer.
type topicMetrics struct {
	produced, errors prometheus.Counter
	latency          prometheus.Observer
}

func (p *producer) series(topic string) *topicMetrics {
	if c, ok := p.children.Load(topic); ok {
		return c.(*topicMetrics)
	}
	c, _ := p.children.LoadOrStore(topic, &topicMetrics{
		produced: p.m.Produced.WithLabelValues(topic, p.group),
		errors:   p.m.ProduceErrors.WithLabelValues(topic),
		latency:  p.m.ProduceLatency.WithLabelValues(topic),
	})
	return c.(*topicMetrics)
}

// inFlight is what a produced record carries until the broker answers.
type inFlight struct {
	finish goka.PromiseFinisher
	start  time.Time
	// superseded are the promises of the earlier writes of the record's
	// key that it replaced (changelog.go): they finish with it.
	superseded []goka.PromiseFinisher
}

// record is one record from its send to its promise, in one allocation:
// the franz-go record, the sarama message goka's promises finish with,
// and what finishing needs. It is the franz-go record's Context (one that
// is never done: a record is failed by the delivery timeout, not by
// cancelling), which is how the promise, shared by every record, finds it.
type record struct {
	kr  kgo.Record
	msg sarama.ProducerMessage
	f   inFlight
}

func (*record) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*record) Done() <-chan struct{}       { return nil }
func (*record) Err() error                  { return nil }
func (*record) Value(any) any               { return nil }

// partitionFor places a keyed record where the AI Service's aiokafka and
// the Java client do (topology.PartitionFor), as goka's views look it up;
// kgo.StickyKeyPartitioner spreads null-key records one batch at a time.
func partitionFor(key []byte, n int) int { return int(topology.PartitionFor(key, int32(n))) }

// newFranzClient builds the franz-go client of a producer for brokers,
// with the client id, TLS, SASL and producer settings of sc (acks,
// compression, record limit, retries; config.Kafka.Sarama). It is
// idempotent, so retries neither reorder nor duplicate a partition's
// records (the changelog merge relies on its flush order); the retry
// bound and produceDeliveryTimeout also fail a record that was sent, so a
// dead broker ends in an error, not a hang.
func newFranzClient(brokers []string, sc *sarama.Config) (*kgo.Client, error) {
	if sc.Producer.RequiredAcks != sarama.WaitForAll || sc.Producer.Compression != sarama.CompressionNone {
		return nil, fmt.Errorf("producer: acks %d and compression %s; aistream produces with acks=all (-1) and no compression (config.Kafka.Sarama)",
			sc.Producer.RequiredAcks, sc.Producer.Compression)
	}
	opts, err := config.FranzFor(brokers, sc)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(partitionFor)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(int32(sc.Producer.MaxMessageBytes)),
		kgo.ProducerLinger(sc.Producer.Flush.Frequency),
		kgo.RecordRetries(sc.Producer.Retry.Max),
		kgo.RecordDeliveryTimeout(produceDeliveryTimeout),
		kgo.AllowIdempotentProduceCancellation(),
		kgo.MaxBufferedBytes(produceBufferBytes),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create producer: %w", err)
	}
	return cl, nil
}

// newProducer builds aistream's goka.Producer on cl for the processor
// group named group ("" outside one). With a group and a flush interval
// above 0 it merges the writes to the group's table changelog
// (goka.GroupTable) per key, producing each key's latest every flush
// interval (changelog.go).
func newProducer(cl sink, m *Metrics, group string, flush time.Duration) *producer {
	pr := &producer{cl: cl, m: m, group: group, closeWait: closeTimeout}
	pr.ack = pr.acked
	if group != "" {
		pr.table = string(goka.GroupTable(goka.Group(group)))
		pr.groupHeader = kgo.RecordHeader{Key: HeaderGroup, Value: []byte(group)}
	}
	if group != "" && flush > 0 {
		pr.merge = newChangelogMerge(pr, string(goka.GroupTable(goka.Group(group))), flush, changelogHoldBytes)
	}
	return pr
}

func (p *producer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *producer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	if p.merge != nil && p.merge.hold(topic, key, value, headers, finish) {
		return promise
	}
	p.send(topic, key, value, headers, inFlight{finish: finish, start: time.Now()})
	return promise
}

// send hands a record to the client.
func (p *producer) send(topic, key string, value []byte, headers goka.Headers, f inFlight) {
	r := &record{f: f}
	r.kr.Topic, r.kr.Value, r.kr.Context = topic, value, r
	if _, null := headers[HeaderNullKey]; !null || key != "" {
		r.kr.Key = []byte(key) // never nil, "" included
	}
	group := p.group != "" && topic != p.table
	if group {
		if _, set := headers[HeaderGroup]; set {
			group = false
		}
	}
	if n := len(headers); n > 0 || group {
		if group {
			n++
		}
		r.kr.Headers = make([]kgo.RecordHeader, 0, n)
	}
	for k, v := range headers {
		if k != HeaderNullKey {
			r.kr.Headers = append(r.kr.Headers, kgo.RecordHeader{Key: k, Value: v})
		}
	}
	if group {
		r.kr.Headers = append(r.kr.Headers, p.groupHeader)
	}
	p.inFlight.Add(1)
	p.cl.Produce(context.Background(), &r.kr, p.ack)
}

// acked is every record's promise.
func (p *producer) acked(kr *kgo.Record, err error) {
	r := kr.Context.(*record)
	r.msg = sarama.ProducerMessage{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Timestamp: kr.Timestamp}
	if kr.Key != nil {
		r.msg.Key = sarama.ByteEncoder(kr.Key)
	}
	if kr.Value != nil {
		r.msg.Value = sarama.ByteEncoder(kr.Value)
	}
	if err != nil {
		err = fmt.Errorf("produce to %s: %w", kr.Topic, err)
	}
	p.finish(&r.msg, r.f, err)
	p.inFlight.Done()
}

func (p *producer) finish(msg *sarama.ProducerMessage, f inFlight, err error) {
	if p.m != nil {
		s := p.series(msg.Topic)
		if err != nil {
			s.errors.Inc()
		} else {
			s.produced.Inc()
			s.latency.Observe(time.Since(f.start).Seconds())
		}
	}
	// The superseded writes first: goka counts a message done once all of
	// its promises are, whichever finishes last.
	for _, s := range f.superseded {
		s(msg, err)
	}
	f.finish(msg, err)
}

// Close produces the changelog writes held and waits for what is in
// flight, so that every promise is finished; after a minute (as goka's
// producer) it fails what is left and says so.
func (p *producer) Close() error {
	if p.merge != nil {
		p.merge.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.closeWait)
	defer cancel()
	flushed := p.cl.Flush(ctx)
	p.cl.Close() // fails whatever is still buffered
	done := make(chan struct{})
	go func() {
		p.inFlight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("producer close: promises still unfinished after the client closed")
	}
	if flushed != nil {
		return fmt.Errorf("producer close: records still in flight after a minute were failed; they may or may not have been written")
	}
	return nil
}
