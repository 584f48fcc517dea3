package views

import (
	"net/http"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/contextgraph"
)

// Traces serves the context-graph group's state:
//
//	GET /v1/traces/{trace_id}  the trace's context graph with its feedback
//
// The table is keyed by trace_id exactly as the AI Service keys its events;
// a trace of another tenant than X-Tenant-ID is reported as not found.
func Traces(prefix string) Mount {
	return func(s *Server, open Opener) error {
		v, err := open(contextgraph.Table(prefix), new(codecs.JSON[contextgraph.Graph]))
		if err != nil {
			return err
		}
		s.HandleFunc("GET /v1/traces/{trace_id}", func(w http.ResponseWriter, r *http.Request) {
			tenant, ok := Tenant(w, r)
			if !ok {
				return
			}
			id := r.PathValue("trace_id")
			val, ok := Get(w, v, id)
			if !ok {
				return
			}
			g, _ := val.(*contextgraph.Graph)
			if g == nil || g.TenantID != tenant {
				WriteError(w, http.StatusNotFound, "not_found", "no trace "+id+" in this tenant")
				return
			}
			WriteJSON(w, http.StatusOK, g)
		})
		return nil
	}
}
