package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// module is one processor package as the binary sees it: its flags, its
// groups and their internal topics, and the views over its state.
type module struct {
	validate func() error
	groups   func(prefix string) []topology.Group
	specs    func(o stream.Options) []stream.Spec
	mounts   func(prefix string) []views.Mount
}

// modules binds every processor package's flags on fs.
func modules(fs *flag.FlagSet) []module {
	cg := contextgraph.DefaultConfig()
	cg.RegisterFlags(fs)
	q := quality.DefaultConfig()
	q.RegisterFlags(fs)
	l := lineage.DefaultConfig()
	l.RegisterFlags(fs)
	return []module{
		{
			validate: func() error { return cg.Validate() },
			groups:   contextgraph.Groups,
			specs:    func(o stream.Options) []stream.Spec { return contextgraph.Specs(o, cg) },
			mounts:   func(p string) []views.Mount { return []views.Mount{views.Traces(p), views.Responses(p)} },
		},
		{
			validate: func() error { return q.Validate() },
			groups:   quality.Groups,
			specs:    func(o stream.Options) []stream.Spec { return quality.Specs(o, q) },
			mounts:   func(p string) []views.Mount { return []views.Mount{views.Quality(p), views.Insights(p)} },
		},
		{
			validate: func() error { return l.Validate() },
			groups:   lineage.Groups,
			specs:    func(o stream.Options) []stream.Spec { return lineage.Specs(o, l) },
			mounts:   func(p string) []views.Mount { return []views.Mount{views.Lineage(p, l)} },
		},
	}
}

// allGroups lists the internal topics of every group, run here or not:
// topics are applied for the whole pipeline.
func allGroups(mods []module, prefix string) []topology.Group {
	var out []topology.Group
	for _, m := range mods {
		out = append(out, m.groups(prefix)...)
	}
	return out
}

// selectSpecs returns the specs named in list ("all" or comma-separated
// names); an unknown name is an error listing the known ones.
func selectSpecs(mods []module, o stream.Options, list string) ([]stream.Spec, error) {
	var all []stream.Spec
	for _, m := range mods {
		all = append(all, m.specs(o)...)
	}
	list = strings.TrimSpace(list)
	if list == "all" {
		return all, nil
	}
	if list == "" || list == "none" {
		return nil, nil
	}
	byName := map[string]stream.Spec{}
	var names []string
	for _, s := range all {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	sort.Strings(names)
	var out []stream.Spec
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("--processors=%q: unknown processor %q; use all, none or a comma-separated list of %s", list, n, strings.Join(names, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, s)
		}
	}
	return out, nil
}
