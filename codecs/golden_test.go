package codecs_test

import (
	"testing"

	"github.com/aistream/aistream/codecs"
)

// State keys are table keys: a replay after any refactoring must address
// the same rows.
func TestTenantKeysAreStable(t *testing.T) {
	for _, c := range []struct{ tenant, id, want string }{
		{"acme", "planner", "acme|planner"},
		{"", "", "|"},
		{"acme", "agent-ü🙂", "acme|agent-ü🙂"},
		{"acme", "a|b", "acme|a|b"},
		{"acme", "a\x00b", "acme|a\x00b"},
	} {
		if got := codecs.TenantKey(c.tenant, c.id); got != c.want {
			t.Errorf("TenantKey(%q, %q) = %q, want %q", c.tenant, c.id, got, c.want)
		}
	}
}
