package insights

import (
	"strings"
	"time"

	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the group table.
type Query struct{ table api.Table }

// NewQuery reads t, a view of the group table.
func NewQuery(t api.Table) Query { return Query{table: t} }

// ListItem is one insight of GET /v1/insights: the insight event's data
// with its tenant and time.
type ListItem struct {
	TenantID string    `json:"tenant_id"`
	Time     time.Time `json:"time"` // the window's end, the event's timestamp
	Insight
}

// List is GET /v1/insights.
type List struct {
	Insights   []ListItem `json:"insights"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Filter selects insights of a list.
type Filter struct {
	// Since keeps insights whose window ended at or after it.
	Since time.Time
	// MinSeverity is a minimum rank (SeverityRank); 0 keeps all.
	MinSeverity int
	Limit       int
	// After is the position the previous page's next_cursor names (see
	// api.Page); "" for the first page.
	After string
}

// List returns the tenant's insights, newest first (the group keeps the
// newest MaxPerTenant per tenant).
func (q Query) List(tenant string, f Filter) (*List, error) {
	var after *Item
	if f.After != "" {
		c, ok := decodePosition(f.After)
		if !ok {
			return nil, api.Invalid("bad_cursor", "cursor is not a next_cursor of this endpoint")
		}
		after = &c
	}
	rec, err := api.Lookup[Recent](q.table, tenant)
	if err != nil {
		return nil, err
	}
	out := &List{Insights: []ListItem{}}
	if rec == nil {
		return out, nil
	}
	for _, it := range rec.Items {
		if after != nil && !Before(it, *after) {
			continue
		}
		if it.Time.Before(f.Since) {
			break // newest first: the rest are older still
		}
		if SeverityRank(it.Insight.Severity) < f.MinSeverity {
			continue
		}
		if len(out.Insights) == f.Limit {
			last := out.Insights[f.Limit-1]
			out.NextCursor = api.Cursor(position(last.Time, last.InsightID))
			break
		}
		out.Insights = append(out.Insights, ListItem{TenantID: tenant, Time: it.Time, Insight: it.Insight})
	}
	return out, nil
}

// handle serves GET /v1/insights?since=&severity=&limit=&cursor=.
func (q Query) handle(r *api.Request) (any, error) {
	p, err := r.PageOf()
	if err != nil {
		return nil, err
	}
	since, err := r.Time("since")
	if err != nil {
		return nil, err
	}
	f := Filter{Since: since, Limit: p.Limit, After: p.After}
	if sev := r.Query.Get("severity"); sev != "" {
		if f.MinSeverity = SeverityRank(sev); f.MinSeverity == 0 {
			return nil, api.Invalid("bad_severity", "severity must be one of info, warning, critical (a minimum)")
		}
	}
	return q.List(r.Scope.Tenant, f)
}

// A cursor names the position (time, insight id) of the last insight served.
func position(t time.Time, id string) string {
	return t.UTC().Format(time.RFC3339Nano) + " " + id
}

func decodePosition(s string) (Item, bool) {
	ts, id, ok := strings.Cut(s, " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return Item{}, false
	}
	return Item{Time: t, Insight: Insight{InsightID: id}}, true
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/insights",
		Summary: "the tenant's insights, newest first (since, severity minimum, limit, cursor)",
		Handle:  q.handle,
	}}
}
