package views_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/views"
)

func TestTracesView(t *testing.T) {
	tt := tester.New(t)
	srv := kafkatest.ReadOnTester(t, tt, "p", contextgraph.Module())
	tt.SetTableValue(stream.Prefix("p").Table(contextgraph.Name), "tr-1", &contextgraph.Graph{
		TenantID: "acme", TraceID: "tr-1", Feedback: []contextgraph.FeedbackEntry{{EventID: "fb1", SignalID: "sig-1", Revision: 2, Fingerprint: "f"}},
		Offsets: stream.Offsets{{Topic: "t", Offset: 7}}, Bytes: 123,
	})

	var g contextgraph.Trace
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/traces/tr-1", &g, views.TenantHeader, "acme"); code != http.StatusOK || g.TraceID != "tr-1" || len(g.Feedback) != 1 || g.Feedback[0].Revision != 2 {
		t.Errorf("own trace: %d %+v", code, g)
	}
	var e views.ErrorBody
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/traces/tr-1", &e, views.TenantHeader, "globex"); code != http.StatusNotFound || e.Error != "not_found" {
		t.Errorf("other tenant's trace: %d %+v", code, e)
	}
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/traces/unknown", nil, views.TenantHeader, "acme"); code != http.StatusNotFound {
		t.Errorf("unknown trace: %d", code)
	}
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/traces/tr-1", nil); code != http.StatusUnauthorized {
		t.Errorf("no tenant: %d", code)
	}
}

// The trace view is the API's type, not the table's: no dedupe or budget
// bookkeeping, and empty lists are [] (a Python client iterates them).
func TestTraceViewHidesStorageAndHasNoNullLists(t *testing.T) {
	tt := tester.New(t)
	srv := kafkatest.ReadOnTester(t, tt, "p", contextgraph.Module())
	tt.SetTableValue(stream.Prefix("p").Table(contextgraph.Name), "tr-1", &contextgraph.Graph{
		TenantID: "acme", TraceID: "tr-1", Feedback: []contextgraph.FeedbackEntry{{EventID: "fb1", SignalID: "sig-1", Fingerprint: "f"}},
		Offsets: stream.Offsets{{Topic: "t", Offset: 7}}, Bytes: 123,
	})
	body := getRaw(t, srv.URL+"/v1/traces/tr-1", "acme")
	for _, leak := range []string{"dropped_feedback", "offsets", "approx_bytes", "context_fingerprint"} {
		if strings.Contains(body, leak) {
			t.Errorf("response leaks storage field %q: %s", leak, body)
		}
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if path := findNull(v, "$"); path != "" {
		t.Errorf("null at %s in %s", path, body)
	}
}

func getRaw(t *testing.T, url, tenant string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set(views.TenantHeader, tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// findNull returns the path of the first null in v, or "".
func findNull(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, e := range x {
			if p := findNull(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := findNull(e, path+"["+strings.Repeat("*", 0)+string(rune('0'+i%10))+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}
