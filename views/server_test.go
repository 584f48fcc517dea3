package views_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/views"
)

// Every answer is JSON: an unknown route is 404 and a known path with
// another method 405 with Allow, in the error shape, not Go's plain text.
func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	srv := kafkatest.ReadOnTester(t, tester.New(t), "p", contextgraph.Module())
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/nope", http.StatusNotFound, "not_found", ""},
		{"GET", "/v1/traces/tr-1/nope", http.StatusNotFound, "not_found", ""},
		{"POST", "/v1/traces/tr-1", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{"DELETE", "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
		req.Header.Set(views.TenantHeader, "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body views.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || err != nil || body.Error != c.code || body.Message == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %q %+v (decode: %v), Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, err, resp.Header.Get("Allow"))
		}
	}
}
