package stream

import (
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
)

// producer is the goka.Producer of every processor and emitter: goka's own,
// on a sarama AsyncProducer, except that a record emitted with key "" and
// HeaderNullKey is produced with a null key (goka's producer cannot send
// one) and without that header, that every delivery feeds the produce
// metrics of the seed document, and that a processor group's writes to its
// table's changelog may be merged per key (changelog.go).
type producer struct {
	p     sarama.AsyncProducer
	m     *Metrics // may be nil
	group string   // the processor group producing; "" outside one
	// merge holds the group's changelog writes; nil: none are merged.
	merge *changelogMerge
	// table is the group's table topic, whose records carry no group
	// header, and groupHeader the HeaderGroup every other record of the
	// group carries (set here rather than as goka's default headers, which
	// merge into a new map per emit).
	table       string
	groupHeader sarama.RecordHeader
	// children caches each topic's metric series (*topicMetrics), so a
	// delivery costs no label lookup.
	children sync.Map
	wg       sync.WaitGroup
}

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

// newProducer builds aistream's goka.Producer on p, which must return
// successes and errors (Producer.Return.*), as goka's producer requires,
// for the processor group named group ("" outside one). With a
// group and a flush interval above 0 it merges the writes to the group's
// table changelog (goka.GroupTable) per key, producing each key's latest
// every flush interval (changelog.go).
func newProducer(p sarama.AsyncProducer, m *Metrics, group string, flush time.Duration) *producer {
	pr := &producer{p: p, m: m, group: group}
	if group != "" {
		pr.table = string(goka.GroupTable(goka.Group(group)))
		pr.groupHeader = sarama.RecordHeader{Key: []byte(HeaderGroup), Value: []byte(group)}
	}
	if group != "" && flush > 0 {
		pr.merge = newChangelogMerge(pr, string(goka.GroupTable(goka.Group(group))), flush, changelogHoldBytes)
	}
	pr.wg.Add(2)
	go func() {
		defer pr.wg.Done()
		for e := range p.Errors() {
			pr.finish(e.Msg, e)
		}
	}()
	go func() {
		defer pr.wg.Done()
		for msg := range p.Successes() {
			pr.finish(msg, nil)
		}
	}()
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

// send hands a record to sarama.
func (p *producer) send(topic, key string, value []byte, headers goka.Headers, f inFlight) {
	msg := &sarama.ProducerMessage{Topic: topic, Metadata: f}
	if _, null := headers[HeaderNullKey]; !null || key != "" {
		msg.Key = sarama.StringEncoder(key)
	}
	if value != nil {
		msg.Value = sarama.ByteEncoder(value)
	}
	for k, v := range headers {
		if k != HeaderNullKey {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: v})
		}
	}
	if p.group != "" && topic != p.table {
		if _, set := headers[HeaderGroup]; !set {
			msg.Headers = append(msg.Headers, p.groupHeader)
		}
	}
	p.p.Input() <- msg
}

func (p *producer) finish(msg *sarama.ProducerMessage, err error) {
	f := msg.Metadata.(inFlight)
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

// Close produces the changelog writes held, flushes what is in flight, so
// that every promise is finished, and gives up after a minute like goka's
// producer.
func (p *producer) Close() error {
	if p.merge != nil {
		p.merge.close()
	}
	p.p.AsyncClose()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("producer close: records still in flight after a minute; they may or may not have been written")
	}
}
