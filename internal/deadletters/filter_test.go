package deadletters_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/topology"
)

func TestParseReasonAcceptsTheClosedListOnly(t *testing.T) {
	for _, r := range codecs.Reasons() {
		got, err := deadletters.ParseReason(string(r.Reason))
		if err != nil || got != r.Reason {
			t.Errorf("ParseReason(%q) = %q, %v", r.Reason, got, err)
		}
	}
	_, err := deadletters.ParseReason("schema_mismatch")
	if err == nil {
		t.Fatal("an unknown reason was accepted")
	}
	for _, r := range codecs.Reasons() {
		if !strings.Contains(err.Error(), string(r.Reason)) {
			t.Errorf("the error does not list %s: %v", r.Reason, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the error is more than one line: %q", err)
	}
}

func TestFilterMatch(t *testing.T) {
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	d := deadletters.DeadLetter{
		Time: at, Reason: string(codecs.ReasonMissingField), SourceTopic: topology.FeedbackEvents, Group: "aistream-context-graph",
	}
	cases := []struct {
		name string
		f    deadletters.Filter
		want bool
	}{
		{"no condition", deadletters.Filter{}, true},
		{"reason", deadletters.Filter{Reason: codecs.ReasonMissingField}, true},
		{"other reason", deadletters.Filter{Reason: codecs.ReasonNotJSON}, false},
		{"source topic", deadletters.Filter{SourceTopic: topology.FeedbackEvents}, true},
		{"other source topic", deadletters.Filter{SourceTopic: topology.TraceEvents}, false},
		{"group", deadletters.Filter{Group: "aistream-context-graph"}, true},
		{"other group", deadletters.Filter{Group: "aistream-agent-quality-router"}, false},
		{"since is inclusive", deadletters.Filter{Since: at}, true},
		{"since after", deadletters.Filter{Since: at.Add(time.Millisecond)}, false},
		{"until is exclusive", deadletters.Filter{Until: at}, false},
		{"until after", deadletters.Filter{Until: at.Add(time.Millisecond)}, true},
		{"all conditions", deadletters.Filter{Reason: codecs.ReasonMissingField, SourceTopic: topology.FeedbackEvents, Group: "aistream-context-graph", Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}, true},
		{"all but one", deadletters.Filter{Reason: codecs.ReasonMissingField, SourceTopic: topology.FeedbackEvents, Group: "aistream-quality", Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}, false},
	}
	for _, c := range cases {
		if got := c.f.Match(d); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFilterStringNamesEveryCondition(t *testing.T) {
	f := deadletters.Filter{
		Reason: codecs.ReasonProcessing, SourceTopic: topology.FeedbackEvents, Group: "g",
		Since: time.Date(2025, 3, 15, 10, 0, 0, 0, time.FixedZone("CET", 3600)), Limit: 7,
	}
	want := "aistream-dead-letters --reason=processing_failed --source-topic=ai-feedback-events --group=g --since=2025-03-15T09:00:00Z --limit=7"
	if got := f.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
