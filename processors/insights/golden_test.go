package insights

import (
	"testing"
	"time"
)

// Insight ids are published on ai-insights and a resolution names the
// firing insight by its id: a replay after any refactoring must yield these
// exact ids. Inputs cover unicode, empty parts, parts holding the NUL byte
// the digest joins parts with, and window starts outside UTC.
func TestInsightIDsAreStable(t *testing.T) {
	start := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		tenant, agent, rule, subject string
		start                        time.Time
		sev, want                    string
	}{
		{"acme", "planner", "latency_p95", "", start, Warning, "7423cf323097cd5ba8d32962634a7344"},
		{"acme", "planner", "latency_p95", "", start, Resolved, "ea3b75ff6951630fa22ef92e177b28ca"},
		{"acme", "planner", "new_failure_category", "error:timeout", start, Critical, "547fb7ca4684cb40f0654446ca767fed"},
		{"", "", "", "", time.Time{}, "", "8065563f8f8fd9da32ce75ab31196578"},
		{"tenant-ü", "agent-🙂", "rule", "catégorie", start.Add(123456789), Info, "433054bf711c8ea025d42f823a86878d"},
		{"acme", "planner", "latency_p95", "", start.In(time.FixedZone("UTC+5:30", 5*3600+1800)), Warning, "7423cf323097cd5ba8d32962634a7344"},
		{"a\x00b", "c", "r", "", start, Info, "956ff9477a7707330f58d57a0a30f6b2"},
		{"a", "b\x00c", "r", "", start, Info, "956ff9477a7707330f58d57a0a30f6b2"},
	} {
		if got := ID(c.tenant, c.agent, c.rule, c.subject, c.start, c.sev); got != c.want {
			t.Errorf("ID(%q, %q, %q, %q, %s, %q) = %q, want %q", c.tenant, c.agent, c.rule, c.subject, c.start, c.sev, got, c.want)
		}
	}
}
