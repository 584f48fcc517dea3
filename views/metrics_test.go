package views_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/views"
)

// Requests are counted under their route pattern, never the raw path (ids
// would make unbounded series), with method and status class.
func TestRequestMetricsPerRoute(t *testing.T) {
	m := stream.NewMetrics()
	s := views.NewServer(zerolog.Nop(), m, views.HeaderScope)
	s.Mount(api.Route{Method: "GET", Pattern: "/v1/things/{id}", Handle: func(r *api.Request) (any, error) {
		if r.Path("id") == "missing" {
			return nil, api.NotFound("no such thing")
		}
		return map[string]string{"id": r.Path("id")}, nil
	}})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, p := range []string{"/v1/things/a", "/v1/things/b", "/v1/things/missing", "/nope/x"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set(views.TenantHeader, "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := `
# HELP aistream_http_requests_total HTTP requests answered, by route pattern (never the raw path), method and status class (2xx, 4xx, 5xx).
# TYPE aistream_http_requests_total counter
aistream_http_requests_total{code="2xx",method="GET",route="/v1/things/{id}"} 2
aistream_http_requests_total{code="4xx",method="GET",route="/v1/things/{id}"} 1
aistream_http_requests_total{code="4xx",method="GET",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "aistream_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.HTTPDuration); n != 2 {
		t.Errorf("latency series: %d, want 2 (one per route and method)", n)
	}
}
