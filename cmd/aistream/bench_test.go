package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A bad scale-phase or group flag stops "aistream bench" with a usage error
// naming the flag, before anything connects to a cluster.
func TestBenchFlagsAreCheckedFirst(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--replicas", "0"}, `--replicas="0": "0" is not a replica count`},
		{[]string{"--replicas", "1,x"}, `"x" is not a replica count`},
		{[]string{"--replicas", "17"}, "1 to 16"},
		{[]string{"--processors", "bogus"}, `unknown processor "bogus"`},
		{[]string{"--processors", "none"}, "leaves nothing to benchmark"},
	} {
		err := run(append([]string{"bench", "--bootstrap-servers", "127.0.0.1:1"}, c.args...))
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench %v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

// The groups --processors names are the only ones left, their modules kept
// in order and the others' groups untouched.
func TestOnlyGroups(t *testing.T) {
	mods := modules()
	got, err := onlyGroups(mods, "agent-quality, context-graph")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range got {
		for _, g := range m.Groups {
			names = append(names, g.Name)
		}
	}
	if !slices.Equal(names, []string{"context-graph", "agent-quality"}) {
		t.Errorf("groups: %v", names)
	}
	if all, _ := onlyGroups(mods, "all"); len(all) != len(mods) {
		t.Errorf("all: %d modules of %d", len(all), len(mods))
	}
	for _, m := range mods {
		if len(m.Groups) == 0 {
			t.Errorf("module %s lost its groups", m.Name)
		}
	}
}
