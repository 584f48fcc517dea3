package quality

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aistream/aistream/processors/insights"
)

// Rule names (insight event types are "insight.<rule>").
const (
	RuleSatisfactionDrop = "satisfaction_drop"
	RuleLatencyP95       = "latency_p95_regression"
	RuleErrorRateSpike   = "error_rate_spike"
	RuleCostAnomaly      = "cost_anomaly"
	RuleNewFailure       = "new_failure_category"
)

// MetricRule holds the thresholds of a rule comparing a window's value with
// its baseline. What a threshold measures depends on the rule (RULES.md): a
// ratio observed/baseline (latency, cost) or an absolute change of a rate
// (error rate up, satisfaction down). A level of 0 is disabled.
type MetricRule struct {
	Info     float64 `json:"info,omitempty"`
	Warning  float64 `json:"warning"`
	Critical float64 `json:"critical"`
	// MinSamples is the fewest requests (feedback for satisfaction_drop) a
	// window needs to be judged and to teach the baseline.
	MinSamples int64 `json:"min_samples"`
	// MinChange is the smallest absolute difference from the baseline that
	// may fire (a noise floor, in the rule's unit).
	MinChange float64 `json:"min_change,omitempty"`
}

// CategoryRule is new_failure_category: the first appearance in a UTC day of
// a feedback category or a metrics error type ("error:<type>") for an agent.
type CategoryRule struct {
	// Severity by category; "error:*" applies to every error type not named.
	Severity map[string]string `json:"severity"`
	// Default is the severity of categories not named; "" reports none.
	Default string `json:"default"`
}

// Rules are every insight rule's thresholds.
type Rules struct {
	// MinBaselineWindows is how many judged windows a baseline learns before
	// metric rules fire.
	MinBaselineWindows int          `json:"min_baseline_windows"`
	SatisfactionDrop   MetricRule   `json:"satisfaction_drop"`
	LatencyP95         MetricRule   `json:"latency_p95_regression"`
	ErrorRateSpike     MetricRule   `json:"error_rate_spike"`
	CostAnomaly        MetricRule   `json:"cost_anomaly"`
	NewFailure         CategoryRule `json:"new_failure_category"`
}

// DefaultRules are the thresholds documented in RULES.md.
func DefaultRules() Rules {
	return Rules{
		MinBaselineWindows: 3,
		SatisfactionDrop:   MetricRule{Warning: 0.15, Critical: 0.30, MinSamples: 5},
		LatencyP95:         MetricRule{Warning: 1.5, Critical: 2.5, MinSamples: 10, MinChange: 50},
		ErrorRateSpike:     MetricRule{Warning: 0.10, Critical: 0.25, MinSamples: 10},
		CostAnomaly:        MetricRule{Warning: 1.5, Critical: 3, MinSamples: 10},
		NewFailure: CategoryRule{
			Severity: map[string]string{"unsafe": insights.Critical, "incorrect": insights.Warning, "error:*": insights.Warning},
			Default:  insights.Info,
		},
	}
}

// LoadRules reads a rules file; fields it leaves out keep their defaults.
func LoadRules(path string) (Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("read rules: %w", err)
	}
	r := DefaultRules()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("rules file %s: %w (see processors/quality/RULES.md for the format)", path, err)
	}
	return r, r.Validate()
}

// Validate checks the thresholds.
func (r Rules) Validate() error {
	if r.MinBaselineWindows < 1 {
		return fmt.Errorf("min_baseline_windows must be >= 1, got %d", r.MinBaselineWindows)
	}
	for name, m := range map[string]MetricRule{
		RuleSatisfactionDrop: r.SatisfactionDrop, RuleLatencyP95: r.LatencyP95,
		RuleErrorRateSpike: r.ErrorRateSpike, RuleCostAnomaly: r.CostAnomaly,
	} {
		if m.Info < 0 || m.Warning <= 0 || m.Critical < m.Warning || (m.Info > 0 && m.Info > m.Warning) {
			return fmt.Errorf("%s: want 0 <= info <= warning <= critical with warning > 0, got %v/%v/%v", name, m.Info, m.Warning, m.Critical)
		}
		if m.MinSamples < 1 || m.MinChange < 0 {
			return fmt.Errorf("%s: min_samples must be >= 1 and min_change >= 0", name)
		}
	}
	for c, s := range r.NewFailure.Severity {
		if insights.SeverityRank(s) == 0 && s != "" {
			return fmt.Errorf("new_failure_category: severity of %q is %q, want info, warning, critical or \"\"", c, s)
		}
	}
	if d := r.NewFailure.Default; d != "" && insights.SeverityRank(d) == 0 {
		return fmt.Errorf("new_failure_category: default %q, want info, warning, critical or \"\"", d)
	}
	return nil
}

// level is the severity value v reaches under m, and that level's threshold.
func (m MetricRule) level(v float64) (sev string, threshold float64) {
	switch {
	case m.Critical > 0 && v >= m.Critical:
		return insights.Critical, m.Critical
	case v >= m.Warning:
		return insights.Warning, m.Warning
	case m.Info > 0 && v >= m.Info:
		return insights.Info, m.Info
	}
	return "", 0
}

// lowest is the lowest enabled threshold: below it a condition is clear.
func (m MetricRule) lowest() float64 {
	if m.Info > 0 {
		return m.Info
	}
	return m.Warning
}

func (c CategoryRule) severity(category string) string {
	if s, ok := c.Severity[category]; ok {
		return s
	}
	if len(category) > 6 && category[:6] == "error:" {
		if s, ok := c.Severity["error:*"]; ok {
			return s
		}
	}
	return c.Default
}
