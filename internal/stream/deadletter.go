package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// Dead-letter headers: why a message was rejected and where it came from.
const (
	HeaderReason    = "aistream-reason"
	HeaderError     = "aistream-error"
	HeaderTopic     = "aistream-source-topic"
	HeaderPartition = "aistream-source-partition"
	HeaderOffset    = "aistream-source-offset"
	HeaderGroup     = "aistream-group"
	// Set only on a dead letter too large to produce whole (see DeadLetter).
	HeaderTruncated      = "aistream-truncated-from"
	HeaderOriginalSHA256 = "aistream-original-sha256"
)

// maxDeadLetterValue keeps a dead letter inside the producer's record limit
// (config.ProducerMaxBytes) with room for key and headers.
const maxDeadLetterValue = 1_000_000

// ReasonProcessing marks a message whose handler failed on it (a bug, kept
// out of the way so the partition keeps flowing).
const ReasonProcessing codecs.Reason = "processing_failed"

// DeadLetterStream is the dead-letter topic as a goka stream.
var DeadLetterStream = goka.Stream(topology.DeadLetters)

// DeadLetterOutput is the output edge every processor that rejects messages
// declares.
func DeadLetterOutput() goka.Edge { return goka.Output(DeadLetterStream, new(codec.Bytes)) }

// DeadLetter sends the message being processed, original key and bytes, to
// the dead-letter topic with the reason in headers.
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
	if len(raw) > maxDeadLetterValue {
		// Only a message the broker took compressed can be this large. It
		// cannot be produced whole (goka would stop the group on the
		// producer's error and fail on it again at every restart), so its
		// head is kept, with its size and digest to match it against the
		// source topic, where it stays until retention.
		sum := sha256.Sum256(raw)
		headers[HeaderTruncated] = []byte(strconv.Itoa(len(raw)))
		headers[HeaderOriginalSHA256] = []byte(hex.EncodeToString(sum[:]))
		raw = raw[:maxDeadLetterValue]
	}
	ctx.Emit(DeadLetterStream, ctx.Key(), raw, goka.WithCtxEmitHeaders(headers))
	if m != nil {
		m.DeadLetters.WithLabelValues(string(ctx.Topic()), reason).Inc()
	}
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
		raw, _ := msg.([]byte)
		Count(ctx, m)
		ev, err := dec.Decode(raw)
		if err != nil {
			DeadLetter(ctx, m, raw, err)
			return
		}
		if !accepted[ev.EventType] {
			DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q does not belong on %s", ev.EventType, ctx.Topic()))
			return
		}
		Guard(ctx, m, raw, func() { h(ctx, ev) })
	}
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
	}
}
