package contextgraph

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/dedupe"
	"github.com/aistream/aistream/internal/stream"
)

// Graph is the context graph of one trace: the group table's value, stored
// under the trace_id.
type Graph struct {
	TenantID  string          `json:"tenant_id"`
	TraceID   string          `json:"trace_id"`
	Started   *codecs.Time    `json:"started,omitempty"` // earliest event or span start
	Ended     *codecs.Time    `json:"ended,omitempty"`   // latest event or span end
	Agents    []Agent         `json:"agents"`
	Thinking  []Step          `json:"thinking"`
	Decisions []DecisionNode  `json:"decisions"`
	Spans     []SpanNode      `json:"spans"`
	Errors    []SpanFailure   `json:"errors"`
	Feedback  []FeedbackEntry `json:"feedback"`
	// Events counts the events the graph holds (a replaced decision or span
	// counts once), so it does not depend on arrival order.
	Events int `json:"events"`
	// Dropped counts feedback not kept past its bounds (each still got its
	// signal); earlier states also counted other kinds here, which
	// Truncated now says.
	Dropped Dropped `json:"dropped"`
	// Truncated says which kinds of events a bound stopped keeping. Once it
	// is set, a dropped event changes nothing and writes nothing, so a hot
	// trace costs a lookup per event, not a rewrite of its whole graph
	// (aistream_dropped_events_total counts them).
	Truncated Truncated `json:"truncated"`
	// Bytes is what the entries take in the encoded graph: the JSON of every
	// step, decision, span and feedback entry kept, with the Agents and
	// Errors entries it may add (see cost). It is what MaxStateBytes bounds.
	Bytes int `json:"approx_bytes"`
	// DroppedFeedback remembers the feedback not kept, so that a duplicate
	// does not emit its signal again however many came since.
	DroppedFeedback dedupe.Window `json:"dropped_feedback"`
	// Offsets are the highest input offsets applied (redelivery detection).
	Offsets stream.Offsets `json:"offsets,omitempty"`
}

// Truncated says which bounds were reached.
type Truncated struct {
	Thinking  bool `json:"thinking"`
	Decisions bool `json:"decisions"`
	Spans     bool `json:"spans"`
	// Bytes: events refused because the graph reached MaxStateBytes.
	Bytes bool `json:"bytes"`
}

// set marks a bound as reached and reports whether that is news.
func set(flag *bool) bool {
	if *flag {
		return false
	}
	*flag = true
	return true
}

// migrate carries counts of a state written before Truncated into it.
// It changes nothing in a current state (the memo relies on it: see
// TableCodec).
func (g *Graph) migrate() {
	d := &g.Dropped
	if d.Thinking == 0 && d.Decisions == 0 && d.Spans == 0 && d.Bytes == 0 {
		return
	}
	g.Truncated.Thinking = g.Truncated.Thinking || d.Thinking > 0
	g.Truncated.Decisions = g.Truncated.Decisions || d.Decisions > 0
	g.Truncated.Spans = g.Truncated.Spans || d.Spans > 0
	g.Truncated.Bytes = g.Truncated.Bytes || d.Bytes > 0
	d.Thinking, d.Decisions, d.Spans, d.Bytes = 0, 0, 0, 0
}

// Agent is an agent that took part in the trace.
type Agent struct {
	Name      string      `json:"name"`
	FirstSeen codecs.Time `json:"first_seen"`
}

// Step is a thinking step.
type Step struct {
	EventID   string      `json:"event_id"`
	Timestamp codecs.Time `json:"timestamp"`
	SpanID    string      `json:"span_id,omitempty"`
	Agent     string      `json:"agent"`
	Step      int         `json:"step"`
	Kind      string      `json:"kind,omitempty"`
	Content   string      `json:"content"`
	Tokens    int         `json:"tokens,omitempty"`
}

// DecisionNode is a decision; a later event for the same decision_id
// replaces it.
type DecisionNode struct {
	EventID      string               `json:"event_id"`
	Timestamp    codecs.Time          `json:"timestamp"`
	DecisionID   string               `json:"decision_id"`
	SpanID       string               `json:"span_id,omitempty"`
	Agent        string               `json:"agent"`
	DecisionType string               `json:"decision_type"`
	Chosen       string               `json:"chosen"`
	Alternatives []codecs.Alternative `json:"alternatives,omitempty"`
	Confidence   float64              `json:"confidence"`
	Reason       string               `json:"reason,omitempty"`
}

// SpanNode is a span; a later event for the same span_id replaces it.
type SpanNode struct {
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

// SpanFailure is a span that ended in error (derived from Spans).
type SpanFailure struct {
	SpanID  string `json:"span_id"`
	Agent   string `json:"agent"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

// FeedbackEntry is a feedback on a response of the trace, with the state of
// the learning signal it produced.
type FeedbackEntry struct {
	EventID    string      `json:"event_id"`
	Timestamp  codecs.Time `json:"timestamp"`
	ResponseID string      `json:"response_id"`
	SessionID  string      `json:"session_id"`
	UserID     string      `json:"user_id"`
	Agent      string      `json:"agent"`
	Model      string      `json:"model"`
	Thumbs     string      `json:"thumbs,omitempty"`
	Score      *int        `json:"score,omitempty"`
	Categories []string    `json:"categories,omitempty"`
	Comment    string      `json:"comment,omitempty"`

	SignalID     string  `json:"signal_id"`
	SignalType   string  `json:"signal_type"`
	Revision     int     `json:"revision"`
	Weight       float64 `json:"weight"`
	Supersedes   string  `json:"supersedes,omitempty"`
	SupersededBy string  `json:"superseded_by,omitempty"`
	// Fingerprint identifies the context the latest revision carried; a
	// new revision is emitted only when it changes.
	Fingerprint string `json:"context_fingerprint"`
}

// Dropped counts distinct feedback events not kept because a bound was
// reached (the other fields are read from earlier states only).
type Dropped struct {
	Thinking  int `json:"thinking,omitempty"`
	Decisions int `json:"decisions,omitempty"`
	Spans     int `json:"spans,omitempty"`
	Feedback  int `json:"feedback,omitempty"`
	// Bytes counts events refused because the graph reached MaxStateBytes.
	Bytes int `json:"bytes,omitempty"`
}

// Any reports whether anything was not kept.
func (g *Graph) truncated() bool { return g.Dropped != Dropped{} || g.Truncated != Truncated{} }

// Clipping lengths of stored strings: enough to read, small enough that the
// bounds on counts keep a graph far below Kafka's message size.
const (
	clipID      = 256
	clipName    = 256
	clipContent = 2048
	clipText    = 1024
	// maxDroppedFeedback bounds DroppedFeedback (about 40 bytes each encoded,
	// outside MaxStateBytes: an encoded graph stays under MaxStateBytes +
	// 24 KiB + a few KiB of fixed fields).
	maxDroppedFeedback = 512
)

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func newGraph(tenant, traceID string) *Graph {
	return &Graph{TenantID: tenant, TraceID: traceID}
}

// has reports whether the event was applied already.
func (g *Graph) has(eventID string) bool {
	for i := range g.Thinking {
		if g.Thinking[i].EventID == eventID {
			return true
		}
	}
	for i := range g.Decisions {
		if g.Decisions[i].EventID == eventID {
			return true
		}
	}
	for i := range g.Spans {
		if g.Spans[i].EventID == eventID {
			return true
		}
	}
	for i := range g.Feedback {
		if g.Feedback[i].EventID == eventID {
			return true
		}
	}
	return false
}

// room reports whether an entry costing size bytes fits the byte budget
// once one costing freed bytes is gone.
func (g *Graph) room(c Config, size, freed int) bool {
	return g.Bytes-freed+size <= c.MaxStateBytes
}

// cost is what an entry adds to the encoded graph: its JSON and, for its
// agent, an Agents entry (with the longest time) and, for a failed span, an
// Errors entry, each with a separator. Deterministic, so replacing an entry
// subtracts exactly what adding it counted. The JSON is measured, not
// written (jsonlen.go).
func cost[T jsonLener](entry T, agent string, failure *SpanFailure) int {
	n := entry.jsonLen() + 1
	if agent != "" {
		n += Agent{Name: agent}.jsonLen() + 1 + len(`.999999999`)
	}
	if failure != nil {
		n += failure.jsonLen() + 1
	}
	return n
}

// apply adds a thinking, decision or span event (not yet applied, of the
// graph's tenant) and reports whether the graph changed.
func (g *Graph) apply(c Config, ev *codecs.Event) bool {
	changed := false
	switch p := ev.Payload.(type) {
	case *codecs.Thinking:
		changed = g.addThinking(c, ev, p)
	case *codecs.Decision:
		changed = g.addDecision(c, ev, p)
	case *codecs.Span:
		changed = g.addSpan(c, ev, p)
	}
	if changed {
		g.derive()
	}
	return changed
}

func (g *Graph) addThinking(c Config, ev *codecs.Event, p *codecs.Thinking) bool {
	if len(g.Thinking) >= c.MaxThinkingSteps {
		return set(&g.Truncated.Thinking)
	}
	s := Step{
		EventID: ev.EventID, Timestamp: ev.Timestamp, SpanID: clip(p.SpanID, clipID), Agent: clip(p.Agent, clipName),
		Step: p.Step, Kind: clip(p.Kind, clipName), Content: clip(p.Content, clipContent), Tokens: p.Tokens,
	}
	size := cost(s, s.Agent, nil)
	if !g.room(c, size, 0) {
		return set(&g.Truncated.Bytes)
	}
	i, _ := slices.BinarySearchFunc(g.Thinking, s, compareSteps)
	g.Thinking = slices.Insert(g.Thinking, i, s)
	g.Bytes += size
	return true
}

func compareSteps(a, b Step) int {
	if a.Step != b.Step {
		return a.Step - b.Step
	}
	if c := a.Timestamp.Compare(b.Timestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

// newer reports whether event (t, id) comes after (t0, id0): a later event
// time, ties broken by the larger event_id, so replicas agree whatever the
// arrival order.
func newer(t codecs.Time, id string, t0 codecs.Time, id0 string) bool {
	if c := t.Compare(t0.Time); c != 0 {
		return c > 0
	}
	return id > id0
}

// upsert keeps, in the sorted and bounded list, the newest version (by
// event time, then event_id) of the entry e identifies, within the graph's
// byte budget. It reports whether the graph changed: an older version of a
// kept entry changes nothing; one past a bound only sets its Truncated flag.
func upsert[T any](g *Graph, c Config, list *[]T, e T, max int, truncated *bool,
	same func(T) bool, version func(T) (codecs.Time, string), size func(T) int, order func(a, b T) int) bool {
	add, freed := size(e), 0
	i := slices.IndexFunc(*list, same)
	if i >= 0 {
		old := (*list)[i]
		t, id := version(e)
		t0, id0 := version(old)
		if !newer(t, id, t0, id0) {
			return false
		}
		freed = size(old)
	} else if len(*list) >= max {
		return set(truncated)
	}
	if !g.room(c, add, freed) {
		return set(&g.Truncated.Bytes)
	}
	if i >= 0 {
		*list = slices.Delete(*list, i, i+1)
	}
	j, _ := slices.BinarySearchFunc(*list, e, order)
	*list = slices.Insert(*list, j, e)
	g.Bytes += add - freed
	return true
}

func (g *Graph) addDecision(c Config, ev *codecs.Event, p *codecs.Decision) bool {
	alts := p.Alternatives
	if len(alts) > maxAlternatives {
		alts = alts[:maxAlternatives]
	}
	d := DecisionNode{
		EventID: ev.EventID, Timestamp: ev.Timestamp, DecisionID: clip(p.DecisionID, clipID), SpanID: clip(p.SpanID, clipID),
		Agent: clip(p.Agent, clipName), DecisionType: clip(p.DecisionType, clipName), Chosen: clip(p.Chosen, clipName),
		Confidence: p.Confidence, Reason: clip(p.Reason, clipText),
	}
	for _, a := range alts {
		d.Alternatives = append(d.Alternatives, codecs.Alternative{Option: clip(a.Option, clipName), Score: a.Score})
	}
	return upsert(g, c, &g.Decisions, d, c.MaxDecisions, &g.Truncated.Decisions,
		func(x DecisionNode) bool { return x.DecisionID == d.DecisionID },
		func(x DecisionNode) (codecs.Time, string) { return x.Timestamp, x.EventID },
		func(x DecisionNode) int { return cost(x, x.Agent, nil) },
		func(a, b DecisionNode) int {
			if c := a.Timestamp.Compare(b.Timestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.DecisionID, b.DecisionID)
		})
}

// maxAlternatives bounds the alternatives kept per decision.
const maxAlternatives = 16

func (g *Graph) addSpan(c Config, ev *codecs.Event, p *codecs.Span) bool {
	s := SpanNode{
		EventID: ev.EventID, Timestamp: ev.Timestamp, SpanID: clip(p.SpanID, clipID), ParentSpanID: clip(p.ParentSpanID, clipID),
		Agent: clip(p.Agent, clipName), Name: clip(p.Name, clipName), Status: p.Status, StartTime: p.StartTime, EndTime: p.EndTime,
		LatencyMS: p.LatencyMS(), Model: clip(p.Model, clipName), TokensIn: p.TokensIn, TokensOut: p.TokensOut,
	}
	if p.Error != nil {
		s.Error = &codecs.SpanError{Type: clip(p.Error.Type, clipName), Message: clip(p.Error.Message, clipText)}
	}
	changed := upsert(g, c, &g.Spans, s, c.MaxSpans, &g.Truncated.Spans,
		func(x SpanNode) bool { return x.SpanID == s.SpanID },
		func(x SpanNode) (codecs.Time, string) { return x.Timestamp, x.EventID },
		spanCost,
		func(a, b SpanNode) int {
			if c := a.StartTime.Compare(b.StartTime.Time); c != 0 {
				return c
			}
			return strings.Compare(a.SpanID, b.SpanID)
		})
	if !changed {
		return false
	}
	g.Errors = g.Errors[:0]
	for _, x := range g.Spans {
		if f := x.failure(); f != nil {
			g.Errors = append(g.Errors, *f)
		}
	}
	return true
}

// failure is the Errors entry of a failed span, nil for others.
func (s SpanNode) failure() *SpanFailure {
	if s.Error == nil {
		return nil
	}
	return &SpanFailure{SpanID: s.SpanID, Agent: s.Agent, Name: s.Name, Type: s.Error.Type, Message: s.Error.Message}
}

func spanCost(s SpanNode) int { return cost(s, s.Agent, s.failure()) }

// derive recomputes what the entries imply, from the entries alone so that
// the graph does not depend on the order events arrived in (a replaced
// decision or span leaves nothing behind): the agents, each at its first
// appearance (event time; a span's start time) ordered by it, ties by the
// event_id of that appearance; the trace's time range over every event
// time, span start and end; and Events.
func (g *Graph) derive() {
	var (
		buf [8]appearance
		a   = appearances{list: buf[:0]}
		r   timeRange
	)
	for i := range g.Thinking {
		s := &g.Thinking[i]
		a.list = a.see(s.Agent, s.EventID, s.Timestamp)
		r.extend(s.Timestamp)
	}
	for i := range g.Decisions {
		x := &g.Decisions[i]
		a.list = a.see(x.Agent, x.EventID, x.Timestamp)
		r.extend(x.Timestamp)
	}
	for i := range g.Spans {
		s := &g.Spans[i]
		a.list = a.see(s.Agent, s.EventID, s.StartTime)
		r.extend(s.Timestamp)
		r.extend(s.EndTime)
		r.extend(s.StartTime)
	}
	slices.SortFunc(a.list, func(x, y appearance) int {
		if c := x.at.Compare(y.at.Time); c != 0 {
			return c
		}
		return strings.Compare(x.eventID, y.eventID)
	})
	g.Agents = g.Agents[:0]
	for _, x := range a.list {
		g.Agents = append(g.Agents, Agent{Name: x.name, FirstSeen: x.at})
	}
	g.Started = setTime(g.Started, r.started, r.any)
	g.Ended = setTime(g.Ended, r.ended, r.any)
	g.Events = len(g.Thinking) + len(g.Decisions) + len(g.Spans) + len(g.Feedback)
}

// setTime is p set to t (a new pointer if p is nil), or nil without a t.
// A graph's time pointers are its own (decoded or made here), never shared,
// so they are set in place.
func setTime(p *codecs.Time, t codecs.Time, ok bool) *codecs.Time {
	if !ok {
		return nil
	}
	if p == nil {
		p = new(codecs.Time)
	}
	*p = t
	return p
}

// appearance is an agent's first appearance in the graph.
type appearance struct {
	name    string
	at      codecs.Time
	eventID string
}

// appearances are the agents' first appearances, in the order first met;
// index finds one once there are many agents (a few are scanned).
type appearances struct {
	list  []appearance
	index map[string]int
}

// see returns the list with agent's appearance in the entry of event
// eventID at first counted (the caller stores it in a.list: a list kept on
// the caller's stack stays there).
func (a *appearances) see(agent, eventID string, first codecs.Time) []appearance {
	list := a.list
	i := -1
	if a.index != nil {
		if j, ok := a.index[agent]; ok {
			i = j
		}
	} else {
		for j := range list {
			if list[j].name == agent {
				i = j
				break
			}
		}
	}
	switch {
	case i < 0:
		list = append(list, appearance{agent, first, eventID})
		if a.index != nil {
			a.index[agent] = len(list) - 1
		} else if len(list) > 32 {
			a.index = make(map[string]int, 2*len(list))
			for j := range list {
				a.index[list[j].name] = j
			}
		}
	case first.Before(list[i].at.Time) || first.Equal(list[i].at.Time) && eventID < list[i].eventID:
		list[i] = appearance{agent, first, eventID}
	}
	return list
}

// timeRange is the earliest and latest of the times it was extended to.
type timeRange struct {
	started, ended codecs.Time
	any            bool
}

// extend widens the range to t.
func (r *timeRange) extend(t codecs.Time) {
	if !r.any || t.Before(r.started.Time) {
		r.started = t
	}
	if !r.any || t.After(r.ended.Time) {
		r.ended = t
	}
	r.any = true
}

// seenTrace reports whether any agent event of the trace was applied.
func (g *Graph) seenTrace() bool {
	return len(g.Thinking)+len(g.Decisions)+len(g.Spans) > 0 || g.Truncated.Thinking || g.Truncated.Decisions || g.Truncated.Spans
}

// duration is the trace's extent in event time.
func (g *Graph) duration() time.Duration {
	if g.Started == nil || g.Ended == nil {
		return 0
	}
	return g.Ended.Sub(g.Started.Time)
}
