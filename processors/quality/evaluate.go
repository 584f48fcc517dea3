package quality

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/aistream/aistream/processors/insights"
)

// direction says how a metric rule compares a window with its baseline.
type direction int

const (
	ratioUp   direction = iota // observed/baseline >= threshold
	deltaUp                    // observed-baseline >= threshold
	deltaDown                  // baseline-observed >= threshold
)

// check is one metric rule applied to one closed window.
type check struct {
	rule     string
	cfg      MetricRule
	dir      direction
	base     *EWMA
	observed float64
	samples  int64
	defined  bool // the window has a value at all (satisfaction needs feedback)
	unit     string
	label    string // what is measured, for summaries
	byModel  map[string]float64
}

// change is how far observed is from baseline in the rule's terms.
func (c *check) change(baseline float64) (v float64, ok bool) {
	switch c.dir {
	case ratioUp:
		if baseline <= 0 || c.observed-baseline < c.cfg.MinChange {
			return 0, false
		}
		return c.observed / baseline, true
	case deltaUp:
		d := c.observed - baseline
		return d, d >= c.cfg.MinChange
	default:
		d := baseline - c.observed
		return d, d >= c.cfg.MinChange
	}
}

// threshold converts a rule threshold into the rule's unit.
func (c *check) threshold(baseline, t float64) float64 {
	switch c.dir {
	case ratioUp:
		return baseline * t
	case deltaUp:
		return baseline + t
	default:
		return baseline - t
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

func round(x float64) float64 { return roundTo(x, 1e6) }

// roundTo rounds x to 1/scale, never to NaN or ±Inf: when x·scale
// overflows, x has no digits that fine anyway and is kept (finite).
func roundTo(x, scale float64) float64 {
	if r := math.Round(x*scale) / scale; !math.IsInf(r, 0) && !math.IsNaN(r) {
		return r
	}
	return finite(x)
}

// finite maps NaN to 0 and ±Inf to ±MaxFloat64: every float the processor
// keeps or emits stays finite, as JSON (insights, the view) requires.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

func (c *check) format(v float64) string {
	switch c.unit {
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	case "usd":
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// evaluate judges a closed window: it fires, escalates or resolves metric
// rules (once per change, never per window while a condition persists),
// teaches the baseline, and reports failure categories new today.
func (p *proc) evaluate(s *State, sum *Summary) []*insights.Insight {
	r := p.cfg.Rules
	var out []*insights.Insight
	for _, c := range p.checks(s, sum) {
		if !c.defined || c.samples < c.cfg.MinSamples {
			continue // too little data to judge or learn from
		}
		base := c.base.Value
		if c.base.Windows < r.MinBaselineWindows {
			c.base.learn(c.observed, p.cfg.Alpha)
			continue
		}
		sev, t := "", 0.0
		if v, ok := c.change(base); ok {
			sev, t = c.cfg.level(v)
		}
		active := s.Alerts[c.rule]
		in := &insights.Insight{
			Rule: c.rule, Agent: s.Agent, Window: insights.Window{Start: sum.Start, End: sum.End},
			Observed: round(c.observed), Baseline: round(base), Unit: c.unit, ByModel: c.byModel,
		}
		switch {
		case sev != "" && (active == nil || active.Severity != sev):
			in.State, in.Severity = insights.Firing, sev
			in.Threshold = round(c.threshold(base, t))
			in.InsightID = insights.ID(s.Tenant, s.Agent, c.rule, "", sum.Start, sev)
			in.Summary = fmt.Sprintf("%s %s %s in the %s window, baseline %s (%s threshold %s)",
				s.Agent, c.label, c.format(c.observed), stamp(sum.Start), c.format(base), sev, c.format(in.Threshold))
			if s.Alerts == nil {
				s.Alerts = map[string]*Alert{}
			}
			s.Alerts[c.rule] = &Alert{Severity: sev, InsightID: in.InsightID, Since: sum.Start, Observed: in.Observed, Baseline: in.Baseline, Threshold: in.Threshold}
			out = append(out, in)
		case sev != "":
			// Persisting at the same severity: already reported.
		case active != nil:
			in.State, in.Severity, in.Resolves = insights.Resolved, active.Severity, active.InsightID
			in.Threshold = round(c.threshold(base, c.cfg.lowest()))
			in.InsightID = insights.ID(s.Tenant, s.Agent, c.rule, "", sum.Start, insights.Resolved)
			in.Summary = fmt.Sprintf("%s %s back to %s in the %s window, baseline %s (%s since the %s window)",
				s.Agent, c.label, c.format(c.observed), stamp(sum.Start), c.format(base), active.Severity, stamp(active.Since))
			delete(s.Alerts, c.rule)
			c.base.learn(c.observed, p.cfg.Alpha)
			out = append(out, in)
		default:
			c.base.learn(c.observed, p.cfg.Alpha)
		}
	}
	return append(out, p.newCategories(s, sum)...)
}

// checks are the metric rules in a fixed order (output order is stable).
func (p *proc) checks(s *State, sum *Summary) []*check {
	r := p.cfg.Rules
	lat, cost, errs := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for name, m := range sum.Models {
		lat[name], cost[name], errs[name] = round(m.LatencyP95), round(m.CostPerRequest), round(m.ErrorRate)
	}
	sat := 0.0
	if sum.SatisfactionRate != nil {
		sat = *sum.SatisfactionRate
	}
	return []*check{
		{rule: RuleSatisfactionDrop, cfg: r.SatisfactionDrop, dir: deltaDown, base: &s.Base.SatisfactionRate,
			observed: sat, samples: sum.Feedback, defined: sum.SatisfactionRate != nil, unit: "ratio", label: "satisfaction rate"},
		{rule: RuleLatencyP95, cfg: r.LatencyP95, dir: ratioUp, base: &s.Base.LatencyP95,
			observed: sum.LatencyP95, samples: sum.Requests, defined: true, unit: "ms", label: "p95 latency", byModel: lat},
		{rule: RuleErrorRateSpike, cfg: r.ErrorRateSpike, dir: deltaUp, base: &s.Base.ErrorRate,
			observed: sum.ErrorRate, samples: sum.Requests, defined: true, unit: "ratio", label: "error rate", byModel: errs},
		{rule: RuleCostAnomaly, cfg: r.CostAnomaly, dir: ratioUp, base: &s.Base.CostPerRequest,
			observed: sum.CostPerRequest, samples: sum.Requests, defined: true, unit: "usd", label: "cost per request", byModel: cost},
	}
}

// newCategories reports failure categories (feedback categories and
// "error:<type>") seen for the first time in the window's UTC day.
func (p *proc) newCategories(s *State, sum *Summary) []*insights.Insight {
	day := sum.Start.UTC().Format("2006-01-02")
	for c, d := range s.Seen {
		if d != day {
			delete(s.Seen, c) // another day's: the rule is per day
		}
	}
	counts := map[string]int64{}
	for c, n := range sum.Categories {
		counts[c] = n
	}
	for t, n := range sum.ErrorTypes {
		counts["error:"+t] = n
	}
	names := make([]string, 0, len(counts))
	for c := range counts {
		names = append(names, c)
	}
	sort.Strings(names)
	var out []*insights.Insight
	for _, c := range names {
		if _, seen := s.Seen[c]; seen || len(s.Seen) >= maxSeen {
			continue
		}
		if s.Seen == nil {
			s.Seen = map[string]string{}
		}
		s.Seen[c] = day
		sev := p.cfg.Rules.NewFailure.severity(c)
		if sev == "" {
			continue
		}
		out = append(out, &insights.Insight{
			InsightID: insights.ID(s.Tenant, s.Agent, RuleNewFailure, c, sum.Start, sev),
			Rule:      RuleNewFailure, State: insights.Firing, Severity: sev, Agent: s.Agent, Subject: c,
			Summary:  fmt.Sprintf("%s: first %q failure of %s (UTC), %d in the %s window", s.Agent, c, day, counts[c], stamp(sum.Start)),
			Window:   insights.Window{Start: sum.Start, End: sum.End},
			Observed: float64(counts[c]), Threshold: 1, Unit: "count",
		})
	}
	return out
}
