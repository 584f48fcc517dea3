package stream

import (
	"context"
	"flag"
	"fmt"
	"slices"

	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/topology"
)

// Prefix starts every group name (KAFKA_CONSUMER_GROUP). Group, table, loop
// and internal stream names are derived from it here and nowhere else.
type Prefix string

// Group is the full name of the group with the given short name.
func (p Prefix) Group(name string) goka.Group { return goka.Group(string(p) + "-" + name) }

// Table is the table topic of the group with the given short name.
func (p Prefix) Table(name string) goka.Table { return goka.GroupTable(p.Group(name)) }

// Loop is the loop topic of the group with the given short name.
func (p Prefix) Loop(name string) goka.Stream {
	return goka.Stream(topology.GroupLoop(string(p.Group(name))))
}

// Stream is an internal stream a module owns (e.g. a repartition topic).
func (p Prefix) Stream(name string) goka.Stream { return goka.Stream(string(p) + "-" + name) }

// Options are what a module's group graphs are built with.
type Options struct {
	Prefix  Prefix
	Decoder codecs.Decoder
	// Metrics may be nil (unit tests).
	Metrics *Metrics
}

// Group returns the full name of the group with the given short name.
func (o Options) Group(name string) goka.Group { return o.Prefix.Group(name) }

// Module is one processor package as the binary sees it: everything about
// it in one value. Its groups' tables, loops, inputs, outputs and internal
// topics are read off their goka graphs, so nothing is stated twice.
type Module struct {
	// Name is the package's name in docs and logs.
	Name string
	// Flags registers the module's settings; Validate checks them before any
	// side effect. Both may be nil.
	Flags    func(fs *flag.FlagSet)
	Validate func() error
	Groups   []Group
	// Read builds the read model the API serves over the module's tables;
	// nil when the module serves nothing.
	Read func(p Prefix, open api.Opener) ([]api.Route, error)
}

// Group is one processor group of a module.
type Group struct {
	// Name is the short name, as --processors spells it.
	Name  string
	Graph func(o Options) *goka.GroupGraph
	// Companion, when set, runs beside the processor once it is ready, until
	// ctx ends: for work goka has no edge for, like asking every key on a
	// wall-clock tick whether it went quiet (Processor.VisitAll).
	Companion func(ctx context.Context, p *goka.Processor)
	// Partitions is the partition count of a group that reads only
	// internal streams (a group reading a contract topic has its count).
	Partitions int32
}

// Topics returns the internal topics of every group of the modules, derived
// from their graphs: the table (compacted), the loop, and internal streams
// they read (with the group's partitions, which are its contract inputs').
func Topics(p Prefix, mods []*Module) ([]topology.Group, error) {
	var out []topology.Group
	for _, m := range mods {
		for _, g := range m.Groups {
			tg, err := g.Topics(p)
			if err != nil {
				return nil, fmt.Errorf("module %s: %w", m.Name, err)
			}
			out = append(out, tg)
		}
	}
	return out, nil
}

// Topics describes the group's internal topics.
func (g Group) Topics(p Prefix) (topology.Group, error) {
	gg := g.Graph(Options{Prefix: p})
	tg := topology.Group{Name: string(gg.Group()), Table: gg.GroupTable() != nil, Loop: gg.LoopStream() != nil}
	for _, e := range gg.InputStreams() {
		if n, ok := topology.PartitionsOf(e.Topic()); ok {
			if tg.Partitions == 0 {
				tg.Partitions = n
			}
			continue
		}
		tg.Extra = append(tg.Extra, e.Topic())
	}
	if tg.Partitions == 0 {
		tg.Partitions = g.Partitions
	}
	if tg.Partitions == 0 {
		return tg, fmt.Errorf("group %s reads no topic of the contract: its partition count is unknown", gg.Group())
	}
	return tg, nil
}

// Inputs are the topics the group consumes (loop included): their lag is
// the group's.
func Inputs(gg *goka.GroupGraph) []string {
	var out []string
	for _, e := range gg.InputStreams() {
		out = append(out, e.Topic())
	}
	if l := gg.LoopStream(); l != nil {
		out = append(out, l.Topic())
	}
	return out
}

// Names lists the groups' short names, sorted.
func Names(mods []*Module) []string {
	var names []string
	for _, m := range mods {
		for _, g := range m.Groups {
			names = append(names, g.Name)
		}
	}
	slices.Sort(names)
	return names
}

// ReadTable is a Module.Read over the table of the group with the given
// short name: it opens the table and builds the routes over it.
func ReadTable(group string, c goka.Codec, routes func(api.Table) ([]api.Route, error)) func(Prefix, api.Opener) ([]api.Route, error) {
	return func(p Prefix, open api.Opener) ([]api.Route, error) {
		t, err := open(p.Table(group), c)
		if err != nil {
			return nil, err
		}
		return routes(t)
	}
}
