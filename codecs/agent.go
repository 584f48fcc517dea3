package codecs

import "fmt"

// Thinking is the payload of agent.thinking on agent-thinking-events: one
// reasoning step of an agent within a trace. Steps are ordered by Step.
type Thinking struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id,omitempty"`
	Agent   string `json:"agent"`
	Step    int    `json:"step"`
	Kind    string `json:"kind,omitempty"` // e.g. plan, reflect, observe, tool_call
	Content string `json:"content"`
	Tokens  int    `json:"tokens,omitempty"`
}

// Validate implements Payload.
func (t *Thinking) Validate() error {
	if err := first(required("trace_id", t.TraceID), required("agent", t.Agent), maxLen("content", t.Content, maxContentBytes),
		optional("span_id", t.SpanID), optional("kind", t.Kind), count("tokens", t.Tokens)); err != nil {
		return err
	}
	if t.Content == "" {
		return Reject(ReasonMissingField, "content", "required and must not be empty")
	}
	if t.Step < 0 {
		return Reject(ReasonInvalidValue, "step", "must be >= 0, got %d", t.Step)
	}
	return nil
}

// Alternative is an option a router or orchestrator considered.
type Alternative struct {
	Option string  `json:"option"`
	Score  float64 `json:"score"`
}

// Decision is the payload of agent.decision on agent-decision-events: a
// router's or orchestrator's choice, with what it rejected.
type Decision struct {
	TraceID      string        `json:"trace_id"`
	DecisionID   string        `json:"decision_id"`
	SpanID       string        `json:"span_id,omitempty"`
	Agent        string        `json:"agent"`         // who decided, e.g. "router"
	DecisionType string        `json:"decision_type"` // e.g. route, tool, delegate, stop
	Chosen       string        `json:"chosen"`
	Alternatives []Alternative `json:"alternatives,omitempty"`
	Confidence   float64       `json:"confidence"` // 0..1
	Reason       string        `json:"reason,omitempty"`
}

// Validate implements Payload.
func (d *Decision) Validate() error {
	if err := first(
		required("trace_id", d.TraceID), required("decision_id", d.DecisionID), required("agent", d.Agent),
		required("decision_type", d.DecisionType), required("chosen", d.Chosen),
		inRange("confidence", d.Confidence, 0, 1), maxLen("reason", d.Reason, maxTextBytes), optional("span_id", d.SpanID),
	); err != nil {
		return err
	}
	if len(d.Alternatives) > 64 {
		return Reject(ReasonInvalidValue, "alternatives", "at most 64, got %d", len(d.Alternatives))
	}
	for i, a := range d.Alternatives {
		if first(required("", a.Option), inRange("", a.Score, -1e9, 1e9)) == nil {
			continue // the path is formatted only for the error
		}
		if err := first(required(fmt.Sprintf("alternatives[%d].option", i), a.Option), inRange(fmt.Sprintf("alternatives[%d].score", i), a.Score, -1e9, 1e9)); err != nil {
			return err
		}
	}
	return nil
}

// SpanError describes a failed span.
type SpanError struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

// Span is the payload of agent.span on agent-trace-events: one unit of work
// of an execution trace (an agent run, a tool call, a model call).
type Span struct {
	TraceID      string     `json:"trace_id"`
	SpanID       string     `json:"span_id"`
	ParentSpanID string     `json:"parent_span_id,omitempty"`
	Agent        string     `json:"agent"`
	Name         string     `json:"name"`
	Status       string     `json:"status"` // ok or error
	StartTime    Time       `json:"start_time"`
	EndTime      Time       `json:"end_time"`
	Model        string     `json:"model,omitempty"`
	TokensIn     int        `json:"tokens_in,omitempty"`
	TokensOut    int        `json:"tokens_out,omitempty"`
	Error        *SpanError `json:"error,omitempty"`
}

// Validate implements Payload.
func (s *Span) Validate() error {
	if err := first(
		required("trace_id", s.TraceID), required("span_id", s.SpanID), required("agent", s.Agent),
		required("name", s.Name), oneOf("status", s.Status, "ok", "error"),
		CheckTime("start_time", s.StartTime, true), CheckTime("end_time", s.EndTime, true),
		optional("parent_span_id", s.ParentSpanID), optional("model", s.Model),
		count("tokens_in", s.TokensIn), count("tokens_out", s.TokensOut),
	); err != nil {
		return err
	}
	if s.EndTime.Before(s.StartTime.Time) {
		return Reject(ReasonInvalidValue, "end_time", "%s is before start_time %s", s.EndTime.UTC().Format("2006-01-02T15:04:05.999Z07:00"), s.StartTime.UTC().Format("2006-01-02T15:04:05.999Z07:00"))
	}
	if s.Status == "error" && (s.Error == nil || s.Error.Type == "") {
		return Reject(ReasonMissingField, "error.type", "required when status is error")
	}
	if s.Error != nil {
		return first(optional("error.type", s.Error.Type), maxLen("error.message", s.Error.Message, maxTextBytes))
	}
	return nil
}

// LatencyMS is the span's duration in milliseconds.
func (s *Span) LatencyMS() float64 {
	return float64(s.EndTime.Sub(s.StartTime.Time).Microseconds()) / 1000
}
