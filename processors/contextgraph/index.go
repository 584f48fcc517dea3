package contextgraph

import (
	"math"
	"slices"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
)

// # Group "<prefix>-trace-index"
//
// The trace index lists a tenant's traces newest first for GET /v1/traces.
// The context-graph group writes an IndexUpdate to the internal topic
// "<prefix>-context-graph-index" whenever a graph's summary (start, agents,
// status) changes, and re-writes it on a redelivery; the
// index group stores the summary under IndexKey(tenant, started, trace_id)
// and deletes the entry under the trace's previous start when an earlier
// event moved it. Keys start with the tenant and then the inverted start
// time, so a tenant's newest traces are the first keys of its key range:
// a page reads limit+1 keys (api.RangePage), never the table. Bounds: one
// summary per graph of the context-graph table (at most indexAgents agents,
// names clipped as the graph clips them), a few hundred bytes each.

// IndexName is the short name of the trace index group.
const IndexName = "trace-index"

// IndexStream is the short name of the internal topic of index updates.
const IndexStream = Name + "-index"

// indexPartitions is the index's partition count, the trace topics'.
const indexPartitions = 6

// indexAgents bounds the agents a summary lists.
const indexAgents = 16

// TraceSummary is one trace of the index. It holds what changes seldom in
// a trace's life (its start, a new agent, a first failure), so the
// context-graph group writes it a few times per trace, not per event; GET
// /v1/traces/{trace_id} has the rest.
type TraceSummary struct {
	TenantID string      `json:"tenant_id"`
	TraceID  string      `json:"trace_id"`
	Started  codecs.Time `json:"started"`
	Agents   []string    `json:"agents"`
	// Status is "error" when a span failed, else "ok".
	Status string `json:"status"`
}

// IndexUpdate is a record of the index stream: the summary to store under
// the record's key, or Delete.
type IndexUpdate struct {
	Delete  bool          `json:"delete,omitempty"`
	Summary *TraceSummary `json:"summary,omitempty"`
}

// IndexKey is the index key of a trace: tenant, inverted start (newest
// first in key order), trace id.
func IndexKey(tenant string, started time.Time, trace string) string {
	return codecs.TenantKey(tenant, hex16(uint64(math.MaxInt64-started.UnixMilli()))) + codecs.KeySeparator + trace
}

// hex16 is fmt.Sprintf("%016x", n) without fmt's cost (a key per index
// update).
func hex16(n uint64) string {
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// indexBefore is the first index key of tenant's traces started before t.
func indexBefore(tenant string, t time.Time) string {
	return codecs.TenantKey(tenant, hex16(uint64(math.MaxInt64-t.UnixMilli())+1))
}

// summaryOf is what the graph's index entry holds, read without
// allocating: the handler takes it before and after every event and
// builds the entry only when it changed (a few times per trace).
type summaryOf struct {
	ok      bool // false until an event gave the graph a start
	started codecs.Time
	agents  [indexAgents]string
	n       int // agents used
	failed  bool
}

// summaryState reads the graph's index entry (ok false while the graph has
// no start).
func (g *Graph) summaryState() summaryOf {
	var s summaryOf
	if g == nil || g.Started == nil {
		return s
	}
	s.ok, s.started = true, *g.Started
	for _, a := range g.Agents {
		if s.n == indexAgents {
			break
		}
		s.agents[s.n] = a.Name
		s.n++
	}
	s.failed = len(g.Errors) > 0
	for i := range g.Spans {
		if s.failed {
			break
		}
		s.failed = g.Spans[i].Status == "error"
	}
	return s
}

// same reports whether two readings of one graph's entry are equal.
func (s *summaryOf) same(o *summaryOf) bool {
	if !s.ok || !o.ok {
		return s.ok == o.ok
	}
	return s.started.Equal(o.started.Time) && s.n == o.n && s.agents == o.agents && s.failed == o.failed
}

// summary is the graph's index entry as read; nil if it has no start.
func (s *summaryOf) summary(g *Graph) *TraceSummary {
	if !s.ok {
		return nil
	}
	out := &TraceSummary{TenantID: g.TenantID, TraceID: g.TraceID, Started: s.started, Agents: make([]string, s.n), Status: "ok"}
	copy(out.Agents, s.agents[:s.n])
	if s.failed {
		out.Status = "error"
	}
	return out
}

// index writes the graph's index update when its summary changed from
// before (always when redelivered: its first write may have been lost).
func (p *processor) index(ctx goka.Context, g *Graph, before, after *summaryOf, redelivered bool) {
	if !after.ok || (!redelivered && before.same(after)) {
		return
	}
	out := p.indexOut
	if before.ok && !before.started.Equal(after.started.Time) {
		ctx.Emit(out, IndexKey(g.TenantID, before.started.Time, g.TraceID), encodeUpdate(&IndexUpdate{Delete: true}))
	}
	ctx.Emit(out, IndexKey(g.TenantID, after.started.Time, g.TraceID), encodeUpdate(&IndexUpdate{Summary: after.summary(g)}))
}

// indexGraph is the trace index group: it stores or deletes what the
// context-graph group writes, under the record's key, and expires entries
// past retention through its loop (index_retention.go).
func indexGraph(o stream.Options, retention time.Duration) *goka.GroupGraph {
	m := o.Metrics
	return goka.DefineGroup(o.Group(IndexName),
		goka.Input(o.Prefix.Stream(IndexStream), new(codec.Bytes), stream.Traced(func(ctx goka.Context, msg any) {
			stream.Count(ctx, m)
			raw, _ := msg.([]byte)
			u, err := decodeUpdate(raw)
			switch {
			case raw == nil:
				stream.DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonNullValue, "", "an index update without a value; only aistream writes this topic"))
			case err != nil:
				stream.DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonNotJSON, "", "an index update in no form aistream writes (binary or JSON: %v); only aistream writes this topic", err))
			case isMetaKey(ctx.Key()):
				stream.DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonMissingField, "key", "an index update under a retention key; only aistream writes this topic"))
			case u.Delete:
				ctx.Delete()
			case u.Summary != nil:
				ctx.SetValue(u.Summary)
				loopRetention(ctx, retentionMsg{Key: ctx.Key(), Tenant: u.Summary.TenantID, Start: u.Summary.Started.Time})
			default:
				stream.DeadLetter(ctx, m, raw, codecs.Reject(codecs.ReasonMissingField, "summary", "an index update without summary or delete; only aistream writes this topic"))
			}
		})),
		goka.Loop(new(retentionCodec), stream.Traced(func(ctx goka.Context, msg any) {
			if r, ok := msg.(*retentionMsg); ok {
				retain(ctx, *r, retention)
			}
		})),
		goka.Persist(new(indexCodec)),
		stream.DeadLetterOutput(),
	)
}

// TraceList is GET /v1/traces: the tenant's traces, newest first.
type TraceList struct {
	Traces     []TraceSummary `json:"traces"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// TraceFilter selects the traces of a list.
type TraceFilter struct {
	Since  time.Time // zero: all
	Agent  string    // "": any
	Status string    // "": any, else ok or error
}

// Traces lists the tenant's traces started at or after f.Since, newest
// first, of f.Agent and f.Status when set. The index is keyed tenant|
// inverted start|trace, so a page is a key range of this tenant's traces.
func Traces(t api.Table, tenant string, f TraceFilter, p api.Page) (*TraceList, error) {
	r := api.Range{Prefix: codecs.TenantKey(tenant, "")}
	if !f.Since.IsZero() {
		r.End = indexBefore(tenant, f.Since)
	}
	if f.Agent != "" || f.Status != "" {
		r.Keep = func(_ string, v any) bool {
			s, ok := v.(*TraceSummary)
			return ok && (f.Status == "" || s.Status == f.Status) && (f.Agent == "" || slices.Contains(s.Agents, f.Agent))
		}
	}
	page, next, err := api.RangePage[TraceSummary](t, r, p)
	if err != nil {
		return nil, err
	}
	out := &TraceList{Traces: []TraceSummary{}, NextCursor: next}
	for _, kv := range page {
		out.Traces = append(out.Traces, *kv.Value)
	}
	return out, nil
}

// indexRoutes are the index's routes.
func indexRoutes(t api.Table) []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/traces",
		Summary: "the tenant's traces, newest first (since, agent, status, limit, cursor)",
		Handle: func(r *api.Request) (any, error) {
			p, err := r.PageOf()
			if err != nil {
				return nil, err
			}
			since, err := r.Time("since")
			if err != nil {
				return nil, err
			}
			status := r.Query.Get("status")
			if status != "" {
				if status, err = r.OneOf("status", "", "ok", "error"); err != nil {
					return nil, err
				}
			}
			return Traces(t, r.Scope.Tenant, TraceFilter{Since: since, Agent: r.Query.Get("agent"), Status: status}, p)
		},
	}}
}
