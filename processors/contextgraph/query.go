package contextgraph

import (
	"strconv"
	"strings"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the group table.
type Query struct{ table api.Table }

// NewQuery reads t, a view of the group table.
func NewQuery(t api.Table) Query { return Query{table: t} }

// Trace is GET /v1/traces/{trace_id}: the context graph of one trace.
type Trace struct {
	TenantID string       `json:"tenant_id"`
	TraceID  string       `json:"trace_id"`
	Started  *codecs.Time `json:"started,omitempty"` // earliest event or span start
	Ended    *codecs.Time `json:"ended,omitempty"`   // latest event or span end
	// Agents in order of first appearance.
	Agents    []TraceAgent    `json:"agents"`
	Thinking  []ThinkingStep  `json:"thinking"`
	Decisions []Decision      `json:"decisions"`
	Spans     []Span          `json:"spans"`
	Errors    []SpanFailure   `json:"errors"`
	Feedback  []TraceFeedback `json:"feedback"`
	// Events counts the events the graph holds.
	Events int `json:"events"`
	// Dropped counts events not kept past a bound (see the package doc).
	Dropped Dropped `json:"dropped"`
}

// TraceAgent is an agent that took part in the trace.
type TraceAgent struct {
	Name      string      `json:"name"`
	FirstSeen codecs.Time `json:"first_seen"`
}

// ThinkingStep is one thinking step (content clipped to 2 KiB).
type ThinkingStep struct {
	EventID   string      `json:"event_id"`
	Timestamp codecs.Time `json:"timestamp"`
	SpanID    string      `json:"span_id,omitempty"`
	Agent     string      `json:"agent"`
	Step      int         `json:"step"`
	Kind      string      `json:"kind,omitempty"`
	Content   string      `json:"content"`
	Tokens    int         `json:"tokens,omitempty"`
}

// Decision is a router or orchestrator decision (the latest event of its decision_id).
type Decision struct {
	EventID      string               `json:"event_id"`
	Timestamp    codecs.Time          `json:"timestamp"`
	DecisionID   string               `json:"decision_id"`
	SpanID       string               `json:"span_id,omitempty"`
	Agent        string               `json:"agent"`
	DecisionType string               `json:"decision_type"`
	Chosen       string               `json:"chosen"`
	Alternatives []codecs.Alternative `json:"alternatives"`
	Confidence   float64              `json:"confidence"`
	Reason       string               `json:"reason,omitempty"`
}

// Span is one execution span (the latest event of its span_id).
type Span struct {
	EventID      string            `json:"event_id"`
	Timestamp    codecs.Time       `json:"timestamp"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id,omitempty"`
	Agent        string            `json:"agent"`
	Name         string            `json:"name"`
	Status       string            `json:"status"`
	StartTime    codecs.Time       `json:"start_time"`
	EndTime      codecs.Time       `json:"end_time"`
	LatencyMS    float64           `json:"latency_ms"`
	Model        string            `json:"model,omitempty"`
	TokensIn     int               `json:"tokens_in,omitempty"`
	TokensOut    int               `json:"tokens_out,omitempty"`
	Error        *codecs.SpanError `json:"error,omitempty"`
}

// TraceFeedback is a feedback on a response of the trace with the state of
// the learning signal it produced.
type TraceFeedback struct {
	EventID    string      `json:"event_id"`
	Timestamp  codecs.Time `json:"timestamp"`
	ResponseID string      `json:"response_id"`
	SessionID  string      `json:"session_id"`
	UserID     string      `json:"user_id"`
	Agent      string      `json:"agent"`
	Model      string      `json:"model"`
	Thumbs     string      `json:"thumbs,omitempty"`
	Score      *int        `json:"score,omitempty"`
	Categories []string    `json:"categories"`
	Comment    string      `json:"comment,omitempty"`

	SignalID     string  `json:"signal_id"`
	SignalType   string  `json:"signal_type"`
	Revision     int     `json:"revision"`
	Weight       float64 `json:"weight"`
	Supersedes   string  `json:"supersedes,omitempty"`
	SupersededBy string  `json:"superseded_by,omitempty"`
}

// Trace returns the tenant's trace. A trace of another tenant under the
// same id answers exactly like an unknown one.
func (q Query) Trace(tenant, traceID string) (*Trace, error) {
	notFound := api.NotFound("no trace " + traceID + " in this tenant")
	g, err := api.Lookup[Graph](q.table, traceID)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, notFound
	}
	if g.TenantID != tenant {
		// Another tenant used the id first: this tenant's trace, if any,
		// is under its scoped key.
		if g, err = api.Lookup[Graph](q.table, TenantTraceKey(tenant, traceID)); err != nil {
			return nil, err
		}
		if g == nil || g.TenantID != tenant || g.TraceID != traceID {
			return nil, notFound
		}
	}
	return g.view(), nil
}

// TenantTraceKey is where a tenant's trace lives when another tenant's
// trace holds the same id under the plain trace_id key (the key the AI
// Service produces under, so the first tenant needs no extra hop). It is
// longer than any trace_id (codecs.MaxIDBytes), so it can never be one, and
// length-prefixed, so no two (tenant, trace) pairs share it.
func TenantTraceKey(tenant, traceID string) string {
	k := "\x00" + tenant + "\x00" + strconv.Itoa(len(traceID)) + "\x00" + traceID + "\x00"
	if n := codecs.MaxIDBytes + 1 - len(k); n > 0 {
		k += strings.Repeat("-", n)
	}
	return k
}

// view is the graph as the API shows it: no dedupe or budget bookkeeping.
func (g *Graph) view() *Trace {
	t := &Trace{
		TenantID: g.TenantID, TraceID: g.TraceID, Started: g.Started, Ended: g.Ended, Events: g.Events, Dropped: g.Dropped,
		Agents: []TraceAgent{}, Thinking: []ThinkingStep{}, Decisions: []Decision{}, Spans: []Span{},
		Errors: api.List(g.Errors), Feedback: []TraceFeedback{},
	}
	for _, a := range g.Agents {
		t.Agents = append(t.Agents, TraceAgent(a))
	}
	for _, s := range g.Thinking {
		t.Thinking = append(t.Thinking, ThinkingStep(s))
	}
	for _, d := range g.Decisions {
		v := Decision(d)
		v.Alternatives = api.List(v.Alternatives)
		t.Decisions = append(t.Decisions, v)
	}
	for _, s := range g.Spans {
		t.Spans = append(t.Spans, Span(s))
	}
	for _, f := range g.Feedback {
		t.Feedback = append(t.Feedback, TraceFeedback{
			EventID: f.EventID, Timestamp: f.Timestamp, ResponseID: f.ResponseID, SessionID: f.SessionID, UserID: f.UserID,
			Agent: f.Agent, Model: f.Model, Thumbs: f.Thumbs, Score: f.Score, Categories: api.List(f.Categories), Comment: f.Comment,
			SignalID: f.SignalID, SignalType: f.SignalType, Revision: f.Revision, Weight: f.Weight,
			Supersedes: f.Supersedes, SupersededBy: f.SupersededBy,
		})
	}
	return t
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/traces/{trace_id}",
		Summary: "the context graph of a trace, its feedback and learning signals included",
		Handle:  func(r *api.Request) (any, error) { return q.Trace(r.Scope.Tenant, r.Path("trace_id")) },
	}}
}
