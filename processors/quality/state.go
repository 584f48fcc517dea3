package quality

import (
	"encoding/json"
	"math"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/window"
)

// Bounds of one window's breakdowns: past them, further models or error
// types are counted under "other".
const (
	maxModels     = 8
	maxErrorTypes = 16
	// maxSeen bounds the failure categories remembered per agent and day;
	// past it, further new categories of that day are not reported.
	maxSeen = 64
	other   = "other"
	// maxRecentBytes bounds the retained closed windows' encoded size:
	// about 300 windows of short names, about 25 of adversarial ones.
	maxRecentBytes = 192 << 10
	// maxStateBytes is what the bounds above keep a State's encoding under
	// (with fewer than 2^21 events per latency bin and window).
	maxStateBytes = 512 << 10
)

// ModelAgg is one model's share of a window.
type ModelAgg struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors,omitempty"`
	CostUSD  float64       `json:"cost_usd"`
	Latency  window.Sketch `json:"latency"`
}

// Agg is an open window's aggregate of metrics and feedback.
type Agg struct {
	Requests   int64                `json:"requests,omitempty"`
	Errors     int64                `json:"errors,omitempty"`
	ErrorTypes map[string]int64     `json:"error_types,omitempty"`
	Latency    window.Sketch        `json:"latency"`
	TokensIn   int64                `json:"tokens_in,omitempty"`
	TokensOut  int64                `json:"tokens_out,omitempty"`
	CostUSD    float64              `json:"cost_usd,omitempty"`
	QualitySum float64              `json:"quality_sum,omitempty"`
	QualityN   int64                `json:"quality_n,omitempty"`
	Feedback   int64                `json:"feedback,omitempty"`
	Positive   int64                `json:"positive,omitempty"`
	Categories map[string]int64     `json:"categories,omitempty"`
	Models     map[string]*ModelAgg `json:"models,omitempty"`
	LateEvents int64                `json:"late_events,omitempty"`
}

func bump(m *map[string]int64, k string, bound int) {
	if *m == nil {
		*m = map[string]int64{}
	}
	if _, ok := (*m)[k]; !ok && len(*m) >= bound {
		k = other
	}
	(*m)[k]++
}

func (a *Agg) addMetrics(m *codecs.Metrics) {
	a.Requests++
	a.Latency.Add(m.LatencyMS)
	a.TokensIn += int64(m.TokensIn)
	a.TokensOut += int64(m.TokensOut)
	a.CostUSD = finite(a.CostUSD + m.CostUSD)
	if m.QualityScore != nil {
		a.QualitySum += *m.QualityScore
		a.QualityN++
	}
	if a.Models == nil {
		a.Models = map[string]*ModelAgg{}
	}
	name := m.Model
	if _, ok := a.Models[name]; !ok && len(a.Models) >= maxModels {
		name = other
	}
	ma := a.Models[name]
	if ma == nil {
		ma = &ModelAgg{}
		a.Models[name] = ma
	}
	ma.Requests++
	ma.CostUSD = finite(ma.CostUSD + m.CostUSD)
	ma.Latency.Add(m.LatencyMS)
	if m.Status == "error" {
		a.Errors++
		ma.Errors++
		bump(&a.ErrorTypes, m.ErrorType, maxErrorTypes)
	}
}

func (a *Agg) addFeedback(f *codecs.Feedback) {
	a.Feedback++
	if f.Positive() {
		a.Positive++
	}
	for _, c := range f.Categories {
		bump(&a.Categories, c, len(codecs.FeedbackCategories))
	}
}

// ModelSummary is one model's figures in a window.
type ModelSummary struct {
	Requests       int64   `json:"requests"`
	ErrorRate      float64 `json:"error_rate"`
	LatencyP95     float64 `json:"latency_p95_ms"`
	CostUSD        float64 `json:"cost_usd"`
	CostPerRequest float64 `json:"cost_per_request_usd"`
}

// Summary is a window's figures, as the quality view shows them.
type Summary struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// ClosedBy is "watermark" or "idle" for a closed window, empty while open.
	ClosedBy         string                  `json:"closed_by,omitempty"`
	Requests         int64                   `json:"requests"`
	Errors           int64                   `json:"errors"`
	ErrorRate        float64                 `json:"error_rate"`
	LatencyP50       float64                 `json:"latency_p50_ms"`
	LatencyP95       float64                 `json:"latency_p95_ms"`
	LatencyP99       float64                 `json:"latency_p99_ms"`
	TokensIn         int64                   `json:"tokens_in"`
	TokensOut        int64                   `json:"tokens_out"`
	CostUSD          float64                 `json:"cost_usd"`
	CostPerRequest   float64                 `json:"cost_per_request_usd"`
	Feedback         int64                   `json:"feedback"`
	Positive         int64                   `json:"positive_feedback"`
	SatisfactionRate *float64                `json:"satisfaction_rate"`
	QualityMean      *float64                `json:"quality_score_mean"`
	LateEvents       int64                   `json:"late_events"`
	ErrorTypes       map[string]int64        `json:"error_types,omitempty"`
	Categories       map[string]int64        `json:"feedback_categories,omitempty"`
	Models           map[string]ModelSummary `json:"models,omitempty"`
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return round(float64(a) / float64(b))
}

// ms rounds a latency to µs: the sketch's 1% error makes further digits
// noise, and they would make every retained summary longer.
func ms(x float64) float64 { return roundTo(x, 1e3) }

// Summarize computes a window's figures (latency quantiles from its sketch,
// within the sketch's 1% relative error).
func Summarize(w window.Tumbling, start time.Time, a *Agg) Summary {
	s := Summary{
		Start: start, End: w.End(start),
		Requests: a.Requests, Errors: a.Errors, ErrorRate: ratio(a.Errors, a.Requests),
		LatencyP50: ms(a.Latency.Quantile(0.5)), LatencyP95: ms(a.Latency.Quantile(0.95)), LatencyP99: ms(a.Latency.Quantile(0.99)),
		TokensIn: a.TokensIn, TokensOut: a.TokensOut, CostUSD: round(a.CostUSD),
		Feedback: a.Feedback, Positive: a.Positive, LateEvents: a.LateEvents,
		ErrorTypes: a.ErrorTypes, Categories: a.Categories,
	}
	if a.Requests > 0 {
		s.CostPerRequest = round(a.CostUSD / float64(a.Requests))
	}
	if a.Feedback > 0 {
		r := ratio(a.Positive, a.Feedback)
		s.SatisfactionRate = &r
	}
	if a.QualityN > 0 {
		q := round(a.QualitySum / float64(a.QualityN))
		s.QualityMean = &q
	}
	if len(a.Models) > 0 {
		s.Models = map[string]ModelSummary{}
		for name, m := range a.Models {
			s.Models[name] = ModelSummary{
				Requests: m.Requests, ErrorRate: ratio(m.Errors, m.Requests), LatencyP95: ms(m.Latency.Quantile(0.95)),
				CostUSD: round(m.CostUSD), CostPerRequest: round(m.CostUSD / float64(m.Requests)),
			}
		}
	}
	return s
}

// Count is one name's count in a retained window's breakdown.
type Count struct {
	Name string
	N    int64
}

// NamedModel is one model's figures in a retained window.
type NamedModel struct {
	Name string
	ModelSummary
}

// Closed is a retained closed window: its Summary with the breakdowns as
// slices sorted by name. The state is decoded for every event, and maps for
// every retained window were most of that cost; only the view needs them.
type Closed struct {
	Start            time.Time
	End              time.Time
	ClosedBy         string
	Requests         int64
	Errors           int64
	ErrorRate        float64
	LatencyP50       float64
	LatencyP95       float64
	LatencyP99       float64
	TokensIn         int64
	TokensOut        int64
	CostUSD          float64
	CostPerRequest   float64
	Feedback         int64
	Positive         int64
	SatisfactionRate *float64
	QualityMean      *float64
	LateEvents       int64
	ErrorTypes       []Count
	Categories       []Count
	Models           []NamedModel
}

func countsOf(m map[string]int64) []Count {
	if len(m) == 0 {
		return nil
	}
	out := make([]Count, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Count{k, m[k]})
	}
	return out
}

func countMap(c []Count) map[string]int64 {
	if len(c) == 0 {
		return nil
	}
	m := make(map[string]int64, len(c))
	for _, x := range c {
		m[x.Name] = x.N
	}
	return m
}

// closedOf is the retained form of a closed window's summary.
func closedOf(s *Summary) Closed {
	c := Closed{
		Start: s.Start, End: s.End, ClosedBy: s.ClosedBy,
		Requests: s.Requests, Errors: s.Errors, ErrorRate: s.ErrorRate,
		LatencyP50: s.LatencyP50, LatencyP95: s.LatencyP95, LatencyP99: s.LatencyP99,
		TokensIn: s.TokensIn, TokensOut: s.TokensOut, CostUSD: s.CostUSD, CostPerRequest: s.CostPerRequest,
		Feedback: s.Feedback, Positive: s.Positive, SatisfactionRate: s.SatisfactionRate, QualityMean: s.QualityMean,
		LateEvents: s.LateEvents, ErrorTypes: countsOf(s.ErrorTypes), Categories: countsOf(s.Categories),
	}
	if len(s.Models) > 0 {
		c.Models = make([]NamedModel, 0, len(s.Models))
		for _, k := range sortedKeys(s.Models) {
			c.Models = append(c.Models, NamedModel{k, s.Models[k]})
		}
	}
	return c
}

// Summary is the window's figures as the quality view shows them.
func (c *Closed) Summary() Summary {
	s := Summary{
		Start: c.Start, End: c.End, ClosedBy: c.ClosedBy,
		Requests: c.Requests, Errors: c.Errors, ErrorRate: c.ErrorRate,
		LatencyP50: c.LatencyP50, LatencyP95: c.LatencyP95, LatencyP99: c.LatencyP99,
		TokensIn: c.TokensIn, TokensOut: c.TokensOut, CostUSD: c.CostUSD, CostPerRequest: c.CostPerRequest,
		Feedback: c.Feedback, Positive: c.Positive, SatisfactionRate: c.SatisfactionRate, QualityMean: c.QualityMean,
		LateEvents: c.LateEvents, ErrorTypes: countMap(c.ErrorTypes), Categories: countMap(c.Categories),
	}
	if len(c.Models) > 0 {
		s.Models = make(map[string]ModelSummary, len(c.Models))
		for _, m := range c.Models {
			s.Models[m.Name] = m.ModelSummary
		}
	}
	return s
}

// UnmarshalJSON reads a Summary: the JSON form of State, which StateCodec
// still decodes, retained windows as summaries.
func (c *Closed) UnmarshalJSON(b []byte) error {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*c = closedOf(&s)
	return nil
}

// EWMA is an exponentially weighted mean of past windows' values.
type EWMA struct {
	Value   float64 `json:"value"`
	Windows int     `json:"windows"` // windows learned
}

// learn adds a window's value. A non-finite value is not learnt, and a
// non-finite mean (state written before values were kept finite) restarts
// from x, so one extreme window cannot poison the baseline for good.
func (e *EWMA) learn(x, alpha float64) {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return
	}
	if e.Windows == 0 || math.IsInf(e.Value, 0) || math.IsNaN(e.Value) {
		e.Value = x
	} else {
		e.Value = finite(alpha*x + (1-alpha)*e.Value)
	}
	e.Windows++
}

// Baseline is what normal looks like for a tenant×agent. A metric learns
// from a judged window only while its rule is not firing, so a regression
// does not become the baseline it is compared with.
type Baseline struct {
	SatisfactionRate EWMA `json:"satisfaction_rate"`
	LatencyP95       EWMA `json:"latency_p95_ms"`
	ErrorRate        EWMA `json:"error_rate"`
	CostPerRequest   EWMA `json:"cost_per_request_usd"`
}

// Alert is a metric rule's active condition.
type Alert struct {
	Severity  string    `json:"severity"`
	InsightID string    `json:"insight_id"`
	Since     time.Time `json:"since"` // start of the window that fired it
	Observed  float64   `json:"observed"`
	Baseline  float64   `json:"baseline"`
	Threshold float64   `json:"threshold"`
}

// State is the table value of one tenant×agent (key "tenant|agent").
//
// Bounds, so that the encoded state stays under maxStateBytes, well within
// one Kafka record (1 MiB), whatever the events (strings are at most 256
// bytes, codecs): at most maxGraceWindows+1 open windows (Config.Validate),
// each with at most maxModels+1 models and maxErrorTypes+1 error types and
// sketches of at most window.MaxBins bins; Recent keeps Config.Recent closed
// windows, fewer when their encoded size passes maxRecentBytes (long names
// in many breakdowns), the oldest leaving first; Alerts has at most one
// entry per metric rule; Seen keeps the current UTC day's categories only
// (at most maxSeen); Applied keeps the last maxApplied event ids.
type State struct {
	Tenant  string            `json:"tenant_id"`
	Agent   string            `json:"agent"`
	Spec    window.Tumbling   `json:"window_spec"` // the windows' size and grace (ns)
	Windows window.Set[Agg]   `json:"windows"`
	Recent  []Closed          `json:"recent,omitempty"` // newest first
	Base    Baseline          `json:"baseline"`
	Alerts  map[string]*Alert `json:"alerts,omitempty"`
	Seen    map[string]string `json:"seen_categories,omitempty"` // category → UTC day reported
	Late    int64             `json:"late_events,omitempty"`     // all late events of the key
	Quiet   *time.Time        `json:"quiet_since,omitempty"`     // wall clock, set by the idle visit only
	// Applied is not in the earlier JSON form: such a state starts with an
	// empty window.
	Applied Applied `json:"-"`
	// Offsets are the highest input offsets applied (redelivery detection)
	// and Outbox the insights the latest emitting messages produced, so a
	// redelivery after a crash re-emits them (codec version 3).
	Offsets stream.Offsets `json:"-"`
	Outbox  []Sent         `json:"-"`
}

// RecentSummaries are the retained closed windows' summaries, newest first.
func (s *State) RecentSummaries() []Summary {
	out := make([]Summary, 0, len(s.Recent))
	for i := range s.Recent {
		out = append(out, s.Recent[i].Summary())
	}
	return out
}

// OpenSummaries summarizes the open windows, oldest first.
func (s *State) OpenSummaries() []Summary {
	out := make([]Summary, 0, len(s.Windows.Open))
	for i := range s.Windows.Open {
		out = append(out, Summarize(s.Spec, s.Windows.Open[i].Start, &s.Windows.Open[i].Agg))
	}
	return out
}

// maxOutbox bounds State.Outbox: the insights of the latest emitting
// messages, oldest first. A redelivery re-emits those its message
// produced; insights of older messages were committed long before (the
// group commits every second, in delivery order).
const maxOutbox = 16

// Sent is one emitted insight and the input message that produced it.
type Sent struct {
	At    stream.Offset
	Value []byte
}
