package views

import (
	"net/http"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/responses"
)

func TestResponsesView(t *testing.T) {
	tt := tester.New(t)
	srv := serveWithTester(t, tt, Responses("p"))
	tt.SetTableValue(responses.Table("p"), "acme|resp-1", &responses.Response{
		TenantID: "acme", ResponseID: "resp-1", Signals: []responses.Entry{
			{SignalID: "sig-old", UserID: "u1", Revision: 1, Feedback: codecs.SignalFeedback{EventID: "fb1", Thumbs: "down"}},
			{SignalID: "sig-new", UserID: "u1", Revision: 3, Current: true, Supersedes: "sig-old", Feedback: codecs.SignalFeedback{EventID: "fb2", Thumbs: "up"}},
		},
	})

	var body ResponseFeedback
	if code := getJSON(t, srv, "/v1/responses/resp-1/feedback", "acme", &body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(body.Feedback) != 2 || body.Feedback[1].SignalID != "sig-new" || !body.Feedback[1].Current || body.Feedback[0].Current ||
		body.Feedback[1].Thumbs != "up" || len(body.Signals) != 2 || body.Signals[1].Revision != 3 {
		t.Errorf("body = %+v", body)
	}
	if code := getJSON(t, srv, "/v1/responses/resp-1/feedback", "globex", nil); code != http.StatusNotFound {
		t.Errorf("other tenant: %d", code)
	}
}
