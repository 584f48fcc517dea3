package insights

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Name is the group's short name; the group is "<prefix>-insights".
const Name = "insights"

// MaxPerTenant bounds a tenant's table entry: past it, the oldest insights
// are dropped from the table (ai-insights keeps them for its retention).
const MaxPerTenant = 1000

// Topic is ai-insights as a goka stream.
var Topic = goka.Stream(topology.Insights)

// Item is one stored insight with its event time (the envelope timestamp).
type Item struct {
	Time    time.Time `json:"time"`
	Insight Insight   `json:"insight"`
}

// Recent is a tenant's table value: its newest insights, newest first
// (ordered by time, then insight_id, so the order is total and stable).
type Recent struct {
	Items []Item `json:"items"`
	// Offsets are the highest input offsets applied: a redelivery of one
	// rewrites the state, whose changelog write a crash may have lost.
	Offsets stream.Offsets `json:"offsets,omitempty"`
}

// Codec stores Recent in the table; Decode returns *Recent.
type Codec = codecs.JSON[Recent]

// graph is the insights group: ai-insights keyed by tenant_id into the
// per-tenant recent list.
func graph(o stream.Options) *goka.GroupGraph {
	input, loop := stream.Keyed(o.Metrics, Decode, store)
	return goka.DefineGroup(o.Group(Name),
		goka.Input(Topic, new(codec.Bytes), input),
		goka.Loop(new(codec.Bytes), loop),
		goka.Persist(new(Codec)),
		stream.DeadLetterOutput(),
	)
}

// Module is the insights processor: group "insights" and the read model of
// GET /v1/insights.
func Module() *stream.Module {
	return &stream.Module{
		Name:   Name,
		Groups: []stream.Group{{Name: Name, Graph: graph}},
		Read:   stream.ReadTable(Name, new(Codec), func(t api.Table) ([]api.Route, error) { return NewQuery(t).Routes(), nil }),
	}
}

// store inserts the insight, ignoring one already stored (a replay).
func store(ctx goka.Context, in *Insight) {
	r, _ := ctx.Value().(*Recent)
	if r == nil {
		r = &Recent{}
	}
	for _, it := range r.Items {
		if it.Insight.InsightID == in.InsightID {
			if r.Offsets.Redelivered(ctx) {
				ctx.SetValue(r)
			}
			return
		}
	}
	item := Item{Time: in.Window.End, Insight: *in}
	i := sort.Search(len(r.Items), func(i int) bool { return Before(r.Items[i], item) })
	r.Items = append(r.Items, Item{})
	copy(r.Items[i+1:], r.Items[i:])
	r.Items[i] = item
	if len(r.Items) > MaxPerTenant {
		r.Items = r.Items[:MaxPerTenant]
	}
	r.Offsets.Advance(ctx)
	ctx.SetValue(r)
}

// Before reports whether a sorts after b in newest-first order.
func Before(a, b Item) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.Insight.InsightID < b.Insight.InsightID
}

// Decode parses an insight event strictly enough to store and serve it.
func Decode(raw []byte) (tenant string, in *Insight, err error) {
	var env codecs.Envelope
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&env); err != nil {
		return "", nil, codecs.Reject(codecs.ReasonNotJSON, "", "not an insight envelope: %v", err)
	}
	if !strings.HasPrefix(env.EventType, EventTypePrefix) {
		return "", nil, codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q is not an insight (insight.<rule>)", env.EventType)
	}
	if !codecs.ValidTenant(env.TenantID) {
		return "", nil, codecs.Reject(codecs.ReasonInvalidValue, "tenant_id", "%q is not a valid tenant id", env.TenantID)
	}
	in = new(Insight)
	if err := json.Unmarshal(env.Data, in); err != nil {
		return "", nil, codecs.Reject(codecs.ReasonWrongType, "data", "%v", err)
	}
	switch {
	case in.InsightID == "":
		return "", nil, codecs.Reject(codecs.ReasonMissingField, "data.insight_id", "required")
	case EventTypePrefix+in.Rule != env.EventType:
		return "", nil, codecs.Reject(codecs.ReasonInvalidValue, "data.rule", "%q does not match event_type %q", in.Rule, env.EventType)
	case SeverityRank(in.Severity) == 0:
		return "", nil, codecs.Reject(codecs.ReasonInvalidValue, "data.severity", "%q is not one of info, warning, critical", in.Severity)
	case in.State != Firing && in.State != Resolved:
		return "", nil, codecs.Reject(codecs.ReasonInvalidValue, "data.state", "%q is not one of firing, resolved", in.State)
	case in.Window.End.IsZero():
		return "", nil, codecs.Reject(codecs.ReasonMissingField, "data.window.end", "required")
	}
	return env.TenantID, in, nil
}
