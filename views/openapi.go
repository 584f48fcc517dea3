package views

import (
	_ "embed"
	"fmt"
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
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

// serveIndex answers JSON, or a small HTML page of the same routes when the
// client asks for text/html (a browser).
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		WriteJSON(w, http.StatusOK, Index{Routes: s.Routes(), OpenAPI: OpenAPIPath})
		return
	}
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>aistream API</title></head><body>\n<h1>aistream API</h1>\n")
	fmt.Fprintf(&b, "<p>OpenAPI document: <a href=\"%s\">%s</a>. <code>/v1</code> routes need credentials.</p>\n<table>\n<tr><th>method</th><th>path</th><th>summary</th></tr>\n", OpenAPIPath, OpenAPIPath)
	for _, rt := range s.Routes() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n",
			html.EscapeString(rt.Method), html.EscapeString(rt.Path), html.EscapeString(rt.Summary))
	}
	b.WriteString("</table>\n</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, b.String())
}
