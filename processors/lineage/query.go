package lineage

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
)

// Query is the read model over the group table: typed lookups and
// traversals of one tenant's dataset graph. State keys start with the
// tenant, so a tenant only ever reaches its own datasets.
type Query struct {
	table api.Table
	names Names
	cfg   Config
}

// NewQuery reads t, a view of the group table, with c's naming rules and
// traversal bounds. c must be valid.
func NewQuery(t api.Table, c Config) (Query, error) {
	names, err := c.Names()
	if err != nil {
		return Query{}, err
	}
	return Query{table: t, names: names, cfg: c}, nil
}

// DatasetList is GET /v1/datasets: the tenant's datasets by name.
type DatasetList struct {
	Datasets   []DatasetSummary `json:"datasets"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// DatasetSummary is one dataset; GET /v1/lineage/{dataset} has its graph.
type DatasetSummary struct {
	Dataset    string      `json:"dataset"`
	FirstSeen  codecs.Time `json:"first_seen"`
	LastSeen   codecs.Time `json:"last_seen"`
	Events     int64       `json:"events"`
	Upstream   int         `json:"upstream"`   // datasets it is written from
	Downstream int         `json:"downstream"` // datasets written from it
	Columns    int         `json:"columns"`
}

// maxPrefixBytes bounds a dataset prefix (a dataset name is bounded too).
const maxPrefixBytes = 512

// Datasets lists the tenant's datasets whose canonical name starts with
// prefix, in name order. Keys are tenant|dataset, so the page is a key
// range of this tenant's matching datasets only.
func (q Query) Datasets(tenant, prefix string, p api.Page) (*DatasetList, error) {
	if len(prefix) > maxPrefixBytes {
		return nil, api.Invalid("bad_prefix", fmt.Sprintf("prefix must be at most %d bytes", maxPrefixBytes))
	}
	page, next, err := api.PrefixPage[Node](q.table, codecs.TenantKey(tenant, prefix), p)
	if err != nil {
		return nil, err
	}
	out := &DatasetList{Datasets: []DatasetSummary{}, NextCursor: next}
	for _, kv := range page {
		n := kv.Value
		out.Datasets = append(out.Datasets, DatasetSummary{
			Dataset: n.Dataset, FirstSeen: n.FirstSeen, LastSeen: n.LastSeen, Events: n.Events,
			Upstream: len(n.Upstream), Downstream: len(n.Downstream), Columns: len(n.Columns),
		})
	}
	return out, nil
}

// Graph is GET /v1/lineage/{dataset}.
type Graph struct {
	Root      string      `json:"root"`
	Direction string      `json:"direction"`
	Depth     int         `json:"depth"` // applied (capped) depth
	Nodes     []GraphNode `json:"nodes"`
	Edges     []GraphEdge `json:"edges"`
	// Truncated says the node cap cut the graph: some datasets within the
	// depth are missing, as are their edges.
	Truncated bool `json:"truncated"`
}

// GraphNode is one dataset of a graph.
type GraphNode struct {
	Dataset   string       `json:"dataset"`
	Distance  int          `json:"distance"` // hops from the root
	FirstSeen *codecs.Time `json:"first_seen,omitempty"`
	LastSeen  *codecs.Time `json:"last_seen,omitempty"`
	Events    int64        `json:"events"`
	Traces    []Run        `json:"traces"`
}

// Run is an agent run that touched a dataset.
type Run struct {
	TraceID string      `json:"trace_id"`
	QueryID string      `json:"query_id"`
	UserID  string      `json:"user_id"`
	At      codecs.Time `json:"at"`
}

// GraphEdge is a dataset edge: From was read by queries that wrote To.
type GraphEdge struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	Queries EdgeQueries `json:"queries"`
}

// EdgeQueries are the queries behind an edge.
type EdgeQueries struct {
	Count     int64          `json:"count"`     // queries seen, failed included
	Succeeded int64          `json:"succeeded"` // of which succeeded
	FirstSeen codecs.Time    `json:"first_seen"`
	LastSeen  codecs.Time    `json:"last_seen"`
	Recent    []QueryExecRef `json:"recent"` // newest first
}

// QueryExecRef is one execution of a query.
type QueryExecRef struct {
	QueryID string      `json:"query_id"`
	SQLHash string      `json:"sql_hash"`
	Dialect string      `json:"dialect"`
	UserID  string      `json:"user_id"`
	TraceID string      `json:"trace_id,omitempty"`
	Status  string      `json:"status"`
	EventID string      `json:"event_id"`
	At      codecs.Time `json:"at"`
}

// ColumnGraph is GET /v1/lineage/{dataset}/columns/{column}.
type ColumnGraph struct {
	Root      codecs.ColumnRef  `json:"root"`
	Direction string            `json:"direction"`
	Depth     int               `json:"depth"`
	Columns   []ColumnNode      `json:"columns"`
	Edges     []ColumnGraphEdge `json:"edges"`
	Truncated bool              `json:"truncated"`
}

// ColumnNode is one column of a column graph.
type ColumnNode struct {
	codecs.ColumnRef
	Distance int `json:"distance"`
}

// ColumnGraphEdge says column To is computed from column From.
type ColumnGraphEdge struct {
	From     codecs.ColumnRef `json:"from"`
	To       codecs.ColumnRef `json:"to"`
	QueryID  string           `json:"query_id"`
	LastSeen codecs.Time      `json:"last_seen"`
}

// EdgeList is GET /v1/lineage/{dataset}/edges/{other}/queries: the edges
// between two datasets, in either direction, with their queries.
type EdgeList struct {
	Dataset string      `json:"dataset"`
	Other   string      `json:"other"`
	Edges   []GraphEdge `json:"edges"`
}

// GraphRequest is a dataset graph query.
type GraphRequest struct {
	Dataset, Dialect string
	// Direction is upstream, downstream or both.
	Direction string
	// Depth is capped at Config.MaxDepth; Recent (queries per edge) at
	// Config.RecentQueries.
	Depth, Recent int
	IncludeFailed bool
}

func (q Query) node(tenant, dataset string) (*Node, error) {
	return api.Lookup[Node](q.table, codecs.TenantKey(tenant, dataset))
}

func notFound(what string) error { return api.NotFound(what + " has no lineage in this tenant") }

// Graph walks the dataset graph breadth-first from the dataset, up to the
// depth and Config.MaxNodes nodes; cycles terminate.
func (q Query) Graph(tenant string, r GraphRequest) (*Graph, error) {
	root, err := q.names.Dataset("dataset", r.Dataset, r.Dialect)
	if err != nil {
		return nil, api.Invalid("bad_dataset", err.Error())
	}
	n, err := q.node(tenant, root)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, notFound("dataset " + root)
	}
	w := &walk{
		q: q, tenant: tenant, maxDepth: min(r.Depth, q.cfg.MaxDepth), includeFailed: r.IncludeFailed, recent: min(r.Recent, q.cfg.RecentQueries),
		nodes: map[string]*Node{root: n}, dist: map[string]int{root: 0}, order: []string{root},
		edges: map[[2]string]*Edge{},
	}
	if r.Direction != "downstream" {
		if err := w.walk(root, true); err != nil {
			return nil, err
		}
	}
	if r.Direction != "upstream" {
		if err := w.walk(root, false); err != nil {
			return nil, err
		}
	}
	return w.result(root, r.Direction), nil
}

// walk is one breadth-first traversal over the table.
type walk struct {
	q             Query
	tenant        string
	maxDepth      int
	includeFailed bool
	recent        int
	nodes         map[string]*Node // nil value: in the graph but absent from state (evicted edge's end)
	dist          map[string]int
	order         []string
	edges         map[[2]string]*Edge
	edgeOrder     [][2]string
	truncated     bool
}

// walk visits upstream or downstream from root; the visited set makes
// cycles terminate.
func (g *walk) walk(root string, upstream bool) error {
	seen := map[string]int{root: 0}
	queue := []string{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		n := g.nodes[d]
		if n == nil || seen[d] >= g.maxDepth {
			continue
		}
		neighbours := n.Downstream
		if upstream {
			neighbours = n.Upstream
		}
		for _, o := range slices.Sorted(maps.Keys(neighbours)) {
			e := neighbours[o]
			if e.Succeeded == 0 && !g.includeFailed {
				continue
			}
			if _, in := g.dist[o]; !in {
				if len(g.dist) >= g.q.cfg.MaxNodes {
					g.truncated = true
					continue
				}
				on, err := g.q.node(g.tenant, o)
				if err != nil {
					return err
				}
				g.nodes[o], g.dist[o] = on, seen[d]+1
				g.order = append(g.order, o)
			}
			g.dist[o] = min(g.dist[o], seen[d]+1)
			key := [2]string{d, o}
			if upstream {
				key = [2]string{o, d}
			}
			if _, dup := g.edges[key]; !dup {
				short := *e
				short.Recent = e.Recent[:min(len(e.Recent), g.recent)]
				g.edges[key] = &short
				g.edgeOrder = append(g.edgeOrder, key)
			}
			if _, visited := seen[o]; !visited {
				seen[o] = seen[d] + 1
				queue = append(queue, o)
			}
		}
	}
	return nil
}

func (g *walk) result(root, dir string) *Graph {
	out := &Graph{Root: root, Direction: dir, Depth: g.maxDepth, Truncated: g.truncated,
		Nodes: make([]GraphNode, 0, len(g.order)), Edges: make([]GraphEdge, 0, len(g.edgeOrder))}
	for _, d := range g.order {
		gn := GraphNode{Dataset: d, Distance: g.dist[d], Traces: []Run{}}
		if n := g.nodes[d]; n != nil {
			first, last := n.FirstSeen, n.LastSeen
			gn.FirstSeen, gn.LastSeen, gn.Events = &first, &last, n.Events
			for _, t := range n.Traces {
				gn.Traces = append(gn.Traces, Run(t))
			}
		}
		out.Nodes = append(out.Nodes, gn)
	}
	for _, k := range g.edgeOrder {
		out.Edges = append(out.Edges, GraphEdge{From: k[0], To: k[1], Queries: edgeQueries(g.edges[k])})
	}
	return out
}

func edgeQueries(e *Edge) EdgeQueries {
	out := EdgeQueries{Count: e.Count, Succeeded: e.Succeeded, FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, Recent: []QueryExecRef{}}
	for _, r := range e.Recent {
		out.Recent = append(out.Recent, QueryExecRef(r))
	}
	return out
}

// ColumnRequest is a column provenance query.
type ColumnRequest struct {
	Dataset, Column, Dialect string
	// Direction is upstream or downstream; Depth is capped at Config.MaxDepth.
	Direction string
	Depth     int
}

// Columns walks column-level lineage from one column.
func (q Query) Columns(tenant string, r ColumnRequest) (*ColumnGraph, error) {
	dataset, err := q.names.Dataset("dataset", r.Dataset, r.Dialect)
	if err != nil {
		return nil, api.Invalid("bad_dataset", err.Error())
	}
	col, err := q.names.Column("column", r.Column, r.Dialect)
	if err != nil {
		return nil, api.Invalid("bad_column", err.Error())
	}
	depth := min(r.Depth, q.cfg.MaxDepth)
	root := codecs.ColumnRef{Dataset: dataset, Column: col}
	n, err := q.node(tenant, dataset)
	if err != nil {
		return nil, err
	}
	if n == nil || n.Columns[col] == nil {
		return nil, notFound("column " + col + " of dataset " + dataset)
	}
	out := &ColumnGraph{Root: root, Direction: r.Direction, Depth: depth, Columns: []ColumnNode{{ColumnRef: root}}, Edges: []ColumnGraphEdge{}}
	nodes := map[string]*Node{dataset: n}
	seen := map[codecs.ColumnRef]int{root: 0}
	for queue := []codecs.ColumnRef{root}; len(queue) > 0; queue = queue[1:] {
		c := queue[0]
		if seen[c] >= depth {
			continue
		}
		n, in := nodes[c.Dataset]
		if !in {
			if n, err = q.node(tenant, c.Dataset); err != nil {
				return nil, err
			}
			nodes[c.Dataset] = n
		}
		if n == nil || n.Columns[c.Column] == nil {
			continue
		}
		links := n.Columns[c.Column].Downstream
		if r.Direction == "upstream" {
			links = n.Columns[c.Column].Upstream
		}
		for _, l := range links {
			o := codecs.ColumnRef{Dataset: l.Dataset, Column: l.Column}
			e := ColumnGraphEdge{From: c, To: o, QueryID: l.QueryID, LastSeen: l.LastSeen}
			if r.Direction == "upstream" {
				e.From, e.To = o, c
			}
			if _, visited := seen[o]; !visited {
				if len(seen) >= q.cfg.MaxNodes {
					out.Truncated = true
					continue
				}
				seen[o] = seen[c] + 1
				out.Columns = append(out.Columns, ColumnNode{ColumnRef: o, Distance: seen[o]})
				queue = append(queue, o)
			}
			out.Edges = append(out.Edges, e)
		}
	}
	return out, nil
}

// Edges returns the edges between two datasets, in either direction.
func (q Query) Edges(tenant, dataset, other, dialect string) (*EdgeList, error) {
	dataset, err := q.names.Dataset("dataset", dataset, dialect)
	if err != nil {
		return nil, api.Invalid("bad_dataset", err.Error())
	}
	other, err = q.names.Dataset("other", other, dialect)
	if err != nil {
		return nil, api.Invalid("bad_dataset", err.Error())
	}
	n, err := q.node(tenant, dataset)
	if err != nil {
		return nil, err
	}
	out := &EdgeList{Dataset: dataset, Other: other, Edges: []GraphEdge{}}
	if n != nil {
		if e := n.Downstream[other]; e != nil {
			out.Edges = append(out.Edges, GraphEdge{From: dataset, To: other, Queries: edgeQueries(e)})
		}
		if e := n.Upstream[other]; e != nil {
			out.Edges = append(out.Edges, GraphEdge{From: other, To: dataset, Queries: edgeQueries(e)})
		}
	}
	if len(out.Edges) == 0 {
		return nil, notFound("an edge between " + dataset + " and " + other)
	}
	return out, nil
}

// Routes are the read model's routes.
func (q Query) Routes() []api.Route {
	depth := func(r *api.Request, def int) (int, error) {
		s := r.Query.Get("depth")
		if s == "" {
			return min(def, q.cfg.MaxDepth), nil
		}
		d, err := strconv.Atoi(s)
		if err != nil || d < 1 {
			return 0, api.Invalid("bad_depth", fmt.Sprintf("depth must be a positive integer (depths above %d are capped to %d)", q.cfg.MaxDepth, q.cfg.MaxDepth))
		}
		return min(d, q.cfg.MaxDepth), nil
	}
	return []api.Route{
		{
			Method: "GET", Pattern: "/v1/datasets",
			Summary: "the tenant's lineage datasets by name (prefix, limit, cursor)",
			Handle: func(r *api.Request) (any, error) {
				p, err := r.PageOf()
				if err != nil {
					return nil, err
				}
				return q.Datasets(r.Scope.Tenant, r.Query.Get("prefix"), p)
			},
		},
		{
			Method: "GET", Pattern: "/v1/lineage/{dataset}",
			Summary: "the lineage graph of a dataset (direction, depth, recent, include_failed, dialect)",
			Handle: func(r *api.Request) (any, error) {
				dir, err := r.OneOf("direction", "both", "upstream", "downstream", "both")
				if err != nil {
					return nil, err
				}
				d, err := depth(r, 3)
				if err != nil {
					return nil, err
				}
				recent, err := r.Int("recent", min(3, q.cfg.RecentQueries), 0, q.cfg.RecentQueries)
				if err != nil {
					return nil, err
				}
				return q.Graph(r.Scope.Tenant, GraphRequest{
					Dataset: r.Path("dataset"), Dialect: r.Query.Get("dialect"), Direction: dir, Depth: d, Recent: recent,
					IncludeFailed: r.Query.Get("include_failed") == "true",
				})
			},
		},
		{
			Method: "GET", Pattern: "/v1/lineage/{dataset}/columns/{column}",
			Summary: "column provenance (direction upstream|downstream, depth, dialect)",
			Handle: func(r *api.Request) (any, error) {
				dir, err := r.OneOf("direction", "upstream", "upstream", "downstream")
				if err != nil {
					return nil, err
				}
				d, err := depth(r, q.cfg.MaxDepth)
				if err != nil {
					return nil, err
				}
				return q.Columns(r.Scope.Tenant, ColumnRequest{
					Dataset: r.Path("dataset"), Column: r.Path("column"), Dialect: r.Query.Get("dialect"), Direction: dir, Depth: d,
				})
			},
		},
		{
			Method: "GET", Pattern: "/v1/lineage/{dataset}/edges/{other}/queries",
			Summary: "the queries behind the edges between two datasets",
			Handle: func(r *api.Request) (any, error) {
				return q.Edges(r.Scope.Tenant, r.Path("dataset"), r.Path("other"), r.Query.Get("dialect"))
			},
		},
	}
}
