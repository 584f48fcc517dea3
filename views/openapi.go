package views

import (
	_ "embed"
	"net/http"
	"slices"
)

// OpenAPIPath is where the server serves its OpenAPI document.
const OpenAPIPath = "/openapi.yaml"

// OpenAPI is the API's OpenAPI 3.1 document (views/openapi.yaml). Tests
// check that it lists exactly the mounted routes and that every route's
// responses conform to it.
//
//go:embed openapi.yaml
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI)
}

// Index is GET /: every route the server mounts, in mount order, and where
// the OpenAPI document is.
type Index struct {
	Routes  []IndexRoute `json:"routes"`
	OpenAPI string       `json:"openapi"`
}

// IndexRoute is one route of the index; Path is in net/http pattern syntax
// ({name} for a path parameter), as in the OpenAPI document.
type IndexRoute struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// Routes returns every mounted route, in mount order.
func (s *Server) Routes() []IndexRoute {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.index)
}

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, Index{Routes: s.Routes(), OpenAPI: OpenAPIPath})
}
