package quality

import (
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the agent-quality table.
type Query struct{ table api.Table }

// NewQuery reads t, a view of the agent-quality table.
func NewQuery(t api.Table) Query { return Query{table: t} }

// AgentQuality is GET /v1/agents/{agent}/quality.
type AgentQuality struct {
	TenantID  string    `json:"tenant_id"`
	Agent     string    `json:"agent"`
	Watermark time.Time `json:"watermark"`
	Window    string    `json:"window"`
	Grace     string    `json:"grace"`
	// CurrentWindow is the newest open window (null when none is open);
	// OpenWindows all of them, oldest first (one more while the previous is
	// within its grace).
	CurrentWindow *Summary  `json:"current_window"`
	OpenWindows   []Summary `json:"open_windows"`
	// RecentWindows are closed windows, newest first.
	RecentWindows []Summary              `json:"recent_windows"`
	Baseline      BaselineView           `json:"baseline"`
	ActiveAlerts  map[string]ActiveAlert `json:"active_alerts"` // by rule
	LateEvents    int64                  `json:"late_events"`
}

// BaselineView is what normal looks like for the agent: an EWMA per metric.
type BaselineView struct {
	SatisfactionRate Mean `json:"satisfaction_rate"`
	LatencyP95       Mean `json:"latency_p95_ms"`
	ErrorRate        Mean `json:"error_rate"`
	CostPerRequest   Mean `json:"cost_per_request_usd"`
}

// Mean is an exponentially weighted mean and how many windows it learnt.
type Mean struct {
	Value   float64 `json:"value"`
	Windows int     `json:"windows"`
}

// ActiveAlert is a metric rule's firing condition.
type ActiveAlert struct {
	Severity  string    `json:"severity"`
	InsightID string    `json:"insight_id"`
	Since     time.Time `json:"since"` // start of the window that fired it
	Observed  float64   `json:"observed"`
	Baseline  float64   `json:"baseline"`
	Threshold float64   `json:"threshold"`
}

// Agent returns one agent of the tenant; the table is keyed tenant|agent,
// so another tenant's agent is not found.
func (q Query) Agent(tenant, agent string) (*AgentQuality, error) {
	st, err := api.Lookup[State](q.table, codecs.TenantKey(tenant, agent))
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, api.NotFound("no quality data for agent " + agent + " in this tenant")
	}
	out := &AgentQuality{
		TenantID: st.Tenant, Agent: st.Agent, Watermark: st.Windows.Watermark,
		Window: st.Spec.Size.String(), Grace: st.Spec.Grace.String(),
		OpenWindows: st.OpenSummaries(), RecentWindows: st.RecentSummaries(),
		Baseline: BaselineView{
			SatisfactionRate: Mean(st.Base.SatisfactionRate), LatencyP95: Mean(st.Base.LatencyP95),
			ErrorRate: Mean(st.Base.ErrorRate), CostPerRequest: Mean(st.Base.CostPerRequest),
		},
		ActiveAlerts: map[string]ActiveAlert{}, LateEvents: st.Late,
	}
	if n := len(out.OpenWindows); n > 0 {
		out.CurrentWindow = &out.OpenWindows[n-1]
	}
	for rule, a := range st.Alerts {
		out.ActiveAlerts[rule] = ActiveAlert(*a)
	}
	return out, nil
}

// AgentList is GET /v1/agents: the tenant's agents by name, each with its
// current quality.
type AgentList struct {
	Agents     []AgentSummary `json:"agents"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// AgentSummary is one agent's current quality; GET
// /v1/agents/{agent}/quality has its windows.
type AgentSummary struct {
	Agent         string                 `json:"agent"`
	Watermark     time.Time              `json:"watermark"`
	CurrentWindow *Summary               `json:"current_window"` // null when no window is open
	Baseline      BaselineView           `json:"baseline"`
	ActiveAlerts  map[string]ActiveAlert `json:"active_alerts"` // by rule
}

// Agents lists the tenant's agents in name order. The table is keyed
// tenant|agent, so the page is a key range of this tenant's agents only.
func (q Query) Agents(tenant string, p api.Page) (*AgentList, error) {
	page, next, err := api.PrefixPage[State](q.table, codecs.TenantKey(tenant, ""), p)
	if err != nil {
		return nil, err
	}
	out := &AgentList{Agents: []AgentSummary{}, NextCursor: next}
	for _, kv := range page {
		st := kv.Value
		a := AgentSummary{
			Agent: st.Agent, Watermark: st.Windows.Watermark,
			Baseline: BaselineView{
				SatisfactionRate: Mean(st.Base.SatisfactionRate), LatencyP95: Mean(st.Base.LatencyP95),
				ErrorRate: Mean(st.Base.ErrorRate), CostPerRequest: Mean(st.Base.CostPerRequest),
			},
			ActiveAlerts: map[string]ActiveAlert{},
		}
		if open := st.OpenSummaries(); len(open) > 0 {
			a.CurrentWindow = &open[len(open)-1]
		}
		for rule, al := range st.Alerts {
			a.ActiveAlerts[rule] = ActiveAlert(*al)
		}
		out.Agents = append(out.Agents, a)
	}
	return out, nil
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Pattern: "/v1/agents/{agent}/quality",
		Summary: "an agent's open window, recent closed windows, baseline and active alerts",
		Handle:  func(r *api.Request) (any, error) { return q.Agent(r.Scope.Tenant, r.Path("agent")) },
	}, {
		Method: "GET", Pattern: "/v1/agents",
		Summary: "the tenant's agents by name with their current quality (limit, cursor)",
		Handle: func(r *api.Request) (any, error) {
			p, err := r.PageOf()
			if err != nil {
				return nil, err
			}
			return q.Agents(r.Scope.Tenant, p)
		},
	}}
}
