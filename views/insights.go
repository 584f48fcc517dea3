package views

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/aistream/aistream/processors/insights"
)

// InsightItem is one insight in GET /v1/insights.
type InsightItem struct {
	TenantID string    `json:"tenant_id"`
	Time     time.Time `json:"time"` // the window's end, the event's timestamp
	insights.Insight
}

// InsightsResponse is GET /v1/insights.
type InsightsResponse struct {
	Insights   []InsightItem `json:"insights"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Insights serves a tenant's recent insights (the insights group keeps the
// newest insights.MaxPerTenant per tenant), newest first:
//
//	GET /v1/insights?since=<RFC3339>&severity=<info|warning|critical>&limit=&cursor=
//
// since keeps insights whose window ended at or after it; severity is a
// minimum; cursor is next_cursor of the previous page.
func Insights(prefix string) Mount {
	return func(s *Server, open Opener) error {
		v, err := open(insights.Table(prefix), new(insights.Codec))
		if err != nil {
			return err
		}
		s.HandleFunc("GET /v1/insights", func(w http.ResponseWriter, r *http.Request) {
			tenant, ok := Tenant(w, r)
			if !ok {
				return
			}
			limit, cursor, ok := Page(w, r, 50, 500)
			if !ok {
				return
			}
			q := r.URL.Query()
			var since time.Time
			if s := q.Get("since"); s != "" {
				if since, err = time.Parse(time.RFC3339Nano, s); err != nil {
					WriteError(w, http.StatusBadRequest, "bad_since", "since must be an RFC 3339 timestamp, e.g. 2025-03-15T10:00:00Z")
					return
				}
			}
			minRank := 0
			if sev := q.Get("severity"); sev != "" {
				if minRank = insights.SeverityRank(sev); minRank == 0 {
					WriteError(w, http.StatusBadRequest, "bad_severity", "severity must be one of info, warning, critical (a minimum)")
					return
				}
			}
			var after *insights.Item
			if cursor != "" {
				c, ok := decodeCursor(cursor)
				if !ok {
					WriteError(w, http.StatusBadRequest, "bad_cursor", "cursor is not a next_cursor of this endpoint")
					return
				}
				after = &c
			}
			val, ok := Get(w, v, tenant)
			if !ok {
				return
			}
			resp := InsightsResponse{Insights: []InsightItem{}}
			rec, _ := val.(*insights.Recent)
			if rec == nil {
				WriteJSON(w, http.StatusOK, resp)
				return
			}
			for _, it := range rec.Items {
				if after != nil && !insights.Before(it, *after) {
					continue
				}
				if it.Time.Before(since) {
					break // newest first: the rest are older still
				}
				if insights.SeverityRank(it.Insight.Severity) < minRank {
					continue
				}
				if len(resp.Insights) == limit {
					last := resp.Insights[limit-1]
					resp.NextCursor = encodeCursor(last.Time, last.InsightID)
					break
				}
				resp.Insights = append(resp.Insights, InsightItem{TenantID: tenant, Time: it.Time, Insight: it.Insight})
			}
			WriteJSON(w, http.StatusOK, resp)
		})
		return nil
	}
}

// A cursor is the position (time, insight id) of the last insight served.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + " " + id))
}

func decodeCursor(s string) (insights.Item, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return insights.Item{}, false
	}
	ts, id, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return insights.Item{}, false
	}
	return insights.Item{Time: t, Insight: insights.Insight{InsightID: id}}, true
}
