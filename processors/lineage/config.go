// Package lineage is the query-lineage processor group: it turns SQL lineage
// events from query-lineage-events into a provenance graph with one node per
// tenant × dataset, and writes one lineage record per event to
// ai-lineage-records for downstream catalogs. See LINEAGE.md.
package lineage

import (
	"flag"
	"fmt"

	"github.com/aistream/aistream/internal/config"
)

// Config is the processor's settings; the view reads the same (name defaults
// and query limits).
type Config struct {
	// DefaultCatalog and DefaultSchema complete one- and two-part dataset
	// names (orders → default.default.orders).
	DefaultCatalog string
	DefaultSchema  string

	// Bounds of one dataset node's state. Past a bound the least recently
	// seen entry is evicted (and counted in Node.Evicted).
	RecentQueries  int // queries kept per edge, newest by event time
	MaxEdges       int // upstream and downstream edges kept per node, each
	MaxColumns     int // columns with column lineage kept per node
	MaxColumnLinks int // links kept per column and direction
	RecentTraces   int // agent traces kept per node
	DedupeWindow   int // event ids remembered per node to ignore redelivery
	// MaxNodeBytes bounds a node's encoded size whatever the length of its
	// names and ids; past it entries are evicted (see budget.go).
	MaxNodeBytes int

	// Graph query limits of the view.
	MaxDepth int // depth beyond this is capped (the response says so)
	MaxNodes int // a graph response holds at most this many nodes (truncated: true)

	noStateCache bool // tests: the table codec decodes every read
}

// DefaultConfig returns the defaults. With typical names a node stays well
// under MaxNodeBytes through the count bounds alone (see LINEAGE.md).
func DefaultConfig() Config {
	return Config{
		DefaultCatalog: "default", DefaultSchema: "default",
		RecentQueries: 20, MaxEdges: 100, MaxColumns: 256, MaxColumnLinks: 16, RecentTraces: 20, DedupeWindow: 256,
		MaxNodeBytes: 512 << 10,
		MaxDepth:     10, MaxNodes: 1000,
	}
}

// RegisterFlags binds the settings to fs as --lineage-*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DefaultCatalog, "lineage-default-catalog", c.DefaultCatalog, "catalog given to dataset names with one or two parts")
	fs.StringVar(&c.DefaultSchema, "lineage-default-schema", c.DefaultSchema, "schema given to dataset names with one part")
	fs.IntVar(&c.RecentQueries, "lineage-recent-queries", c.RecentQueries, "queries kept per lineage edge (newest by event time)")
	fs.IntVar(&c.MaxEdges, "lineage-max-edges", c.MaxEdges, "upstream and downstream edges kept per dataset, each (least recently seen evicted)")
	fs.IntVar(&c.MaxColumns, "lineage-max-columns", c.MaxColumns, "columns with column lineage kept per dataset (least recently seen evicted)")
	fs.IntVar(&c.MaxColumnLinks, "lineage-max-column-links", c.MaxColumnLinks, "source or target columns kept per column (least recently seen evicted)")
	fs.IntVar(&c.RecentTraces, "lineage-recent-traces", c.RecentTraces, "agent traces kept per dataset (newest by event time)")
	fs.IntVar(&c.DedupeWindow, "lineage-dedupe-window", c.DedupeWindow, "event ids remembered per dataset so a redelivered event is not counted twice")
	fs.IntVar(&c.MaxNodeBytes, "lineage-max-node-bytes", c.MaxNodeBytes, "encoded bytes of one dataset's state (oldest queries, links, edges evicted past it)")
	fs.IntVar(&c.MaxDepth, "lineage-max-depth", c.MaxDepth, "deepest lineage graph query the view answers (deeper requests are capped)")
	fs.IntVar(&c.MaxNodes, "lineage-max-nodes", c.MaxNodes, "most nodes in one lineage graph response (the rest is cut, truncated: true)")
}

// Validate checks the settings; an error names the flag and what it accepts.
func (c Config) Validate() error {
	if _, err := c.Names(); err != nil {
		return err
	}
	return config.CheckInts(
		config.IntFlag{Flag: "lineage-recent-queries", Value: c.RecentQueries, Lo: 1, Hi: 1000},
		config.IntFlag{Flag: "lineage-max-edges", Value: c.MaxEdges, Lo: 1, Hi: 10000},
		config.IntFlag{Flag: "lineage-max-columns", Value: c.MaxColumns, Lo: 1, Hi: 10000},
		config.IntFlag{Flag: "lineage-max-column-links", Value: c.MaxColumnLinks, Lo: 1, Hi: 1000},
		config.IntFlag{Flag: "lineage-recent-traces", Value: c.RecentTraces, Lo: 1, Hi: 1000},
		config.IntFlag{Flag: "lineage-dedupe-window", Value: c.DedupeWindow, Lo: 1, Hi: 100000},
		// A node is one record of the table topic (1 MiB by default).
		config.IntFlag{Flag: "lineage-max-node-bytes", Value: c.MaxNodeBytes, Lo: 64 << 10, Hi: 900 << 10},
		config.IntFlag{Flag: "lineage-max-depth", Value: c.MaxDepth, Lo: 1, Hi: 100},
		config.IntFlag{Flag: "lineage-max-nodes", Value: c.MaxNodes, Lo: 1, Hi: 100000},
	)
}

// Names returns the normalisation rules with the configured defaults.
func (c Config) Names() (Names, error) {
	catalog, err := identifier("", c.DefaultCatalog, "", 1)
	if err != nil {
		return Names{}, fmt.Errorf("--lineage-default-catalog=%q is not valid: want one identifier (e.g. default): %w", c.DefaultCatalog, err)
	}
	schema, err := identifier("", c.DefaultSchema, "", 1)
	if err != nil {
		return Names{}, fmt.Errorf("--lineage-default-schema=%q is not valid: want one identifier (e.g. public): %w", c.DefaultSchema, err)
	}
	return Names{catalog: catalog[0], schema: schema[0]}, nil
}
