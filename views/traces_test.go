package views

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/contextgraph"
)

// serveWithTester mounts m with views backed by goka's tester and serves it.
func serveWithTester(t *testing.T, tt *tester.Tester, m Mount) *httptest.Server {
	t.Helper()
	s := NewServer(zerolog.Nop(), nil)
	if err := m(s, kafkatest.ViewsOnTester(t, tt)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// getJSON requests path as tenant and decodes the body into out.
func getJSON(t *testing.T, srv *httptest.Server, path, tenant string, out any) int {
	return kafkatest.GetJSON(t, srv.URL+path, out, TenantHeader, tenant)
}

func TestTracesView(t *testing.T) {
	tt := tester.New(t)
	srv := serveWithTester(t, tt, Traces("p"))
	tt.SetTableValue(contextgraph.Table("p"), "tr-1", &contextgraph.Graph{
		TenantID: "acme", TraceID: "tr-1", Feedback: []contextgraph.FeedbackEntry{{EventID: "fb1", SignalID: "sig-1", Revision: 2}},
	})

	var g contextgraph.Graph
	if code := getJSON(t, srv, "/v1/traces/tr-1", "acme", &g); code != http.StatusOK || g.TraceID != "tr-1" || len(g.Feedback) != 1 || g.Feedback[0].Revision != 2 {
		t.Errorf("own trace: %d %+v", code, g)
	}
	var e ErrorBody
	if code := getJSON(t, srv, "/v1/traces/tr-1", "globex", &e); code != http.StatusNotFound || e.Error != "not_found" {
		t.Errorf("other tenant's trace: %d %+v", code, e)
	}
	if code := getJSON(t, srv, "/v1/traces/unknown", "acme", nil); code != http.StatusNotFound {
		t.Errorf("unknown trace: %d", code)
	}
	if code := getJSON(t, srv, "/v1/traces/tr-1", "", nil); code != http.StatusUnauthorized {
		t.Errorf("no tenant: %d", code)
	}
}
