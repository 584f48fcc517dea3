package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/audit"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/processors/responses"
)

// modules is every processor of the binary. Adding a processor is one
// folder under processors/ and one line here (README: "Add a processor").
func modules() []*stream.Module {
	return []*stream.Module{
		contextgraph.Module(),
		responses.Module(),
		quality.Module(),
		insights.Module(),
		lineage.Module(),
		audit.Module(),
	}
}

// bindModules registers every module's flags on fs.
func bindModules(fs *flag.FlagSet) []*stream.Module {
	mods := modules()
	for _, m := range mods {
		if m.Flags != nil {
			m.Flags(fs)
		}
	}
	return mods
}

// validateModules checks every module's settings.
func validateModules(mods []*stream.Module) error {
	for _, m := range mods {
		if m.Validate == nil {
			continue
		}
		if err := m.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// selectGroups returns the groups named in list ("all", "none" or
// comma-separated short names); an unknown name is an error listing the
// known ones.
func selectGroups(mods []*stream.Module, list string) ([]stream.Group, error) {
	var all []stream.Group
	for _, m := range mods {
		all = append(all, m.Groups...)
	}
	list = strings.TrimSpace(list)
	switch list {
	case "all":
		return all, nil
	case "", "none":
		return nil, nil
	}
	var out []stream.Group
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		i := -1
		for j, g := range all {
			if g.Name == n {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("--processors=%q: unknown processor %q; use all, none or a comma-separated list of %s", list, n, strings.Join(stream.Names(mods), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, all[i])
		}
	}
	return out, nil
}
