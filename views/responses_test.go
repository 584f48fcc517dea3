package views_test

import (
	"net/http"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/responses"
	"github.com/aistream/aistream/views"
)

func TestResponsesView(t *testing.T) {
	tt := tester.New(t)
	srv := kafkatest.ReadOnTester(t, tt, "p", responses.Module())
	tt.SetTableValue(stream.Prefix("p").Table(responses.Name), "acme|resp-1", &responses.Response{
		TenantID: "acme", ResponseID: "resp-1", Signals: []responses.Entry{
			{SignalID: "sig-old", UserID: "u1", Revision: 1, Feedback: codecs.SignalFeedback{EventID: "fb1", Thumbs: "down"}},
			{SignalID: "sig-new", UserID: "u1", Revision: 3, Current: true, Supersedes: "sig-old", Feedback: codecs.SignalFeedback{EventID: "fb2", Thumbs: "up"}},
		},
	})

	var body responses.ResponseFeedback
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/responses/resp-1/feedback", &body, views.TenantHeader, "acme"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(body.Feedback) != 2 || body.Feedback[1].SignalID != "sig-new" || !body.Feedback[1].Current || body.Feedback[0].Current ||
		body.Feedback[1].Thumbs != "up" || len(body.Signals) != 2 || body.Signals[1].Revision != 3 {
		t.Errorf("body = %+v", body)
	}
	if code := kafkatest.GetJSON(t, srv.URL+"/v1/responses/resp-1/feedback", nil, views.TenantHeader, "globex"); code != http.StatusNotFound {
		t.Errorf("other tenant: %d", code)
	}
}
