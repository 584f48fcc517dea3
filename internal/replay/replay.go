// Package replay resets processor groups to earlier offsets of their inputs
// so that their replicas reprocess them: the plan (every partition's move,
// the records to reprocess, what happens to state and outputs), its
// execution and the progress of the replicas that then do the work.
//
// A replay keeps state consistent with offsets: the table of a stateful
// group is dropped and rebuilt from the replayed input (its table topic is
// deleted and recreated, so it gets a new topic id, and every replica drops
// its local copy at its next start: stream.ResetStale). Keeping the state
// while re-applying older input would change nothing — every state
// deduplicates by event id and by input offset — and re-emit nothing new.
// The loop and repartition topics move to their end: their records derive
// from the inputs that are replayed, which write them again. Outputs keep
// their ids (they are derived from the inputs), so downstream consumers that
// deduplicate on event_id see each output once.
//
// A replay refuses while a group has live members: a running replica would
// commit its own offsets over the reset and keep serving its old state.
package replay

import (
	"fmt"
	"slices"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Group is one processor group as a replay sees it.
type Group struct {
	Name  string // short name, as --processors spells it
	Group string // consumer group name
	// Inputs are the contract topics it consumes: reset to the target.
	Inputs []string
	// Internal are its loop and repartition topics: reset to their end.
	Internal []string
	// Table is its table topic as "topics apply" creates it; nil for a
	// group without state.
	Table *topology.Topic
	// Outputs are the contract topics it emits to.
	Outputs []string
}

// Groups describes every group of the modules under prefix p, read off
// their graphs.
func Groups(p stream.Prefix, mods []*stream.Module) ([]Group, error) {
	internal, err := stream.Topics(p, mods)
	if err != nil {
		return nil, err
	}
	topics := topology.Internal(internal)
	var out []Group
	for _, m := range mods {
		for _, g := range m.Groups {
			gg := g.Graph(stream.Options{Prefix: p})
			rg := Group{Name: g.Name, Group: string(gg.Group())}
			for _, t := range stream.Inputs(gg) {
				if _, contract := topology.PartitionsOf(t); contract {
					rg.Inputs = append(rg.Inputs, t)
				} else {
					rg.Internal = append(rg.Internal, t)
				}
			}
			for _, e := range gg.OutputStreams() {
				if _, contract := topology.PartitionsOf(e.Topic()); contract && !slices.Contains(rg.Outputs, e.Topic()) {
					rg.Outputs = append(rg.Outputs, e.Topic())
				}
			}
			if t := gg.GroupTable(); t != nil {
				def, ok := topology.Find(topics, t.Topic())
				if !ok {
					return nil, fmt.Errorf("group %s: table topic %s has no definition in topology", rg.Group, t.Topic())
				}
				rg.Table = &def
			}
			slices.Sort(rg.Inputs)
			slices.Sort(rg.Internal)
			slices.Sort(rg.Outputs)
			out = append(out, rg)
		}
	}
	return out, nil
}
