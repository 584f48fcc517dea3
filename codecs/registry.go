package codecs

import "sort"

// Event types the AI Service publishes, and the topic each belongs on.
const (
	TypeFeedback = "feedback.submitted" // ai-feedback-events
	TypeThinking = "agent.thinking"     // agent-thinking-events
	TypeDecision = "agent.decision"     // agent-decision-events
	TypeSpan     = "agent.span"         // agent-trace-events
	TypeMetrics  = "agent.metrics"      // agent-metrics-events
	TypeLineage  = "query.lineage"      // query-lineage-events
	TypeAudit    = "audit.recorded"     // audit-events
)

// Payload is a typed event body that validates itself.
type Payload interface {
	Validate() error
}

type spec struct {
	new func() Payload
}

var types = map[string]spec{
	TypeFeedback: {func() Payload { return new(Feedback) }},
	TypeThinking: {func() Payload { return new(Thinking) }},
	TypeDecision: {func() Payload { return new(Decision) }},
	TypeSpan:     {func() Payload { return new(Span) }},
	TypeMetrics:  {func() Payload { return new(Metrics) }},
	TypeLineage:  {func() Payload { return new(Lineage) }},
	TypeAudit:    {func() Payload { return new(Audit) }},
}

// KnownTypes lists the event types Decode accepts, sorted.
func KnownTypes() []string {
	out := make([]string, 0, len(types))
	for t := range types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
