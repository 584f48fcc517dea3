package views

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/lineage"
)

// Lineage serves the query-lineage group's dataset graph:
//
//	GET /v1/lineage/{dataset}?direction=upstream|downstream|both&depth=N
//	GET /v1/lineage/{dataset}/columns/{column}?direction=upstream|downstream&depth=N
//	GET /v1/lineage/{dataset}/edges/{other}/queries
//
// Path names are normalised with the processor's rules (cfg's defaults;
// ?dialect= applies a dialect's quoting rules), so any spelling of a table
// finds its node. State keys start with the tenant, so a tenant only ever
// reaches its own datasets.
func Lineage(prefix string, cfg lineage.Config) Mount {
	return func(s *Server, open Opener) error {
		names, err := cfg.Names()
		if err != nil {
			return err
		}
		v, err := open(lineage.Table(prefix), lineage.NodeCodec{})
		if err != nil {
			return err
		}
		h := &lineageAPI{view: v, names: names, cfg: cfg}
		s.HandleFunc("GET /v1/lineage/{dataset}", h.graph)
		s.HandleFunc("GET /v1/lineage/{dataset}/columns/{column}", h.column)
		s.HandleFunc("GET /v1/lineage/{dataset}/edges/{other}/queries", h.edge)
		return nil
	}
}

type lineageAPI struct {
	view  *goka.View
	names lineage.Names
	cfg   lineage.Config
}

// LineageGraph is the response of GET /v1/lineage/{dataset}.
type LineageGraph struct {
	Root      string        `json:"root"`
	Direction string        `json:"direction"`
	Depth     int           `json:"depth"` // applied (capped) depth
	Nodes     []LineageNode `json:"nodes"`
	Edges     []LineageEdge `json:"edges"`
	// Truncated says the node cap cut the graph: some datasets within the
	// depth are missing, as are their edges.
	Truncated bool `json:"truncated"`
}

// LineageNode is one dataset of a graph.
type LineageNode struct {
	Dataset   string             `json:"dataset"`
	Distance  int                `json:"distance"` // hops from the root
	FirstSeen *codecs.Time       `json:"first_seen,omitempty"`
	LastSeen  *codecs.Time       `json:"last_seen,omitempty"`
	Events    int64              `json:"events"`
	Traces    []lineage.TraceRef `json:"traces,omitempty"`
}

// LineageEdge is a dataset edge: from was read by queries that wrote to.
type LineageEdge struct {
	From    string        `json:"from"`
	To      string        `json:"to"`
	Queries *lineage.Edge `json:"queries"`
}

type lineageScope struct {
	tenant, dialect string
}

// scope reads the tenant and the dataset path value; ok is false when a
// response was written.
func (h *lineageAPI) scope(w http.ResponseWriter, r *http.Request) (sc lineageScope, dataset string, ok bool) {
	tenant, ok := Tenant(w, r)
	if !ok {
		return sc, "", false
	}
	sc = lineageScope{tenant: tenant, dialect: r.URL.Query().Get("dialect")}
	dataset, err := h.names.Dataset("dataset", r.PathValue("dataset"), sc.dialect)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "bad_dataset", err.Error())
		return sc, "", false
	}
	return sc, dataset, true
}

// node reads one dataset of the tenant; nil when absent. ok is false when a
// response was written.
func (h *lineageAPI) node(w http.ResponseWriter, tenant, dataset string) (*lineage.Node, bool) {
	v, ok := Get(w, h.view, codecs.TenantKey(tenant, dataset))
	if !ok {
		return nil, false
	}
	n, _ := v.(*lineage.Node)
	return n, true
}

func (h *lineageAPI) depth(w http.ResponseWriter, r *http.Request, def int) (int, bool) {
	s := r.URL.Query().Get("depth")
	if s == "" {
		return min(def, h.cfg.MaxDepth), true
	}
	d, err := strconv.Atoi(s)
	if err != nil || d < 1 {
		WriteError(w, http.StatusBadRequest, "bad_depth", fmt.Sprintf("depth must be a positive integer (depths above %d are capped to %d)", h.cfg.MaxDepth, h.cfg.MaxDepth))
		return 0, false
	}
	return min(d, h.cfg.MaxDepth), true
}

// recent reads how many recent queries a graph edge lists (default 3).
func (h *lineageAPI) recent(w http.ResponseWriter, r *http.Request) (int, bool) {
	s := r.URL.Query().Get("recent")
	if s == "" {
		return min(3, h.cfg.RecentQueries), true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > h.cfg.RecentQueries {
		WriteError(w, http.StatusBadRequest, "bad_recent", fmt.Sprintf("recent must be an integer from 0 to %d", h.cfg.RecentQueries))
		return 0, false
	}
	return n, true
}

func lineageDirection(w http.ResponseWriter, r *http.Request, def string, accepted ...string) (string, bool) {
	d := r.URL.Query().Get("direction")
	if d == "" {
		return def, true
	}
	if !slices.Contains(accepted, d) {
		WriteError(w, http.StatusBadRequest, "bad_direction", fmt.Sprintf("direction must be one of %v", accepted))
		return "", false
	}
	return d, true
}

func lineageNotFound(w http.ResponseWriter, what string) {
	WriteError(w, http.StatusNotFound, "not_found", what+" has no lineage in this tenant")
}

func (h *lineageAPI) graph(w http.ResponseWriter, r *http.Request) {
	sc, root, ok := h.scope(w, r)
	if !ok {
		return
	}
	dir, ok := lineageDirection(w, r, "both", "upstream", "downstream", "both")
	if !ok {
		return
	}
	depth, ok := h.depth(w, r, 3)
	if !ok {
		return
	}
	includeFailed := r.URL.Query().Get("include_failed") == "true"
	recent, ok := h.recent(w, r)
	if !ok {
		return
	}
	n, ok := h.node(w, sc.tenant, root)
	if !ok {
		return
	}
	if n == nil {
		lineageNotFound(w, "dataset "+root)
		return
	}
	g := &lineageWalk{
		api: h, w: w, tenant: sc.tenant, maxDepth: depth, includeFailed: includeFailed, recent: recent,
		nodes: map[string]*lineage.Node{root: n}, dist: map[string]int{root: 0}, order: []string{root},
		edges: map[[2]string]*lineage.Edge{},
	}
	if dir != "downstream" && !g.walk(root, true) {
		return
	}
	if dir != "upstream" && !g.walk(root, false) {
		return
	}
	WriteJSON(w, http.StatusOK, g.result(root, dir))
}

// lineageWalk is one breadth-first traversal over the view.
type lineageWalk struct {
	api           *lineageAPI
	w             http.ResponseWriter
	tenant        string
	maxDepth      int
	includeFailed bool
	recent        int
	nodes         map[string]*lineage.Node // nil value: in the graph but absent from state (evicted edge's end)
	dist          map[string]int
	order         []string
	edges         map[[2]string]*lineage.Edge
	edgeOrder     [][2]string
	truncated     bool
}

// walk visits upstream or downstream from root; the visited set (dist) makes
// cycles terminate. It returns false when a response was written.
func (g *lineageWalk) walk(root string, upstream bool) bool {
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
				if len(g.dist) >= g.api.cfg.MaxNodes {
					g.truncated = true
					continue
				}
				on, ok := g.api.node(g.w, g.tenant, o)
				if !ok {
					return false
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
	return true
}

func (g *lineageWalk) result(root, dir string) LineageGraph {
	out := LineageGraph{Root: root, Direction: dir, Depth: g.maxDepth, Truncated: g.truncated,
		Nodes: make([]LineageNode, 0, len(g.order)), Edges: make([]LineageEdge, 0, len(g.edgeOrder))}
	for _, d := range g.order {
		ln := LineageNode{Dataset: d, Distance: g.dist[d]}
		if n := g.nodes[d]; n != nil {
			ln.FirstSeen, ln.LastSeen, ln.Events, ln.Traces = &n.FirstSeen, &n.LastSeen, n.Events, n.Traces
		}
		out.Nodes = append(out.Nodes, ln)
	}
	for _, k := range g.edgeOrder {
		out.Edges = append(out.Edges, LineageEdge{From: k[0], To: k[1], Queries: g.edges[k]})
	}
	return out
}

// LineageColumnGraph is the response of GET /v1/lineage/{dataset}/columns/{column}.
type LineageColumnGraph struct {
	Root      codecs.ColumnRef    `json:"root"`
	Direction string              `json:"direction"`
	Depth     int                 `json:"depth"`
	Columns   []LineageColumn     `json:"columns"`
	Edges     []LineageColumnEdge `json:"edges"`
	Truncated bool                `json:"truncated"`
}

// LineageColumn is one column of a column graph.
type LineageColumn struct {
	codecs.ColumnRef
	Distance int `json:"distance"`
}

// LineageColumnEdge says column To is computed from column From.
type LineageColumnEdge struct {
	From     codecs.ColumnRef `json:"from"`
	To       codecs.ColumnRef `json:"to"`
	QueryID  string           `json:"query_id"`
	LastSeen codecs.Time      `json:"last_seen"`
}

func (h *lineageAPI) column(w http.ResponseWriter, r *http.Request) {
	sc, dataset, ok := h.scope(w, r)
	if !ok {
		return
	}
	col, err := h.names.Column("column", r.PathValue("column"), sc.dialect)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "bad_column", err.Error())
		return
	}
	dir, ok := lineageDirection(w, r, "upstream", "upstream", "downstream")
	if !ok {
		return
	}
	depth, ok := h.depth(w, r, h.cfg.MaxDepth)
	if !ok {
		return
	}
	root := codecs.ColumnRef{Dataset: dataset, Column: col}
	n, ok := h.node(w, sc.tenant, dataset)
	if !ok {
		return
	}
	if n == nil || n.Columns[col] == nil {
		lineageNotFound(w, "column "+col+" of dataset "+dataset)
		return
	}
	out := LineageColumnGraph{Root: root, Direction: dir, Depth: depth, Columns: []LineageColumn{{ColumnRef: root}}, Edges: []LineageColumnEdge{}}
	nodes := map[string]*lineage.Node{dataset: n}
	seen := map[codecs.ColumnRef]int{root: 0}
	for queue := []codecs.ColumnRef{root}; len(queue) > 0; queue = queue[1:] {
		c := queue[0]
		if seen[c] >= depth {
			continue
		}
		n, in := nodes[c.Dataset]
		if !in {
			if n, ok = h.node(w, sc.tenant, c.Dataset); !ok {
				return
			}
			nodes[c.Dataset] = n
		}
		if n == nil || n.Columns[c.Column] == nil {
			continue
		}
		links := n.Columns[c.Column].Downstream
		if dir == "upstream" {
			links = n.Columns[c.Column].Upstream
		}
		for _, l := range links {
			o := codecs.ColumnRef{Dataset: l.Dataset, Column: l.Column}
			e := LineageColumnEdge{From: c, To: o, QueryID: l.QueryID, LastSeen: l.LastSeen}
			if dir == "upstream" {
				e.From, e.To = o, c
			}
			if _, visited := seen[o]; !visited {
				if len(seen) >= h.cfg.MaxNodes {
					out.Truncated = true
					continue
				}
				seen[o] = seen[c] + 1
				out.Columns = append(out.Columns, LineageColumn{ColumnRef: o, Distance: seen[o]})
				queue = append(queue, o)
			}
			out.Edges = append(out.Edges, e)
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

// LineageEdgeQueries is the response of GET /v1/lineage/{dataset}/edges/{other}/queries:
// the edges between two datasets, in either direction, with their queries.
type LineageEdgeQueries struct {
	Dataset string        `json:"dataset"`
	Other   string        `json:"other"`
	Edges   []LineageEdge `json:"edges"`
}

func (h *lineageAPI) edge(w http.ResponseWriter, r *http.Request) {
	sc, dataset, ok := h.scope(w, r)
	if !ok {
		return
	}
	other, err := h.names.Dataset("other", r.PathValue("other"), sc.dialect)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "bad_dataset", err.Error())
		return
	}
	n, ok := h.node(w, sc.tenant, dataset)
	if !ok {
		return
	}
	out := LineageEdgeQueries{Dataset: dataset, Other: other, Edges: []LineageEdge{}}
	if n != nil {
		if e := n.Downstream[other]; e != nil {
			out.Edges = append(out.Edges, LineageEdge{From: dataset, To: other, Queries: e})
		}
		if e := n.Upstream[other]; e != nil {
			out.Edges = append(out.Edges, LineageEdge{From: other, To: dataset, Queries: e})
		}
	}
	if len(out.Edges) == 0 {
		lineageNotFound(w, "an edge between "+dataset+" and "+other)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}
