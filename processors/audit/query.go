package audit

import (
	"encoding/base64"
	"sort"
	"strings"
	"time"

	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the group table.
type Query struct {
	table api.Table
	now   func() time.Time
}

// NewQuery reads t, a view of the group table.
func NewQuery(t api.Table) Query { return Query{table: t, now: time.Now} }

// Event is one audit event of GET /v1/audit: the envelope's id, time and
// source and the audit.recorded payload.
type Event struct {
	TenantID string            `json:"tenant_id"`
	EventID  string            `json:"event_id"`
	Time     time.Time         `json:"time"`
	Source   string            `json:"source"`
	Actor    string            `json:"actor"`    // a token id, "anonymous", "cli:<user>", or the AI Service's actor
	Action   string            `json:"action"`   // e.g. read, replay, tokens.create
	Resource string            `json:"resource"` // e.g. "GET /v1/traces/tr-1"
	Outcome  string            `json:"outcome"`  // success, denied or error
	Details  map[string]string `json:"details"`
}

// List is GET /v1/audit: events newest first.
type List struct {
	Events []Event `json:"events"`
	// NextCursor, when set, is the cursor of the next (older) page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Dropped counts events evicted from the buckets this page read (past
	// the per-bucket bound; audit-events still holds them).
	Dropped int `json:"dropped"`
}

// Filter selects the events of a list; empty strings match all.
type Filter struct {
	Since, Until           time.Time // [Since, Until)
	Actor, Action, Outcome string
	Limit                  int
	// Cursor is NextCursor of the previous page.
	Cursor string
}

// List returns tenant's events matching f, newest first; tenant ""
// (an admin without ?tenant=) lists every tenant's, read through each
// bucket's tenant index (IndexKey).
func (q Query) List(tenant string, f Filter) (*List, error) {
	if f.Until.IsZero() {
		f.Until = q.now().Add(time.Second)
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-24 * time.Hour)
	}
	if !f.Since.Before(f.Until) {
		return nil, api.Invalid("bad_since", "since must be before until")
	}
	if f.Until.Sub(f.Since) > MaxRange {
		return nil, api.Invalid("bad_since", "since and until may be at most 31 days apart; page through longer spans")
	}
	var after *Entry
	if f.Cursor != "" {
		c, ok := decodeCursor(f.Cursor)
		if !ok {
			return nil, api.Invalid("bad_cursor", "cursor is not a next_cursor of this endpoint")
		}
		after = &c
	}
	if !q.table.Recovered() {
		return nil, api.ErrNotReady
	}
	out := &List{Events: []Event{}}
	top := f.Until
	if after != nil && after.Time.Before(top) {
		top = after.Time.Add(time.Nanosecond)
	}
	for b := top.UTC().Truncate(BucketWidth); !b.Add(BucketWidth).Before(f.Since) && !b.Add(BucketWidth).Equal(f.Since); b = b.Add(-BucketWidth) {
		events, dropped, err := q.tenantsBucket(tenant, b)
		if err != nil {
			return nil, err
		}
		out.Dropped += dropped
		for _, e := range events {
			if !e.Time.Before(f.Until) || e.Time.Before(f.Since) || (after != nil && !Newer(*after, e.Entry)) || !match(e.Entry, f) {
				continue
			}
			if len(out.Events) == f.Limit {
				last := out.Events[f.Limit-1]
				out.NextCursor = encodeCursor(last.Time, last.EventID)
				return out, nil
			}
			d := e.Details
			if d == nil {
				d = map[string]string{}
			}
			out.Events = append(out.Events, Event{TenantID: e.tenant, EventID: e.EventID, Time: e.Time, Source: e.Source,
				Actor: e.Actor, Action: e.Action, Resource: e.Resource, Outcome: e.Outcome, Details: d})
		}
	}
	return out, nil
}

// tenantEntry is a stored event with its tenant.
type tenantEntry struct {
	Entry
	tenant string
}

// tenantsBucket merges the shards of one bucket of tenant, or of every
// tenant its index lists when tenant is "", newest first.
func (q Query) tenantsBucket(tenant string, b time.Time) ([]tenantEntry, int, error) {
	tenants, dropped := []string{tenant}, 0
	if tenant == "" {
		ix, err := api.Lookup[Bucket](q.table, IndexKey(b))
		if err != nil || ix == nil {
			return nil, 0, err
		}
		tenants, dropped = ix.Tenants, ix.Dropped
	}
	var events []tenantEntry
	for _, t := range tenants {
		for shard := range Shards {
			bk, err := api.Lookup[Bucket](q.table, Key(t, b, shard))
			if err != nil {
				return nil, 0, err
			}
			if bk != nil {
				for _, e := range bk.Events {
					events = append(events, tenantEntry{Entry: e, tenant: t})
				}
				dropped += bk.Dropped
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return Newer(events[i].Entry, events[j].Entry) })
	return events, dropped, nil
}

func match(e Entry, f Filter) bool {
	return (f.Actor == "" || e.Actor == f.Actor) && (f.Action == "" || e.Action == f.Action) && (f.Outcome == "" || e.Outcome == f.Outcome)
}

// handle serves GET /v1/audit?since=&until=&actor=&action=&outcome=&limit=&cursor=.
func (q Query) handle(r *api.Request) (any, error) {
	limit, err := r.Int("limit", 100, 1, 1000)
	if err != nil {
		return nil, err
	}
	since, err := r.Time("since")
	if err != nil {
		return nil, err
	}
	until, err := r.Time("until")
	if err != nil {
		return nil, err
	}
	outcome, err := r.OneOf("outcome", "", "success", "denied", "error")
	if err != nil {
		return nil, err
	}
	if r.Scope.Tenant == "" && !r.Scope.Admin {
		return nil, api.Invalid("tenant_required", "this request has no tenant scope")
	}
	return q.List(r.Scope.Tenant, Filter{Since: since, Until: until, Actor: r.Query.Get("actor"), Action: r.Query.Get("action"),
		Outcome: outcome, Limit: limit, Cursor: r.Query.Get("cursor")})
}

// A cursor is the position (time, event id) of the last event served.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + " " + id))
}

func decodeCursor(s string) (Entry, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Entry{}, false
	}
	ts, id, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return Entry{}, false
	}
	return Entry{Time: t, EventID: id}, true
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/audit",
		Summary: "the tenant's audit trail, newest first (since, until, actor, action, outcome, limit, cursor); an admin sees every tenant's, or one named with ?tenant=",
		// An admin without ?tenant= lists every tenant's events.
		AnyTenant: true,
		Handle:    q.handle,
	}}
}
