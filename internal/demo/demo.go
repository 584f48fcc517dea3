// Package demo generates realistic AI Service traffic: agent runs across a
// few tenants and agents, with thinking steps, routing decisions, spans,
// metrics, user feedback, SQL lineage, audit records and a small share of
// malformed events that must land in the dead-letter topic.
package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// Record is one message to produce. A nil Key means "no key", as the AI
// Service sends when it has none.
type Record struct {
	Topic string
	Key   []byte
	Value []byte
}

// Generator makes traces; it is deterministic for a seed.
type Generator struct {
	rng *rand.Rand
	seq int
	// MalformedShare is the fraction of traces that also emit one malformed event.
	MalformedShare float64
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), MalformedShare: 0.03}
}

var (
	tenants = []string{"acme-corp", "globex", "initech"}
	agents  = []string{"sql-agent", "retriever", "planner", "writer"}
	models  = []string{"gpt-4o", "claude-sonnet", "llama-3-70b"}
	tables  = [][2]string{
		{"raw.events.page_views", "staging.web.sessions"},
		{"staging.web.sessions", "mart.marketing.daily_sessions"},
		{"raw.erp.orders", "staging.sales.orders"},
		{"staging.sales.orders", "mart.sales.revenue_by_day"},
		{"raw.erp.customers", "mart.sales.revenue_by_day"},
	}
	thoughts = []string{
		"The user asks for revenue by region; I need the orders mart.",
		"Check whether the question needs fresh data or the cached summary.",
		"Plan: retrieve schema, draft SQL, validate row counts.",
		"The first query returned no rows; widen the date filter.",
		"Summarise the result in two sentences with the key number first.",
	}
	comments = []string{"", "", "The numbers for March are wrong.", "Too slow, took over a minute.", "Great answer, exactly what I needed."}
)

// Tenants are the tenants the demo traffic belongs to.
func Tenants() []string { return slices.Clone(tenants) }

// Trace returns the events of one agent run at time now (event time), in
// the order the AI Service would publish them.
func (g *Generator) Trace(now time.Time) []Record {
	g.seq++
	tenant := tenants[g.rng.IntN(len(tenants))]
	traceID := fmt.Sprintf("trace-%08x-%04d", g.rng.Uint32(), g.seq%10000)
	model := models[g.rng.IntN(len(models))]
	chosen := agents[g.rng.IntN(len(agents))]
	slow := g.rng.Float64() < 0.1
	failed := g.rng.Float64() < 0.08
	var out []Record
	at := now.Add(-3 * time.Second)
	id := 0
	emit := func(topic, typ string, key []byte, data any) {
		id++
		env := codecs.Envelope{
			EventID: fmt.Sprintf("evt-%s-%d", traceID, id), EventType: typ, TenantID: tenant,
			Timestamp: codecs.NewTime(at), Source: "ai-service",
		}
		b, err := codecs.Encode(env, data)
		if err != nil {
			panic(err) // the generator's own payloads always encode
		}
		out = append(out, Record{Topic: topic, Key: key, Value: b})
		at = at.Add(150 * time.Millisecond)
	}
	key := []byte(traceID)
	if g.rng.Float64() < 0.2 {
		key = nil // some producers send no key: aistream re-keys by trace_id
	}

	alts := []codecs.Alternative{}
	for _, a := range agents {
		if a != chosen {
			alts = append(alts, codecs.Alternative{Option: a, Score: round(g.rng.Float64() * 0.6)})
		}
	}
	emit(topology.DecisionEvents, codecs.TypeDecision, key, codecs.Decision{
		TraceID: traceID, DecisionID: fmt.Sprintf("dec-%d", g.seq), Agent: "router", DecisionType: "route",
		Chosen: chosen, Alternatives: alts, Confidence: round(0.6 + g.rng.Float64()*0.4), Reason: "best match for the request's intent",
	})
	steps := 2 + g.rng.IntN(3)
	for s := 0; s < steps; s++ {
		emit(topology.ThinkingEvents, codecs.TypeThinking, key, codecs.Thinking{
			TraceID: traceID, SpanID: "span-agent", Agent: chosen, Step: s, Kind: []string{"plan", "reflect", "observe"}[s%3],
			Content: thoughts[g.rng.IntN(len(thoughts))], Tokens: 20 + g.rng.IntN(200),
		})
	}
	latency := time.Duration(300+g.rng.IntN(1500)) * time.Millisecond
	if slow {
		latency *= 4
	}
	status := "ok"
	var spanErr *codecs.SpanError
	if failed {
		status = "error"
		spanErr = &codecs.SpanError{Type: "ToolTimeout", Message: "warehouse query exceeded 30s"}
	}
	tokensIn, tokensOut := 200+g.rng.IntN(2000), 50+g.rng.IntN(600)
	start := at
	emit(topology.TraceEvents, codecs.TypeSpan, key, codecs.Span{
		TraceID: traceID, SpanID: "span-model", ParentSpanID: "span-agent", Agent: chosen, Name: "llm.call", Status: "ok",
		StartTime: codecs.NewTime(start), EndTime: codecs.NewTime(start.Add(latency / 2)), Model: model, TokensIn: tokensIn, TokensOut: tokensOut,
	})
	emit(topology.TraceEvents, codecs.TypeSpan, key, codecs.Span{
		TraceID: traceID, SpanID: "span-agent", Agent: chosen, Name: "agent.run", Status: status,
		StartTime: codecs.NewTime(start), EndTime: codecs.NewTime(start.Add(latency)), Model: model, Error: spanErr,
	})
	errType := ""
	if failed {
		errType = "ToolTimeout"
	}
	quality := round(0.5 + g.rng.Float64()*0.5)
	emit(topology.MetricsEvents, codecs.TypeMetrics, []byte(codecs.TenantKey(tenant, chosen)), codecs.Metrics{
		Agent: chosen, Model: model, TraceID: traceID, LatencyMS: float64(latency.Milliseconds()), TokensIn: tokensIn, TokensOut: tokensOut,
		CostUSD: round(float64(tokensIn)*0.000003 + float64(tokensOut)*0.000015), Status: status, ErrorType: errType, QualityScore: &quality,
	})
	if chosen == "sql-agent" {
		edge := tables[g.rng.IntN(len(tables))]
		emit(topology.LineageEvents, codecs.TypeLineage, []byte(fmt.Sprintf("q-%d", g.seq)), codecs.Lineage{
			QueryID: fmt.Sprintf("q-%d", g.seq), SQL: fmt.Sprintf("INSERT INTO %s SELECT * FROM %s", edge[1], edge[0]), Dialect: "postgres",
			Sources: []string{edge[0]}, Targets: []string{edge[1]}, UserID: fmt.Sprintf("user-%d", g.rng.IntN(20)), TraceID: traceID,
			Status:  map[bool]string{true: "failed", false: "success"}[failed],
			Columns: []codecs.ColumnMapping{{Target: codecs.ColumnRef{Dataset: edge[1], Column: "id"}, Sources: []codecs.ColumnRef{{Dataset: edge[0], Column: "id"}}}},
		})
	}
	if g.rng.Float64() < 0.5 {
		positive := !slow && !failed && g.rng.Float64() < 0.75
		fb := codecs.Feedback{
			ResponseID: "resp-" + traceID, TraceID: traceID, SessionID: fmt.Sprintf("sess-%d", g.rng.IntN(50)),
			UserID: fmt.Sprintf("user-%d", g.rng.IntN(20)), Agent: chosen, Model: model, Thumbs: map[bool]string{true: "up", false: "down"}[positive],
			Comment: comments[g.rng.IntN(len(comments))],
		}
		if !positive {
			fb.Categories = []string{[]string{"incorrect", "unhelpful", "slow", "incomplete"}[g.rng.IntN(4)]}
			if g.rng.Float64() < 0.05 {
				fb.Categories = append(fb.Categories, "unsafe")
			}
		}
		emit(topology.FeedbackEvents, codecs.TypeFeedback, []byte(traceID), fb)
	}
	if g.rng.Float64() < 0.1 {
		emit(topology.AuditEvents, codecs.TypeAudit, []byte(tenant), codecs.Audit{
			Actor: "ai-service", Action: "response.delivered", Resource: "trace/" + traceID, Outcome: "success",
		})
	}
	if g.rng.Float64() < g.MalformedShare {
		out = append(out, g.malformed(tenant, traceID, now))
	}
	return out
}

// malformed returns one event the pipeline must dead-letter.
func (g *Generator) malformed(tenant, traceID string, now time.Time) Record {
	switch g.rng.IntN(4) {
	case 0:
		return Record{Topic: topology.ThinkingEvents, Key: []byte(traceID), Value: []byte(`{"event_id": "evt-broken", "event_type": "agent.thinking", "tenant_id": "` + tenant + `", truncated`)}
	case 1:
		v, _ := json.Marshal(map[string]any{"event_id": "evt-no-tenant-" + traceID, "event_type": "agent.thinking", "timestamp": now.UTC().Format(time.RFC3339), "source": "ai-service",
			"data": map[string]any{"trace_id": traceID, "agent": "planner", "step": 0, "content": "x"}})
		return Record{Topic: topology.ThinkingEvents, Key: []byte(traceID), Value: v}
	case 2:
		v, _ := json.Marshal(map[string]any{"event_id": "evt-bad-time-" + traceID, "event_type": "feedback.submitted", "tenant_id": tenant, "timestamp": "yesterday", "source": "ai-service",
			"data": map[string]any{"response_id": "r", "trace_id": traceID, "session_id": "s", "user_id": "u", "agent": "a", "model": "m", "thumbs": "up"}})
		return Record{Topic: topology.FeedbackEvents, Key: []byte(traceID), Value: v}
	default:
		v, _ := json.Marshal(map[string]any{"event_id": "evt-bad-score-" + traceID, "event_type": "feedback.submitted", "tenant_id": tenant, "timestamp": now.UTC().Format(time.RFC3339), "source": "ai-service",
			"data": map[string]any{"response_id": "r", "trace_id": traceID, "session_id": "s", "user_id": "u", "agent": "a", "model": "m", "score": "five"}})
		return Record{Topic: topology.FeedbackEvents, Key: []byte(traceID), Value: v}
	}
}

func round(f float64) float64 { return float64(int(f*1000)) / 1000 }

// Agents returns the demo's agents.
func Agents() []string { return append([]string(nil), agents...) }
