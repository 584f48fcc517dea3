package responses

import (
	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the group table.
type Query struct{ table api.Table }

// NewQuery reads t, a view of the group table.
func NewQuery(t api.Table) Query { return Query{table: t} }

// ResponseFeedback is GET /v1/responses/{response_id}/feedback.
type ResponseFeedback struct {
	TenantID   string `json:"tenant_id"`
	ResponseID string `json:"response_id"`
	// Feedback lists every rating kept, oldest first; current marks each
	// user's latest (it supersedes their earlier ones).
	Feedback []Rating `json:"feedback"`
	// Signals are the latest revision of each learning signal, same order.
	Signals []Signal `json:"signals"`
	// Dropped counts signals evicted past the per-response bound.
	Dropped int `json:"dropped"`
}

// Rating is one user's rating of the response.
type Rating struct {
	codecs.SignalFeedback
	UserID   string `json:"user_id"`
	SignalID string `json:"signal_id"`
	Current  bool   `json:"current"`
}

// Signal is the latest revision of one learning signal on the response.
type Signal struct {
	SignalID     string                `json:"signal_id"`
	EventID      string                `json:"event_id"` // of this revision's envelope
	SignalType   string                `json:"signal_type"`
	Revision     int                   `json:"revision"`
	Weight       float64               `json:"weight"`
	TraceID      string                `json:"trace_id"`
	SessionID    string                `json:"session_id"`
	UserID       string                `json:"user_id"`
	Agent        string                `json:"agent"`
	Model        string                `json:"model"`
	Feedback     codecs.SignalFeedback `json:"feedback"`
	Supersedes   string                `json:"supersedes,omitempty"`
	SupersededBy string                `json:"superseded_by,omitempty"`
	Current      bool                  `json:"current"`
	Context      ContextSummary        `json:"context"`
}

// ContextSummary digests the signal's trace context (the full context is
// in the signal on ai-learning-signals and in GET /v1/traces/{trace_id}).
type ContextSummary struct {
	Missing    bool     `json:"missing"`
	Agents     []string `json:"agents"`
	Models     []string `json:"models"`
	Decisions  int      `json:"decisions"`
	SpanErrors int      `json:"span_errors"`
	LatencyMS  float64  `json:"latency_ms"`
	TokensIn   int      `json:"tokens_in"`
	TokensOut  int      `json:"tokens_out"`
	Truncated  bool     `json:"truncated"`
}

// Feedback returns the feedback on one response of the tenant. The table is
// keyed tenant|response_id, so another tenant's response is not found.
func (q Query) Feedback(tenant, responseID string) (*ResponseFeedback, error) {
	r, err := api.Lookup[Response](q.table, codecs.TenantKey(tenant, responseID))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, api.NotFound("no feedback on response " + responseID + " in this tenant")
	}
	out := &ResponseFeedback{TenantID: r.TenantID, ResponseID: r.ResponseID, Dropped: r.Dropped,
		Feedback: []Rating{}, Signals: []Signal{}}
	for _, e := range r.Signals {
		out.Feedback = append(out.Feedback, Rating{SignalFeedback: e.Feedback, UserID: e.UserID, SignalID: e.SignalID, Current: e.Current})
		out.Signals = append(out.Signals, Signal{
			SignalID: e.SignalID, EventID: e.EventID, SignalType: e.SignalType, Revision: e.Revision, Weight: e.Weight,
			TraceID: e.TraceID, SessionID: e.SessionID, UserID: e.UserID, Agent: e.Agent, Model: e.Model,
			Feedback: e.Feedback, Supersedes: e.Supersedes, SupersededBy: e.SupersededBy, Current: e.Current,
			Context: ContextSummary{
				Missing: e.Context.Missing, Agents: api.List(e.Context.Agents), Models: api.List(e.Context.Models),
				Decisions: e.Context.Decisions, SpanErrors: e.Context.SpanErrors, LatencyMS: e.Context.LatencyMS,
				TokensIn: e.Context.TokensIn, TokensOut: e.Context.TokensOut, Truncated: e.Context.Truncated,
			},
		})
	}
	return out, nil
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/responses/{response_id}/feedback",
		Summary: "the feedback on a response and the latest revision of each learning signal",
		Handle:  func(r *api.Request) (any, error) { return q.Feedback(r.Scope.Tenant, r.Path("response_id")) },
	}}
}
