package codecs

// Learning signals are what aistream produces on ai-learning-signals: one
// self-contained record per user feedback, joined with the context of the
// trace it rates, that a model-improvement job can train or evaluate on
// without looking anything else up. The envelope is the seed's:
// event_type "learning_signal.<type>", source "aistream", the feedback's
// tenant_id and timestamp.

// SignalTypePrefix starts the event_type of every learning signal.
const SignalTypePrefix = "learning_signal."

// Learning signal types, from the strongest claim to the weakest: the first
// that applies is taken.
const (
	// SignalSafety: the user ticked "unsafe", whatever the rating.
	SignalSafety = "safety_escalation"
	// SignalCorrection: a negative rating with a comment saying what was wrong.
	SignalCorrection = "correction"
	// SignalNegative: a negative rating without a comment.
	SignalNegative = "negative_example"
	// SignalPositive: a positive rating.
	SignalPositive = "positive_example"
)

// Signal is the payload (envelope "data") of a learning signal.
type Signal struct {
	// SignalID is stable for one feedback event: derived from its tenant and
	// event_id. Revisions of the same signal share it.
	SignalID string `json:"signal_id"`
	// Revision starts at 1 and grows when trace context arriving after the
	// feedback changed what the signal says. Keep the highest.
	Revision   int     `json:"revision"`
	SignalType string  `json:"signal_type"`
	Weight     float64 `json:"weight"`

	ResponseID string `json:"response_id"`
	TraceID    string `json:"trace_id"`
	SessionID  string `json:"session_id"`
	UserID     string `json:"user_id"`
	Agent      string `json:"agent"`
	Model      string `json:"model"`

	Feedback SignalFeedback `json:"feedback"`

	// Supersedes names the signal of the same user's previous feedback on
	// the same response, SupersededBy the next one, as far as known when
	// this revision was produced. The current signal of a (response_id,
	// user_id) is the one whose feedback has the latest timestamp, ties
	// broken by the larger feedback event_id.
	Supersedes   string `json:"supersedes,omitempty"`
	SupersededBy string `json:"superseded_by,omitempty"`

	Context SignalContext `json:"context"`
}

// SignalFeedback is the rating a signal carries.
type SignalFeedback struct {
	EventID    string   `json:"event_id"`
	Timestamp  Time     `json:"timestamp"`
	Thumbs     string   `json:"thumbs,omitempty"`
	Score      *int     `json:"score,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Comment    string   `json:"comment,omitempty"`
}

// SignalContext is what the trace says about how the rated response came
// about. Missing is true when no event of the trace had been seen.
type SignalContext struct {
	Missing        bool              `json:"missing"`
	Agents         []string          `json:"agents,omitempty"` // agent path, by first appearance
	Decisions      []SignalDecision  `json:"decisions,omitempty"`
	Thinking       []SignalThinking  `json:"thinking,omitempty"`
	SpanErrors     []SignalSpanError `json:"span_errors,omitempty"`
	Spans          int               `json:"spans"`
	LatencyMS      float64           `json:"latency_ms"`
	Models         []string          `json:"models,omitempty"`
	TokensIn       int               `json:"tokens_in"`
	TokensOut      int               `json:"tokens_out"`
	ThinkingTokens int               `json:"thinking_tokens"`
	// Truncated is true when the trace or this context was cut at a bound.
	Truncated bool `json:"truncated,omitempty"`
}

// SignalDecision is a decision taken in the trace.
type SignalDecision struct {
	DecisionID   string        `json:"decision_id"`
	Agent        string        `json:"agent"`
	DecisionType string        `json:"decision_type"`
	Chosen       string        `json:"chosen"`
	Alternatives []Alternative `json:"alternatives,omitempty"`
	Confidence   float64       `json:"confidence"`
	Reason       string        `json:"reason,omitempty"`
}

// SignalThinking is a reasoning step of the trace.
type SignalThinking struct {
	Agent   string `json:"agent"`
	Step    int    `json:"step"`
	Kind    string `json:"kind,omitempty"`
	Content string `json:"content"`
}

// SignalSpanError is a failed span of the trace.
type SignalSpanError struct {
	SpanID  string `json:"span_id"`
	Agent   string `json:"agent"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}
