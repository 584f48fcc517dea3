package views

import (
	"net/http"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/quality"
)

// QualityResponse is GET /v1/agents/{agent}/quality.
type QualityResponse struct {
	TenantID  string    `json:"tenant_id"`
	Agent     string    `json:"agent"`
	Watermark time.Time `json:"watermark"`
	Window    string    `json:"window"`
	Grace     string    `json:"grace"`
	// CurrentWindow is the newest open window; OpenWindows all of them,
	// oldest first (one more while the previous is within its grace).
	CurrentWindow *quality.Summary          `json:"current_window"`
	OpenWindows   []quality.Summary         `json:"open_windows"`
	RecentWindows []quality.Summary         `json:"recent_windows"` // closed, newest first
	Baseline      quality.Baseline          `json:"baseline"`
	ActiveAlerts  map[string]*quality.Alert `json:"active_alerts"`
	LateEvents    int64                     `json:"late_events"`
}

// Quality serves the agent-quality group's state: one tenant×agent's
// current window, recent closed windows, baseline and active alerts.
func Quality(prefix string) Mount {
	return func(s *Server, open Opener) error {
		v, err := open(quality.Table(prefix), new(quality.StateCodec))
		if err != nil {
			return err
		}
		s.HandleFunc("GET /v1/agents/{agent}/quality", func(w http.ResponseWriter, r *http.Request) {
			tenant, ok := Tenant(w, r)
			if !ok {
				return
			}
			agent := r.PathValue("agent")
			val, ok := Get(w, v, codecs.TenantKey(tenant, agent))
			if !ok {
				return
			}
			st, _ := val.(*quality.State)
			if st == nil {
				WriteError(w, http.StatusNotFound, "not_found", "no quality data for agent "+agent)
				return
			}
			resp := QualityResponse{
				TenantID: st.Tenant, Agent: st.Agent, Watermark: st.Windows.Watermark,
				Window: st.Spec.Size.String(), Grace: st.Spec.Grace.String(),
				OpenWindows: st.OpenSummaries(), RecentWindows: st.RecentSummaries(), Baseline: st.Base,
				ActiveAlerts: st.Alerts, LateEvents: st.Late,
			}
			if n := len(resp.OpenWindows); n > 0 {
				resp.CurrentWindow = &resp.OpenWindows[n-1]
			}
			if resp.ActiveAlerts == nil {
				resp.ActiveAlerts = map[string]*quality.Alert{}
			}
			WriteJSON(w, http.StatusOK, resp)
		})
		return nil
	}
}
