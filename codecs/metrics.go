package codecs

// Metrics is the payload of agent.metrics on agent-metrics-events: quality
// and performance figures of one agent request.
type Metrics struct {
	Agent        string   `json:"agent"`
	Model        string   `json:"model"`
	TraceID      string   `json:"trace_id,omitempty"`
	LatencyMS    float64  `json:"latency_ms"`
	TokensIn     int      `json:"tokens_in"`
	TokensOut    int      `json:"tokens_out"`
	CostUSD      float64  `json:"cost_usd"`
	Status       string   `json:"status"` // ok or error
	ErrorType    string   `json:"error_type,omitempty"`
	QualityScore *float64 `json:"quality_score,omitempty"` // 0..1
}

// Validate implements Payload.
func (m *Metrics) Validate() error {
	if err := first(
		required("agent", m.Agent), required("model", m.Model), oneOf("status", m.Status, "ok", "error"),
		nonNegative("latency_ms", m.LatencyMS, 1e9), nonNegative("cost_usd", m.CostUSD, 1e6),
		count("tokens_in", m.TokensIn), count("tokens_out", m.TokensOut),
		optional("trace_id", m.TraceID), optional("error_type", m.ErrorType),
	); err != nil {
		return err
	}
	if m.Status == "error" && m.ErrorType == "" {
		return Reject(ReasonMissingField, "error_type", "required when status is error")
	}
	if m.QualityScore != nil {
		return inRange("quality_score", *m.QualityScore, 0, 1)
	}
	return nil
}
