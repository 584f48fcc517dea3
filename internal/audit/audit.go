// Package audit writes audit events to audit-events, in the seed's
// envelope (event_type audit.recorded, payload codecs.Audit).
//
// A Writer is asynchronous: Record puts the event in a bounded queue and
// returns at once (an API read never waits on Kafka); its own franz-go
// producer sends batches (linger a few ms) and retries a broker that is
// down with backoff while the events stay buffered in the producer. An event
// is never dropped silently: one that does not fit the queue, or that the
// producer finally fails to deliver (its record timeout), is counted in
// aistream_audit_events_dropped_total and logged (rate-limited). We chose
// this over failing reads closed with 503: the audit trail must not turn a
// Kafka outage into an API outage, and the metric makes any gap visible to
// alerting. See README "Audit trail".
package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// SystemTenant is the tenant_id of audit events that concern no one tenant
// (topics apply, an admin token's creation); only admin tokens read it and
// no token may be issued for it.
const SystemTenant = "aistream"

// Source is the envelope's source of aistream's own audit events.
const Source = "aistream"

// Outcomes of an audit event (codecs.Audit accepts these three).
const (
	Success = "success"
	Denied  = "denied"
	Error   = "error"
)

// Event is one audit event to write.
type Event struct {
	// ID is the event id; empty makes a random one (see NewID).
	ID       string
	Tenant   string // empty: SystemTenant
	Actor    string // a token id, "anonymous", or "cli:<user>"
	Action   string
	Resource string
	Outcome  string
	Time     time.Time
	Details  map[string]string
}

// DerivedID is an event id derived from its inputs, for operations whose
// inputs name them (a replay, a re-drive): a retried write is the same event.
func DerivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "aud-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// NewID is a random event id. A read has no input that tells two reads
// apart (the same token may GET the same URL twice in a nanosecond and both
// are accesses), so its event id is random: the producer is not retried
// past its own idempotent retries, which keep one record per event.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "aud-" + hex.EncodeToString(b)
}

// Record encodes e as a Kafka record of audit-events, keyed by tenant.
func (e Event) Record() (*kgo.Record, error) {
	if e.Tenant == "" {
		e.Tenant = SystemTenant
	}
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	// The client names part of a resource (path values): made valid UTF-8
	// and cut to the envelope's bound, so the strict decoder accepts it.
	p := codecs.Audit{Actor: clip(e.Actor), Action: clip(e.Action), Resource: clip(e.Resource), Outcome: e.Outcome, Details: e.Details}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("audit event %s: %w", e.ID, err)
	}
	v, err := codecs.Encode(codecs.Envelope{EventID: e.ID, EventType: codecs.TypeAudit, TenantID: e.Tenant,
		Timestamp: codecs.Time{Time: e.Time.UTC()}, Source: Source}, p)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: topology.AuditEvents, Key: []byte(e.Tenant), Value: v}, nil
}

// clip makes s valid UTF-8 of at most codecs.MaxIDBytes, cut at a rune
// boundary with "…" marking the cut.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= codecs.MaxIDBytes {
		return s
	}
	n := codecs.MaxIDBytes - len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Metrics count the writer's events.
type Metrics struct {
	Written prometheus.Counter
	Dropped *prometheus.CounterVec // reason: queue_full, produce_failed, encode_failed
}

// NewMetrics registers the writer's metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Written: prometheus.NewCounter(prometheus.CounterOpts{Name: "aistream_audit_events_written_total", Help: "Audit events acknowledged by audit-events."}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aistream_audit_events_dropped_total", Help: "Audit events that could not be written, by reason (queue_full, produce_failed, encode_failed)."}, []string{"reason"}),
	}
	for _, r := range []string{"queue_full", "produce_failed", "encode_failed"} {
		m.Dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Written, m.Dropped)
	}
	return m
}

// Writer writes audit events asynchronously.
type Writer struct {
	cl    *kgo.Client
	m     *Metrics
	log   zerolog.Logger
	queue chan Event
	done  chan struct{}
	// ctx ends at Close's deadline: a produce blocked on a full producer
	// buffer (broker down) then gives up and is counted.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	lastLog time.Time
}

// Options tune a Writer.
type Options struct {
	// Queue bounds the events waiting to be handed to the producer.
	Queue int
	// Linger is how long the producer waits to fill a batch.
	Linger time.Duration
	// Timeout bounds how long an event is retried before it is dropped and counted.
	Timeout time.Duration
}

// DefaultOptions are the serving defaults.
func DefaultOptions() Options {
	return Options{Queue: 10000, Linger: 5 * time.Millisecond, Timeout: 2 * time.Minute}
}

// NewWriter starts a writer producing with base (brokers, TLS, SASL).
func NewWriter(base []kgo.Opt, o Options, m *Metrics, log zerolog.Logger) (*Writer, error) {
	opts := append([]kgo.Opt{}, base...)
	opts = append(opts, kgo.ProducerLinger(o.Linger), kgo.RecordDeliveryTimeout(o.Timeout),
		kgo.MaxBufferedRecords(o.Queue), kgo.RequiredAcks(kgo.AllISRAcks()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("audit producer: %w", err)
	}
	w := &Writer{cl: cl, m: m, log: log, queue: make(chan Event, o.Queue), done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Record queues e; it never blocks. A full queue drops e and counts it.
func (w *Writer) Record(e Event) {
	select {
	case w.queue <- e:
	default:
		w.drop("queue_full", nil)
	}
}

func (w *Writer) loop() {
	defer w.wg.Done()
	for {
		select {
		case e := <-w.queue:
			w.produce(e)
		case <-w.done:
			for {
				select {
				case e := <-w.queue:
					w.produce(e)
				default:
					return
				}
			}
		}
	}
}

func (w *Writer) produce(e Event) {
	rec, err := e.Record()
	if err != nil {
		w.drop("encode_failed", err)
		return
	}
	// Produce blocks while the producer holds MaxBufferedRecords: the
	// queue in front of it then fills and Record counts the overflow.
	w.cl.Produce(w.ctx, rec, func(_ *kgo.Record, err error) {
		if err != nil {
			w.drop("produce_failed", err)
			return
		}
		w.m.Written.Inc()
	})
}

func (w *Writer) drop(reason string, err error) {
	w.m.Dropped.WithLabelValues(reason).Inc()
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.lastLog) < 10*time.Second {
		return
	}
	w.lastLog = time.Now()
	w.log.Error().Err(err).Str("reason", reason).Str("topic", topology.AuditEvents).
		Msg("audit events could not be written (counted in aistream_audit_events_dropped_total; logged at most every 10s)")
}

// Close writes what is queued, waiting at most until ctx ends, and closes
// the producer; what is not delivered by then is counted as dropped.
func (w *Writer) Close(ctx context.Context) {
	close(w.done)
	stop := context.AfterFunc(ctx, w.cancel)
	defer stop()
	w.wg.Wait()
	if err := w.cl.Flush(ctx); err != nil {
		w.log.Warn().Err(err).Msg("audit writer closed before every event was delivered")
	}
	w.cancel()
	w.cl.Close() // fails what is still buffered: their callbacks count them
}
