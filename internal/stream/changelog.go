package stream

import (
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
)

// changelogHoldBytes bounds the bytes (keys and values) of the changelog
// writes a producer holds: a write that takes them past it produces them
// all at once. Like the storage's batch (restoreBatchBytes) it is a memory
// bound, not a tuning knob.
const changelogHoldBytes = 1 << 20

// changelogMerge is the changelog half of aistream's equivalent of Kafka
// Streams' record cache (the store half is leveldbStorage's pending map):
// every ctx.SetValue and ctx.Delete of a goka handler produces the key's
// whole encoded value to the group table's changelog (<group>-table), so a
// hot key (a trace whose graph has grown to hundreds of KB) produced its
// whole value once per event. The producer holds the latest write of each
// key (a nil value, a tombstone, is a write like any other) and produces it
// once the flush interval has passed, once the bytes held reach
// changelogHoldBytes, and on Close: a key written n times between two
// flushes costs one record. Only the group's own changelog is merged:
// outputs, the loop topic and every other topic are produced as emitted.
//
// Promises: the promise of a write that a later write of its key
// superseded finishes when the record that superseded it is acknowledged,
// with that record (goka's SetValue callback sets the table offset from it)
// or with its error, so a failure reaches every write it carried.
//
// At-least-once (read from goka v1.1.16): context.go counts every emit of
// a message, the table write included, and its tryCommit commits the
// message only once the callback has returned and every emit's promise
// has finished without error; an error fails the processor instead of
// committing. So an input whose write is held (or superseded by a held
// one) is not committed until that write is on the changelog, and
// consume.go's orderedSession commits a partition only up to the first
// message not done, so no later input's commit covers it. On a rebalance
// goka's Cleanup stops each partition processor, whose run waits (up to a
// minute) for every message's promises before sarama commits the session's
// offsets; the flush interval keeps running meanwhile, so held writes are
// produced and their inputs committed. The producer itself closes only
// after every partition processor stopped (goka's Processor.Run), and
// Close produces whatever is still held first.
//
// Crash recovery: a crash loses only held writes, which were never
// acknowledged, so none of their inputs were committed: they are
// redelivered and written again. The local store may be ahead of the
// changelog as it is without merging (the store is written before the
// produce); its offset on disk is always one the changelog acknowledged.
//
// Latency: outputs are not delayed (they are not held), but a view or a
// hot-standby replica of the table sees a key's latest value up to the
// flush interval (plus the produce) later, and an input's offset is
// committed only after its table write was flushed, so consumer lag and
// redelivery after a crash grow by up to the interval.
//
// Order: each key has at most one held write, and flushes hand their
// records to the client one flush after another, so a key's records reach the
// changelog in the order they were written.
type changelogMerge struct {
	p        *producer
	topic    string
	maxBytes int
	merged   prometheus.Counter // may be nil

	mu     sync.Mutex
	held   map[string]*heldWrite
	order  []string // held's keys in the order first held, produced in it
	size   int
	closed bool

	// sendMu serializes flushes, so a key's writes reach the client in order;
	// spare and spareOrder are the emptied map and slice of the previous
	// flush, reused by the next (sendMu is held).
	sendMu     sync.Mutex
	spare      map[string]*heldWrite
	spareOrder []string

	stop, done chan struct{}
}

// heldWrite is the latest write of a key not yet produced.
type heldWrite struct {
	value      []byte
	headers    goka.Headers
	start      time.Time // when the first write held for the key came
	finish     goka.PromiseFinisher
	superseded []goka.PromiseFinisher
}

// newChangelogMerge starts merging p's writes to topic, produced every
// interval or once maxBytes are held.
func newChangelogMerge(p *producer, topic string, interval time.Duration, maxBytes int) *changelogMerge {
	m := &changelogMerge{p: p, topic: topic, maxBytes: maxBytes, held: map[string]*heldWrite{}, spare: map[string]*heldWrite{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if p.m != nil {
		m.merged = p.m.ChangelogMerged.WithLabelValues(p.group)
	}
	go m.tick(interval)
	return m
}

func (m *changelogMerge) tick(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.flush(false)
		case <-m.stop:
			return
		}
	}
}

// hold takes a write to be merged and reports whether it did: writes to
// other topics, and records with a null key, are not merged.
func (m *changelogMerge) hold(topic, key string, value []byte, headers goka.Headers, finish goka.PromiseFinisher) bool {
	if topic != m.topic {
		return false
	}
	if _, null := headers[HeaderNullKey]; null && key == "" {
		return false
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		// After Close (goka never emits then): produced at once, after
		// what Close flushed.
		m.sendMu.Lock()
		m.p.send(topic, key, value, headers, inFlight{finish: finish, start: time.Now()})
		m.sendMu.Unlock()
		return true
	}
	if h, ok := m.held[key]; ok {
		h.superseded = append(h.superseded, h.finish)
		h.finish = finish
		m.size += len(value) - len(h.value)
		h.value, h.headers = value, headers
	} else {
		m.held[key] = &heldWrite{value: value, headers: headers, start: time.Now(), finish: finish}
		m.order = append(m.order, key)
		m.size += len(key) + len(value)
	}
	full := m.size >= m.maxBytes
	m.mu.Unlock()
	if full {
		m.flush(false)
	}
	return true
}

// flush produces every held write; with closing, none are held after it.
func (m *changelogMerge) flush(closing bool) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	m.mu.Lock()
	m.closed = m.closed || closing
	if len(m.order) == 0 {
		m.mu.Unlock()
		return
	}
	held, order := m.held, m.order
	m.held, m.order, m.size = m.spare, m.spareOrder[:0], 0
	m.mu.Unlock()
	merged := 0
	for _, k := range order {
		h := held[k]
		merged += len(h.superseded)
		m.p.send(m.topic, k, h.value, h.headers, inFlight{finish: h.finish, start: h.start, superseded: h.superseded})
	}
	clear(held)
	clear(order)
	m.spare, m.spareOrder = held, order[:0]
	if m.merged != nil && merged > 0 {
		m.merged.Add(float64(merged))
	}
}

// close stops the interval and produces what is held.
func (m *changelogMerge) close() {
	close(m.stop)
	<-m.done
	m.flush(true)
}
