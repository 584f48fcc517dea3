package contextgraph

import "testing"

// The signal ids are published on ai-learning-signals and consumers
// deduplicate by them: a replay after any refactoring must yield these exact
// ids. Inputs cover unicode, empty parts and parts holding the NUL byte the
// digest separates parts with.
func TestSignalIDsAreStable(t *testing.T) {
	for _, c := range []struct{ tenant, event, want string }{
		{"acme", "fb-1", "sig-be6e97012bb5bac3da55c079"},
		{"", "", "sig-7da236e30d1d71b8e63def7f"},
		{"tenant-ü", "反馈-🙂", "sig-9b840f1859a1f14882819a78"},
		{"a\x00b", "c", "sig-4aadaa2b30a26c4437f8e6e5"},
		{"a", "b\x00c", "sig-4aadaa2b30a26c4437f8e6e5"},
		{"acme|x", "y|z", "sig-0ecbafa9dfed613c7b8b7fee"},
	} {
		if got := SignalID(c.tenant, c.event); got != c.want {
			t.Errorf("SignalID(%q, %q) = %q, want %q", c.tenant, c.event, got, c.want)
		}
	}
	for _, c := range []struct {
		signal   string
		revision int
		want     string
	}{
		{"sig-0123456789abcdef01234567", 1, "ls-064148e9b1ab324501e00dea"},
		{"sig-0123456789abcdef01234567", 2, "ls-32dd34ffd65a1436f42196d4"},
		{"", 0, "ls-d4faf0e04edbf3c80591e3c9"},
		{"sig-ü\x00", -1, "ls-96661d50dbc01d0af5aa2838"},
		{"sig-x", 1 << 40, "ls-7ef7bd60fc19209297a24910"},
	} {
		if got := signalEventID(c.signal, c.revision); got != c.want {
			t.Errorf("signalEventID(%q, %d) = %q, want %q", c.signal, c.revision, got, c.want)
		}
	}
}
