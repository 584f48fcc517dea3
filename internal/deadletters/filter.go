package deadletters

import (
	"fmt"
	"strings"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/topology"
)

// DefaultLimit is how many dead letters a command selects unless told.
const DefaultLimit = 100

// Filter selects dead letters. Empty fields match everything.
type Filter struct {
	Reason      codecs.Reason
	SourceTopic string
	Group       string
	// Since (inclusive) and Until (exclusive) bound the dead letter's record
	// time, when it was rejected; zero means unbounded.
	Since, Until time.Time
	// Limit (at least 1) is how many of the oldest matching dead letters
	// are selected.
	Limit int
}

// ParseReason checks s against the closed list of reasons (codecs.Reasons).
func ParseReason(s string) (codecs.Reason, error) {
	var names []string
	for _, r := range codecs.Reasons() {
		if string(r.Reason) == s {
			return r.Reason, nil
		}
		names = append(names, string(r.Reason))
	}
	return "", &config.Error{Setting: "--reason", Value: s, Want: "use one of " + strings.Join(names, ", ")}
}

// Match reports whether d passes every condition of f but the limit.
func (f Filter) Match(d DeadLetter) bool {
	switch {
	case f.Reason != "" && d.Reason != string(f.Reason):
		return false
	case f.SourceTopic != "" && d.SourceTopic != f.SourceTopic:
		return false
	case f.Group != "" && d.Group != f.Group:
		return false
	case !f.Since.IsZero() && d.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !d.Time.Before(f.Until):
		return false
	}
	return true
}

// String is the filter as the flags that give it, e.g.
// "aistream-dead-letters --reason=processing_failed --limit=100": the
// resource of the audit event.
func (f Filter) String() string {
	parts := []string{topology.DeadLetters}
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("--%s=%s", name, v))
		}
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	add("reason", string(f.Reason))
	add("source-topic", f.SourceTopic)
	add("group", f.Group)
	add("since", stamp(f.Since))
	add("until", stamp(f.Until))
	add("limit", fmt.Sprint(f.Limit))
	return strings.Join(parts, " ")
}
