package views

import (
	"net/http"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/responses"
)

// ResponseFeedback is the body of GET /v1/responses/{response_id}/feedback.
type ResponseFeedback struct {
	TenantID   string `json:"tenant_id"`
	ResponseID string `json:"response_id"`
	// Feedback lists every rating kept, oldest first; current marks each
	// user's latest (it supersedes their earlier ones).
	Feedback []FeedbackItem `json:"feedback"`
	// Signals are the latest revision of each learning signal, same order.
	Signals []responses.Entry `json:"signals"`
	Dropped int               `json:"dropped,omitempty"`
}

// FeedbackItem is one user's rating of the response.
type FeedbackItem struct {
	codecs.SignalFeedback
	UserID   string `json:"user_id"`
	SignalID string `json:"signal_id"`
	Current  bool   `json:"current"`
}

// Responses serves the responses group's state:
//
//	GET /v1/responses/{response_id}/feedback  feedback and latest learning signals
//
// The table is keyed tenant|response_id, so the tenant scope is part of the
// lookup: another tenant's response is simply not found.
func Responses(prefix string) Mount {
	return func(s *Server, open Opener) error {
		v, err := open(responses.Table(prefix), new(codecs.JSON[responses.Response]))
		if err != nil {
			return err
		}
		s.HandleFunc("GET /v1/responses/{response_id}/feedback", func(w http.ResponseWriter, r *http.Request) {
			tenant, ok := Tenant(w, r)
			if !ok {
				return
			}
			id := r.PathValue("response_id")
			val, ok := Get(w, v, codecs.TenantKey(tenant, id))
			if !ok {
				return
			}
			resp, _ := val.(*responses.Response)
			if resp == nil {
				WriteError(w, http.StatusNotFound, "not_found", "no feedback on response "+id+" in this tenant")
				return
			}
			out := ResponseFeedback{TenantID: resp.TenantID, ResponseID: resp.ResponseID, Signals: resp.Signals, Dropped: resp.Dropped, Feedback: []FeedbackItem{}}
			for _, e := range resp.Signals {
				out.Feedback = append(out.Feedback, FeedbackItem{SignalFeedback: e.Feedback, UserID: e.UserID, SignalID: e.SignalID, Current: e.Current})
			}
			WriteJSON(w, http.StatusOK, out)
		})
		return nil
	}
}
