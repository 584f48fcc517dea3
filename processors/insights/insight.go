// Package insights defines the insight events aistream writes to ai-insights
// and the "insights" group, which keeps each tenant's recent insights in a
// table for GET /v1/insights.
package insights

import (
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/ids"
)

// Severities, in increasing order.
const (
	Info     = "info"
	Warning  = "warning"
	Critical = "critical"
)

// SeverityRank orders severities (0 for an unknown one).
func SeverityRank(s string) int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// States of an insight: a condition started (or changed severity), or ended.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// EventTypePrefix starts every insight's event_type: "insight.<rule>".
const EventTypePrefix = "insight."

// Window is the event-time window an insight was computed over.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Insight is the payload (envelope data) of an insight event.
type Insight struct {
	InsightID string `json:"insight_id"`
	Rule      string `json:"rule"`
	State     string `json:"state"`
	Severity  string `json:"severity"`
	Agent     string `json:"agent"`
	// Subject names what within the rule the insight is about: the new
	// failure category ("unsafe", "error:timeout"); empty for metric rules.
	Subject   string  `json:"subject,omitempty"`
	Summary   string  `json:"summary"`
	Window    Window  `json:"window"`
	Observed  float64 `json:"observed"`
	Baseline  float64 `json:"baseline"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit,omitempty"`
	// Resolves is the insight_id of the firing insight a resolution ends.
	Resolves string `json:"resolves,omitempty"`
	// ByModel breaks the observed value down by model within the window.
	ByModel map[string]float64 `json:"by_model,omitempty"`
}

// ID is the stable insight id: hex of sha256 over tenant, agent, rule,
// subject, window start and severity (or "resolved"), truncated to 128 bits.
// A replay of the same input produces the same ids.
func ID(tenant, agent, rule, subject string, windowStart time.Time, severityOrState string) string {
	return ids.Joined(tenant, agent, rule, subject, windowStart.UTC().Format(time.RFC3339Nano), severityOrState).Hex(32)
}

// Source is the envelope source of every event aistream writes.
const Source = "aistream"

// Encode writes the insight as an envelope event of tenant: event_type
// insight.<rule>, event_id "ins-"+insight_id, timestamp the window end.
func Encode(tenant string, in *Insight) ([]byte, error) {
	return codecs.Encode(codecs.Envelope{
		EventID:   "ins-" + in.InsightID,
		EventType: EventTypePrefix + in.Rule,
		TenantID:  tenant,
		Timestamp: codecs.NewTime(in.Window.End),
		Source:    Source,
	}, in)
}
