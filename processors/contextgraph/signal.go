package contextgraph

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/ids"
)

// SignalID is the signal_id of the feedback event with the given tenant and
// event_id: stable, so every replay and every revision carries the same id.
func SignalID(tenant, feedbackEventID string) string {
	return "sig-" + ids.Terminated("aistream/signal", tenant, feedbackEventID).Hex(24)
}

// signalEventID is the envelope event_id of one revision of a signal: a
// consumer deduplicating by event_id keeps each revision exactly once.
func signalEventID(signalID string, revision int) string {
	return "ls-" + ids.Terminated("aistream/signal-revision", signalID, strconv.Itoa(revision)).Hex(24)
}

// classify picks the signal type: the first of safety escalation (category
// unsafe, whatever the rating), correction (negative with a comment),
// negative example, positive example.
func classify(f *codecs.Feedback) string {
	switch {
	case f.HasCategory("unsafe"):
		return codecs.SignalSafety
	case !f.Positive() && f.Comment != "":
		return codecs.SignalCorrection
	case !f.Positive():
		return codecs.SignalNegative
	default:
		return codecs.SignalPositive
	}
}

// weight is how much a trainer should trust one signal:
//
//	weight = base(type) × strength(rating) × completeness(context)
//
//	base:         safety_escalation 2.0, correction 1.5 (the comment says what
//	              was wrong), negative_example 1.0, positive_example 1.0
//	strength:     with a score s: 0.5 + |s-3|/4 (1 or 5 → 1.0, 2 or 4 → 0.75,
//	              3 → 0.5); thumbs only → 0.75; thumbs and a score pointing
//	              the other way (up with 1-2, down with 4-5) → 0.5
//	completeness: 1.0 with trace context, 0.5 when the trace was never seen
//
// rounded to 3 decimals. See SIGNALS.md.
func weight(f *codecs.Feedback, signalType string, contextMissing bool) float64 {
	base := 1.0
	switch signalType {
	case codecs.SignalSafety:
		base = 2.0
	case codecs.SignalCorrection:
		base = 1.5
	}
	strength := 0.75
	if f.Score != nil {
		s := *f.Score
		strength = 0.5 + math.Abs(float64(s-3))/4
		if f.Thumbs == "up" && s <= 2 || f.Thumbs == "down" && s >= 4 {
			strength = 0.5
		}
	}
	completeness := 1.0
	if contextMissing {
		completeness = 0.5
	}
	return math.Round(base*strength*completeness*1000) / 1000
}

// maxSignalNames bounds the agents and models a signal lists (the first by
// appearance; context.truncated says when there were more): a trace may hold
// hundreds, and a signal must stay one Kafka record.
const maxSignalNames = 16

// signalContext is what a signal says about the trace, bounded by c's
// Signal* limits (the first steps, decisions and errors in graph order).
func signalContext(c Config, g *Graph) codecs.SignalContext {
	if !g.seenTrace() {
		return codecs.SignalContext{Missing: true}
	}
	out := codecs.SignalContext{
		Spans:     len(g.Spans),
		LatencyMS: float64(g.duration().Microseconds()) / 1000,
		Truncated: g.truncated(),
	}
	for i, a := range g.Agents {
		if i == maxSignalNames {
			out.Truncated = true
			break
		}
		out.Agents = append(out.Agents, a.Name)
	}
	for i, d := range g.Decisions {
		if i == c.SignalDecisions {
			out.Truncated = true
			break
		}
		out.Decisions = append(out.Decisions, codecs.SignalDecision{
			DecisionID: d.DecisionID, Agent: d.Agent, DecisionType: d.DecisionType, Chosen: d.Chosen,
			Alternatives: d.Alternatives, Confidence: d.Confidence, Reason: d.Reason,
		})
	}
	for i, s := range g.Thinking {
		out.ThinkingTokens += s.Tokens
		if i >= c.SignalThinkingSteps {
			out.Truncated = true
			continue
		}
		out.Thinking = append(out.Thinking, codecs.SignalThinking{Agent: s.Agent, Step: s.Step, Kind: s.Kind, Content: s.Content})
	}
	for _, s := range g.Spans {
		out.TokensIn += s.TokensIn
		out.TokensOut += s.TokensOut
		if s.Model == "" || slices.Contains(out.Models, s.Model) {
			continue
		}
		if len(out.Models) == maxSignalNames {
			out.Truncated = true
			continue
		}
		out.Models = append(out.Models, s.Model)
	}
	for i, e := range g.Errors {
		if i == c.SignalSpanErrors {
			out.Truncated = true
			break
		}
		out.SpanErrors = append(out.SpanErrors, codecs.SignalSpanError(e))
	}
	return out
}

// sigContext is a signal context with its JSON, encoded once per event:
// every revision an event emits carries the same context, and the
// fingerprint is a hash of the same JSON.
type sigContext struct {
	codecs.SignalContext
	raw []byte // its JSON (SignalContext.AppendJSON, codecs.Marshal's bytes)
	fp  string // its fingerprint
}

// encodeContext encodes the context and computes its fingerprint.
func encodeContext(sc codecs.SignalContext) *sigContext {
	return withContextJSON(sc, func(raw []byte) *sigContext {
		return &sigContext{SignalContext: sc, raw: bytes.Clone(raw), fp: fingerprintOf(raw)}
	})
}

// fingerprint identifies a context's content.
func fingerprint(sc codecs.SignalContext) string {
	return withContextJSON(sc, func(raw []byte) string { return fingerprintOf(raw) })
}

var contextScratch = sync.Pool{New: func() any { return new([]byte) }}

// withContextJSON is f of the context's JSON (codecs.Marshal's bytes),
// written into a pooled buffer that f must not keep.
func withContextJSON[R any](sc codecs.SignalContext, f func(raw []byte) R) R {
	bp := contextScratch.Get().(*[]byte)
	defer contextScratch.Put(bp)
	raw, ok := sc.AppendJSON((*bp)[:0])
	if cap(raw) <= 1<<20 {
		*bp = raw // a rare huge context does not pin its buffer
	}
	if !ok {
		// Only non-finite numbers fail, and the decoder refuses those:
		// encoding/json says which.
		_, err := codecs.Marshal(sc)
		panic(fmt.Errorf("encode signal context: %w", err))
	}
	return f(raw)
}

// fingerprintOf identifies a context's content from its JSON: the first 8
// bytes of the SHA-256 of encoding/json's form (HTML-escaped, as
// json.HTMLEscape writes it; the states hold fingerprints made so), in
// hex. raw escapes U+2028 and U+2029 already (codecs.AppendString), so
// HTML escaping changes only <, > and &, which are hashed as their escapes
// without a copy of raw.
func fingerprintOf(raw []byte) string {
	h := sha256.New()
	start := 0
	for i, c := range raw {
		if c == '<' || c == '>' || c == '&' {
			h.Write(raw[start:i])
			h.Write([]byte{'\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]})
			start = i + 1
		}
	}
	h.Write(raw[start:])
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

const hexDigits = "0123456789abcdef"

// signalWithContext writes a signal with its context's JSON spliced in
// (codecs.Signal.AppendJSONWithContext).
type signalWithContext struct {
	s   *codecs.Signal
	raw []byte
}

// AppendJSON implements codecs.JSONAppender.
func (p signalWithContext) AppendJSON(b []byte) ([]byte, bool) {
	return p.s.AppendJSONWithContext(b, p.raw)
}

// encode is codecs.Encode(env, s with this context), by codecs' appenders
// with the context's JSON, encoded once per event, copied in: a hot trace
// emits tens of revisions of a context of tens of KB per event. Where the
// appenders refuse (a non-finite weight, a time past year 9999) it is
// codecs.Encode, for its error.
func (sc *sigContext) encode(env codecs.Envelope, s codecs.Signal) ([]byte, error) {
	f := &s.Feedback
	hint := len(sc.raw) + 768 + len(env.EventID) + len(env.TenantID) + len(s.SignalID) + len(s.ResponseID) + len(s.TraceID) +
		len(s.SessionID) + len(s.UserID) + len(s.Agent) + len(s.Model) + len(f.EventID) + len(f.Comment) + len(s.Supersedes) + len(s.SupersededBy)
	for _, c := range f.Categories {
		hint += len(c) + 3
	}
	if b, ok := codecs.AppendEvent(make([]byte, 0, hint), env, signalWithContext{s: &s, raw: sc.raw}); ok {
		return b, nil
	}
	s.Context = sc.SignalContext
	return codecs.Encode(env, s)
}

// signal builds the payload of the latest revision of entry's signal.
func signal(traceID string, e *FeedbackEntry, sc codecs.SignalContext) codecs.Signal {
	return codecs.Signal{
		SignalID: e.SignalID, Revision: e.Revision, SignalType: e.SignalType, Weight: e.Weight,
		ResponseID: e.ResponseID, TraceID: traceID, SessionID: e.SessionID, UserID: e.UserID, Agent: e.Agent, Model: e.Model,
		Feedback: codecs.SignalFeedback{
			EventID: e.EventID, Timestamp: e.Timestamp, Thumbs: e.Thumbs, Score: e.Score, Categories: e.Categories, Comment: e.Comment,
		},
		Supersedes: e.Supersedes, SupersededBy: e.SupersededBy, Context: sc,
	}
}
