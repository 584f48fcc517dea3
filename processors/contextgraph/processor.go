package contextgraph

import (
	"math"
	"slices"
	"strings"

	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
)

// processor holds the handlers of the context-graph group. Its methods are
// pure functions of the goka context and the message.
type processor struct {
	cfg Config
	m   *stream.Metrics
	// indexOut is the prefixed index stream (made once, not per event).
	indexOut goka.Stream
	// memo is the group table's codec (nil: GraphCodec's decoding each time).
	memo *TableCodec
}

// traceOf is the trace an accepted event belongs to.
func traceOf(ev *codecs.Event) string {
	switch p := ev.Payload.(type) {
	case *codecs.Thinking:
		return p.TraceID
	case *codecs.Decision:
		return p.TraceID
	case *codecs.Span:
		return p.TraceID
	case *codecs.Feedback:
		return p.TraceID
	}
	return ""
}

// input handles an event from one of the AI Service's topics: re-keyed
// through the loop unless it already sits under its trace_id on the
// partition murmur2 picks for it.
func (p *processor) input(ctx goka.Context, ev *codecs.Event) {
	trace := traceOf(ev)
	if stream.Misplaced(ctx, trace) {
		ctx.Loopback(trace, ev.Raw)
		return
	}
	p.handle(ctx, ev)
}

// handle applies one event to its trace's graph. ctx.Key() is the trace_id,
// or, for a tenant whose trace id another tenant used first, the trace's
// tenant-scoped key (TenantTraceKey).
func (p *processor) handle(ctx goka.Context, ev *codecs.Event) {
	trace := traceOf(ev)
	if k := ctx.Key(); k != trace && k != TenantTraceKey(ev.TenantID, trace) {
		ctx.Loopback(trace, ev.Raw) // not placed by this group: re-key
		return
	}
	// The graph may come from the memo of the table codec (TableCodec), shared
	// with the next event of this key: every path below that changes g ends
	// in ctx.SetValue(g); the others (re-keyed, tenant conflict, duplicate
	// not redelivered, dropped past a bound already reached) leave it as it
	// was decoded. A panic midway (stream.Guard dead-letters a runtime
	// panic and processing goes on) forgets it.
	var g *Graph
	if v := ctx.Value(); v != nil {
		g = v.(*Graph)
		defer func() {
			if r := recover(); r != nil {
				p.memo.forget(g)
				panic(r)
			}
		}()
	}
	if g == nil {
		g = newGraph(ev.TenantID, trace)
	} else if g.TenantID != ev.TenantID {
		if ctx.Key() == trace {
			// Another tenant's trace holds this id: every tenant has its
			// own trace under any id, so this one lives under its scoped key.
			ctx.Loopback(TenantTraceKey(ev.TenantID, trace), ev.Raw)
			return
		}
		stream.DeadLetter(ctx, p.m, ev.Raw, codecs.Reject(codecs.ReasonTenantConflict, "tenant_id",
			"the state under the scoped key of trace %s belongs to another tenant", trace))
		return
	}
	g.migrate()
	before := g.summaryState()
	fb, isFeedback := ev.Payload.(*codecs.Feedback)
	if g.has(ev.EventID) || isFeedback && g.DroppedFeedback.Seen(ev.EventID, ev.Timestamp.Time) {
		if g.Offsets.Redelivered(ctx) {
			// The state holds this very message: its outputs and the
			// changelog write may have been lost in a crash.
			p.replay(ctx, g, ev, fb)
			p.index(ctx, g, &summaryOf{}, &before, true)
			ctx.SetValue(g)
		}
		return // a duplicate: already in the graph, its signal already out
	}
	// What this event changes, by section of the encoded graph (the
	// prelude and the tail are always written again): the next Encode
	// copies the other sections from the graph's memo entry.
	clean := allSections
	if isFeedback {
		if p.feedback(ctx, g, ev, fb) {
			clean &^= 1 << secFeedback
		} // else a dropped feedback: only the tail changed
	} else if !g.apply(p.cfg, ev) {
		p.count(ctx, ev)
		return // dropped past a bound already reached: nothing to write
	} else {
		clean &^= sectionsOf(ev)
		if p.revise(ctx, g, ev.Timestamp) {
			clean &^= 1 << secFeedback
		}
	}
	after := g.summaryState()
	p.index(ctx, g, &before, &after, false)
	g.Offsets.Advance(ctx)
	p.memo.keep(g, clean)
	ctx.SetValue(g)
}

// sectionsOf are the sections of the encoded graph that applying a
// thinking, decision or span event may change: its list, the agents
// derived from every list, and for a span the failures derived from spans.
func sectionsOf(ev *codecs.Event) sections {
	switch ev.Payload.(type) {
	case *codecs.Thinking:
		return 1<<secThinking | 1<<secAgents
	case *codecs.Decision:
		return 1<<secDecisions | 1<<secAgents
	case *codecs.Span:
		return 1<<secSpans | 1<<secErrors | 1<<secAgents
	}
	return allSections
}

// replay re-emits what a redelivered event produced, with the same ids:
// the current revision of a kept feedback's signal, revision 1 of a
// dropped one's, and for a trace event the current revision of every
// signal it may have revised.
func (p *processor) replay(ctx goka.Context, g *Graph, ev *codecs.Event, fb *codecs.Feedback) {
	sc := encodeContext(signalContext(p.cfg, g))
	if fb != nil {
		for i := range g.Feedback {
			if g.Feedback[i].EventID == ev.EventID {
				p.emit(ctx, g, &g.Feedback[i], sc)
				return
			}
		}
		e := newEntry(ev, fb, sc)
		p.emit(ctx, g, &e, sc)
		return
	}
	for i := range g.Feedback {
		e := &g.Feedback[i]
		if e.SupersededBy == "" && !ev.Timestamp.After(e.Timestamp.Add(p.cfg.SignalHorizon)) {
			p.emit(ctx, g, e, sc)
		}
	}
}

// count counts an event dropped past a bound.
func (p *processor) count(ctx goka.Context, ev *codecs.Event) {
	if p.m != nil {
		p.m.Dropped.WithLabelValues(string(ctx.Group()), ev.EventType).Inc()
	}
}

// newEntry is a feedback's entry with its first signal revision.
func newEntry(ev *codecs.Event, fb *codecs.Feedback, sc *sigContext) FeedbackEntry {
	typ := classify(fb)
	return FeedbackEntry{
		EventID: ev.EventID, Timestamp: ev.Timestamp, ResponseID: fb.ResponseID, SessionID: fb.SessionID, UserID: fb.UserID,
		Agent: fb.Agent, Model: fb.Model, Thumbs: fb.Thumbs, Score: fb.Score, Categories: fb.Categories, Comment: fb.Comment,
		SignalID: SignalID(ev.TenantID, ev.EventID), SignalType: typ, Revision: 1,
		Weight: weight(fb, typ, sc.Missing), Fingerprint: sc.fp,
	}
}

// feedback records a feedback on the trace and emits its first signal,
// complete with whatever context the graph holds. It reports whether the
// feedback was kept; one not kept changes only Dropped and DroppedFeedback.
func (p *processor) feedback(ctx goka.Context, g *Graph, ev *codecs.Event, fb *codecs.Feedback) bool {
	sc := encodeContext(signalContext(p.cfg, g))
	e := newEntry(ev, fb, sc)
	size := feedbackCost(e)
	if len(g.Feedback) >= p.cfg.MaxFeedback || !g.room(p.cfg, size, 0) {
		// Not kept, but remembered: a duplicate must not emit again.
		g.Dropped.Feedback++
		g.DroppedFeedback.Add(ev.EventID, ev.Timestamp.Time, maxDroppedFeedback)
		p.count(ctx, ev)
		p.emit(ctx, g, &e, sc)
		return false
	}
	i, _ := slices.BinarySearchFunc(g.Feedback, e, compareFeedback)
	g.Feedback = slices.Insert(g.Feedback, i, e)
	g.Bytes += size
	g.Events++
	g.link(e.ResponseID, e.UserID)
	p.emit(ctx, g, &g.Feedback[i], sc)
	return true
}

// feedbackCost is what a feedback entry may come to take in the encoded
// graph: revisions and later ratings fill in its supersede links and change
// its revision and weight, so it is measured with those at their longest.
func feedbackCost(e FeedbackEntry) int {
	e.Supersedes, e.SupersededBy = e.SignalID, e.SignalID
	e.Revision, e.Weight = math.MaxInt32, 0.125
	return cost(e, "", nil)
}

// compareFeedback orders feedback by timestamp, ties broken by event_id:
// the order in which a user's ratings of one response supersede each other.
func compareFeedback(a, b FeedbackEntry) int {
	if c := a.Timestamp.Compare(b.Timestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

// link sets Supersedes/SupersededBy along one user's feedback on one
// response (g.Feedback is sorted by compareFeedback).
func (g *Graph) link(responseID, userID string) {
	prev := -1
	for i := range g.Feedback {
		e := &g.Feedback[i]
		if e.ResponseID != responseID || e.UserID != userID {
			continue
		}
		e.Supersedes, e.SupersededBy = "", ""
		if prev >= 0 {
			e.Supersedes = g.Feedback[prev].SignalID
			g.Feedback[prev].SupersededBy = e.SignalID
		}
		prev = i
	}
}

// revise emits a new revision of every current signal of the trace whose
// context the event at t changed, if t is within the signal horizon of its
// feedback, and reports whether it did. Superseded feedback gets no
// revisions: consumers drop it anyway.
func (p *processor) revise(ctx goka.Context, g *Graph, t codecs.Time) bool {
	revised := false
	var sc *sigContext
	for i := range g.Feedback {
		e := &g.Feedback[i]
		if e.SupersededBy != "" || t.After(e.Timestamp.Add(p.cfg.SignalHorizon)) {
			continue
		}
		if sc == nil {
			sc = encodeContext(signalContext(p.cfg, g))
		}
		if sc.fp == e.Fingerprint {
			continue
		}
		e.Revision++
		e.Fingerprint = sc.fp
		e.Weight = weight(e.payload(), e.SignalType, sc.Missing)
		p.emit(ctx, g, e, sc)
		revised = true
	}
	return revised
}

// payload is the rating part of the entry as the codec's type.
func (e *FeedbackEntry) payload() *codecs.Feedback {
	return &codecs.Feedback{Thumbs: e.Thumbs, Score: e.Score, Categories: e.Categories, Comment: e.Comment}
}

// maxSignalBytes bounds an encoded learning signal, well under Kafka's
// 1 MiB record limit.
const maxSignalBytes = 768 << 10

// emit writes the entry's latest revision to ai-learning-signals under
// tenant|response_id, the key the responses group keeps its state under.
func (p *processor) emit(ctx goka.Context, g *Graph, e *FeedbackEntry, sc *sigContext) {
	env := codecs.Envelope{
		EventID:   signalEventID(e.SignalID, e.Revision),
		EventType: codecs.SignalTypePrefix + e.SignalType,
		TenantID:  g.TenantID,
		Timestamp: e.Timestamp,
		Source:    Source,
	}
	b, err := sc.encode(env, signal(g.TraceID, e, codecs.SignalContext{}))
	if err == nil && len(b) > maxSignalBytes {
		// Strings full of escapes can make the bounded context too big for
		// one record; the signal then says so instead of failing the group.
		cut := sc.SignalContext
		cut.Thinking, cut.Decisions, cut.SpanErrors, cut.Truncated = nil, nil, nil, true
		b, err = codecs.Encode(env, signal(g.TraceID, e, cut))
	}
	if err != nil {
		ctx.Fail(err)
	}
	ctx.Emit(SignalStream, codecs.TenantKey(g.TenantID, e.ResponseID), b)
}
