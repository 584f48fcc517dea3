package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/topology"
)

// Dead-letter headers: why a message was rejected and where it came from.
const (
	HeaderReason    = "aistream-reason"
	HeaderError     = "aistream-error"
	HeaderTopic     = "aistream-source-topic"
	HeaderPartition = "aistream-source-partition"
	HeaderOffset    = "aistream-source-offset"
	// HeaderGroup names the group that wrote the record: set on dead
	// letters and, by GroupProcessorOptions, on every record a processor
	// group emits.
	HeaderGroup = "aistream-group"
	// Set only on a dead letter too large to produce whole (see DeadLetter).
	HeaderTruncated      = "aistream-truncated-from"
	HeaderOriginalSHA256 = "aistream-original-sha256"
)

// The reasons stream itself gives, from the closed list in codecs.
const (
	ReasonProcessing = codecs.ReasonProcessing
	ReasonNullValue  = codecs.ReasonNullValue
)

// DeadLetterStream is the dead-letter topic as a goka stream.
var DeadLetterStream = goka.Stream(topology.DeadLetters)

// DeadLetterOutput is the output edge every processor that rejects messages
// declares.
func DeadLetterOutput() goka.Edge { return goka.Output(DeadLetterStream, new(codec.Bytes)) }

// DeadLetter sends the message being processed, original key (null if it
// was null) and bytes, to the dead-letter topic with the reason in headers.
func DeadLetter(ctx goka.Context, m *Metrics, raw []byte, err error) {
	reason := string(ReasonProcessing)
	var de *codecs.DecodeError
	if errors.As(err, &de) {
		reason = string(de.Reason)
	}
	headers := goka.Headers{
		HeaderReason:    []byte(reason),
		HeaderError:     []byte(err.Error()),
		HeaderTopic:     []byte(ctx.Topic()),
		HeaderPartition: []byte(strconv.FormatInt(int64(ctx.Partition()), 10)),
		HeaderOffset:    []byte(strconv.FormatInt(ctx.Offset(), 10)),
		HeaderGroup:     []byte(ctx.Group()),
	}
	if NullKey(ctx) {
		headers[HeaderNullKey] = nil
	}
	if len(raw) > valueRoom(ctx.Key(), headers) {
		// Only a message the broker took compressed can be this large. It
		// cannot be produced whole (goka would stop the group on the
		// producer's error and fail on it again at every restart), so its
		// head is kept, with its size and digest to match it against the
		// source topic, where it stays until retention.
		sum := sha256.Sum256(raw)
		headers[HeaderTruncated] = []byte(strconv.Itoa(len(raw)))
		headers[HeaderOriginalSHA256] = []byte(hex.EncodeToString(sum[:]))
		raw = raw[:valueRoom(ctx.Key(), headers)]
	}
	ctx.Emit(DeadLetterStream, ctx.Key(), raw, goka.WithCtxEmitHeaders(headers))
	if m != nil {
		m.DeadLetters.WithLabelValues(string(ctx.Topic()), reason).Inc()
	}
	if l := deadLetterLog.Load(); l != nil {
		msg := err.Error()
		if len(msg) > maxLoggedError {
			msg = strings.ToValidUTF8(msg[:maxLoggedError], "") + "…"
		}
		l.Warn().Str("group", string(ctx.Group())).Str("reason", reason).Str("source_topic", string(ctx.Topic())).
			Int32("partition", ctx.Partition()).Int64("offset", ctx.Offset()).Str("error", msg).Msg("record dead-lettered")
	}
}

// deadLetterLog logs each dead letter (one line, sampled so that a flood
// of bad records does not drown the log; the metric counts every one). It
// is the process's logger once a Runner is built, nil before.
var deadLetterLog atomic.Pointer[zerolog.Logger]

// maxLoggedError bounds the error text of a logged dead letter: it may
// quote the hostile record, which the dead letter itself keeps whole.
const maxLoggedError = 256

// deadLetterBurst is how many dead letters per second are logged.
const deadLetterBurst = 20

func setDeadLetterLog(log zerolog.Logger) {
	l := log.Sample(&zerolog.BurstSampler{Burst: deadLetterBurst, Period: time.Second})
	deadLetterLog.Store(&l)
}

// NullKey reports whether the message being processed had a null key (which
// goka's ctx.Key() shows as ""); see HeaderNullKey.
func NullKey(ctx goka.Context) bool {
	if ctx.Key() != "" {
		return false
	}
	_, null := ctx.Headers()[HeaderNullKey]
	return null
}

// valueRoom is the largest value a record with key and headers may have to
// stay within the producer's limit (config.ProducerMaxBytes), counted the
// way sarama checks it (ProducerMessage.ByteSize, record format 2).
func valueRoom(key string, headers goka.Headers) int {
	msg := sarama.ProducerMessage{Key: sarama.StringEncoder(key), Headers: headers.ToSarama()}
	return config.ProducerMaxBytes - msg.ByteSize(2)
}

// Handler processes one decoded event.
type Handler func(ctx goka.Context, ev *codecs.Event)

// Accept builds the callback of an input edge whose codec is codec.Bytes: it
// decodes strictly, dead-letters what fails or whose event type is not in
// types, and passes the rest to h. A runtime panic in h (a bug triggered by
// one message) dead-letters that message instead of stopping the group.
func Accept(dec codecs.Decoder, m *Metrics, types []string, h Handler) goka.ProcessCallback {
	accepted := map[string]bool{}
	for _, t := range types {
		accepted[t] = true
	}
	return func(ctx goka.Context, msg any) {
		span := startSpan(ctx)
		defer endSpan(span)
		ctx = WithTrace(ctx)
		Count(ctx, m)
		if msg == nil {
			DeadLetter(ctx, m, nil, nullValue(ctx))
			return
		}
		raw, _ := msg.([]byte)
		ev, err := dec.Decode(raw)
		if err != nil {
			DeadLetter(ctx, m, raw, err)
			return
		}
		if !accepted[ev.EventType] {
			DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q does not belong on %s", ev.EventType, ctx.Topic()))
			return
		}
		spanEvent(span, ev)
		Guard(ctx, m, raw, func() { h(ctx, ev) })
	}
}

// nullValue is the rejection of a tombstone on an event topic.
func nullValue(ctx goka.Context) error {
	return codecs.Reject(ReasonNullValue, "", "the record on %s has no value (a tombstone); aistream reads every record of this topic as an event: produce the event's JSON as the record value, and do not delete keys here", ctx.Topic())
}

// Guard runs f and turns a runtime panic (nil dereference, index out of
// range) into a dead letter of raw. goka's own failures pass through.
func Guard(ctx goka.Context, m *Metrics, raw []byte, f func()) {
	defer func() {
		if r := recover(); r != nil {
			re, ok := r.(runtime.Error)
			if !ok {
				panic(r)
			}
			DeadLetter(ctx, m, raw, fmt.Errorf("%s: handler failed: %v", ReasonProcessing, re))
		}
	}()
	f()
}

// Count counts the message being processed as consumed.
func Count(ctx goka.Context, m *Metrics) {
	if m != nil {
		m.Consumed.WithLabelValues(string(ctx.Topic()), string(ctx.Group())).Inc()
		m.markProcessed(string(ctx.Group()), string(ctx.Topic()), ctx.Partition(), ctx.Timestamp())
	}
}
