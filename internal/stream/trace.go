package stream

import "github.com/lovoo/goka"

// W3C Trace Context headers (https://www.w3.org/TR/trace-context/) as the
// AI Service puts them on its records. aistream carries them, unchanged,
// from the record being processed onto every record its handlers emit
// (signals, insights, lineage records, dead letters, re-keyed loop
// records), so a trace backend can join aistream's outputs to the request
// that caused them. The values are derived from the input only, so a
// replayed record carries the same headers again.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// maxTraceHeaderBytes bounds a carried header: the W3C limits are 55 bytes
// for traceparent (version 00) and 512 for tracestate; anything longer is
// not carried (it is not a trace context the spec allows).
const maxTraceHeaderBytes = 512

// TraceHeaders returns the trace context headers of the record being
// processed, or nil when it has none.
func TraceHeaders(in goka.Headers) goka.Headers {
	tp, ok := in[HeaderTraceparent]
	if !ok || len(tp) == 0 || len(tp) > maxTraceHeaderBytes {
		return nil
	}
	out := goka.Headers{HeaderTraceparent: tp}
	if ts, ok := in[HeaderTracestate]; ok && len(ts) > 0 && len(ts) <= maxTraceHeaderBytes {
		out[HeaderTracestate] = ts
	}
	return out
}

// Traced wraps a callback so that everything it emits or loops back
// carries the trace context headers of the record it processes. A record
// without them costs one header lookup and nothing else.
func Traced(cb goka.ProcessCallback) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		span := startSpan(ctx)
		defer endSpan(span)
		cb(WithTrace(ctx), msg)
	}
}

// WithTrace returns ctx, or, when the record being processed carries a
// trace context, a context whose Emit and Loopback add it to their
// records (headers an emit sets itself win).
func WithTrace(ctx goka.Context) goka.Context {
	if _, ok := ctx.(tracedContext); ok {
		return ctx
	}
	h := TraceHeaders(ctx.Headers())
	if h == nil {
		return ctx
	}
	return tracedContext{gokaContext: ctx, trace: goka.WithCtxEmitHeaders(h)}
}

// gokaContext names goka.Context for embedding: embedded under its own
// name, the field would collide with goka.Context's Context method.
type gokaContext = goka.Context

type tracedContext struct {
	gokaContext
	trace goka.ContextOption
}

func (c tracedContext) Emit(topic goka.Stream, key string, value any, options ...goka.ContextOption) {
	c.gokaContext.Emit(topic, key, value, append([]goka.ContextOption{c.trace}, options...)...)
}

func (c tracedContext) Loopback(key string, value any, options ...goka.ContextOption) {
	c.gokaContext.Loopback(key, value, append([]goka.ContextOption{c.trace}, options...)...)
}
