package lineage

import (
	"cmp"
	"slices"
	"strings"

	"github.com/aistream/aistream/codecs"
)

// The byte budget (Config.MaxNodeBytes) bounds a node's encoded size: the
// count bounds alone allow nodes of megabytes when ids and hashes are long,
// and a table record over Kafka's limit would fail the group on every
// restart. Encoding a node to measure it on every update would double the
// group's main cost, so an update first adds an upper bound of what it can
// add to the size the node was decoded from, and only a node that might be
// over is encoded and, if it is, shrunk.

// Upper bounds of the encoded fields (nodecodec.go): a varint, a time, and
// the length prefix of a string.
const (
	maxVarint = 10
	maxTime   = 15
	maxPrefix = 5
)

// growth is an upper bound of the bytes applying u adds to the encoded node.
// longest bounds every string already in the node. A string written costs
// its length and prefix, and may cost the next string of its field slot
// (nodecodec.go's previous-string compression) its compression: up to
// longest (or the update's longest) again. Removals never grow the encoding.
func growth(n *Node, u *Update, longest int) int {
	q := u.Query
	for _, s := range []string{u.TenantID, u.Dataset, q.QueryID, q.SQLHash, q.Dialect, q.UserID, q.TraceID, q.Status, q.EventID} {
		longest = max(longest, len(s))
	}
	for _, list := range [2][]string{u.Upstream, u.Downstream} {
		for _, d := range list {
			longest = max(longest, len(d))
		}
	}
	for _, e := range u.Columns {
		longest = max(longest, len(e.From.Dataset), len(e.From.Column), len(e.To.Dataset), len(e.To.Column))
	}
	strLen := func(n int) int { return n + maxPrefix + longest + maxPrefix }
	str := func(s string) int { return strLen(len(s)) }
	// Events, first/last seen, the dedupe entry, and list counts growing.
	g := 3*maxVarint + 2*maxTime + 8 + 8*maxPrefix
	if n.encodedSize == 0 {
		g += 1 + str(u.TenantID) + str(u.Dataset)
	}
	query := maxTime
	for _, s := range []string{q.QueryID, q.SQLHash, q.Dialect, q.UserID, q.TraceID, q.Status, q.EventID} {
		query += str(s)
	}
	for _, d := range u.Upstream {
		g += str(d) + 2*maxVarint + 2*maxTime + maxPrefix + query
	}
	for _, d := range u.Downstream {
		g += str(d) + 2*maxVarint + 2*maxTime + maxPrefix + query
	}
	if q.TraceID != "" {
		g += str(q.TraceID) + str(q.QueryID) + str(q.UserID) + maxTime
	}
	for _, e := range u.Columns {
		for _, end := range []codecs.ColumnRef{e.From, e.To} {
			if end.Dataset == u.Dataset {
				// The column, a link, and the counts of its link lists.
				g += str(end.Column) + maxTime + 2*maxPrefix + strLen(len(e.From.Dataset)+len(e.To.Dataset)) + strLen(len(e.From.Column)+len(e.To.Column)) + str(q.QueryID) + maxTime
			}
		}
	}
	return g
}

// fit shrinks n until it encodes within c.MaxNodeBytes, if estimate (an
// upper bound of its encoded size) says it may not. Past the budget go, in
// this order: recent queries of edges, oldest first (each edge keeps its
// newest); column links, least recently seen first (and a column left
// without links); edges, least recently seen first; traces, oldest first.
// Evicted counts the links, columns and edges; an edge's count and its
// recent list tell how many queries were left out. It frees a sixteenth of
// the budget more than needed, so that the next updates of a node at its
// budget take the cheap path again.
func (c Config) fit(n *Node, estimate int) {
	if estimate <= c.MaxNodeBytes {
		return
	}
	for {
		b, err := NodeCodec{}.Encode(n)
		if err != nil {
			panic(err)
		}
		n.encodedSize = len(b)
		over := len(b) - c.MaxNodeBytes
		if over <= 0 || !c.shed(n, over+c.MaxNodeBytes/16) {
			return
		}
	}
}

// shed evicts entries in fit's order until their uncompressed sizes add up
// to want (the encoding may save less, so fit measures again), and reports
// whether it evicted anything.
func (c Config) shed(n *Node, want int) bool {
	freed := 0
	done := func(size int) bool { freed += size; return freed >= want }
	evicted := false

	// Every order below is total (ties broken by direction and key), so the
	// same node and update always lose the same entries.
	type recent struct {
		dir   int
		other string
		edge  *Edge
		q     QueryRef
	}
	var qs []recent
	for dir, edges := range []map[string]*Edge{n.Upstream, n.Downstream} {
		for other, e := range edges {
			for _, q := range e.Recent[min(1, len(e.Recent)):] {
				qs = append(qs, recent{dir, other, e, q})
			}
		}
	}
	slices.SortFunc(qs, func(a, b recent) int {
		return cmp.Or(newer(b.q.At, a.q.At, b.q.EventID, a.q.EventID), cmp.Compare(a.dir, b.dir), strings.Compare(a.other, b.other))
	})
	for _, r := range qs {
		r.edge.Recent = r.edge.Recent[:len(r.edge.Recent)-1] // the oldest of its edge is its last
		evicted = true
		if done(querySize(r.q)) {
			return true
		}
	}

	type link struct {
		column string
		dir    int
		list   *[]ColumnLink
		l      ColumnLink
	}
	var ls []link
	for name, col := range n.Columns {
		for dir, list := range []*[]ColumnLink{&col.Upstream, &col.Downstream} {
			for _, l := range *list {
				ls = append(ls, link{name, dir, list, l})
			}
		}
	}
	slices.SortFunc(ls, func(a, b link) int {
		// Within a list, addColumnLink's order reversed.
		return cmp.Or(newer(b.l.LastSeen, a.l.LastSeen, b.l.Dataset+"."+b.l.Column, a.l.Dataset+"."+a.l.Column),
			strings.Compare(a.column, b.column), cmp.Compare(a.dir, b.dir))
	})
	for _, x := range ls {
		// Links are newest first: the least recently seen of a list is its last.
		*x.list = (*x.list)[:len(*x.list)-1]
		n.Evicted.ColumnLinks++
		size := len(x.l.Dataset) + len(x.l.Column) + len(x.l.QueryID) + 3 + maxTime
		if col := n.Columns[x.column]; len(col.Upstream)+len(col.Downstream) == 0 {
			delete(n.Columns, x.column)
			n.Evicted.Columns++
			size += len(x.column) + 1 + maxTime + 2
		}
		evicted = true
		if done(size) {
			return true
		}
	}

	type edge struct {
		dir   int
		edges map[string]*Edge
		other string
		e     *Edge
	}
	var es []edge
	for dir, edges := range []map[string]*Edge{n.Upstream, n.Downstream} {
		for other, e := range edges {
			es = append(es, edge{dir, edges, other, e})
		}
	}
	slices.SortFunc(es, func(a, b edge) int {
		return cmp.Or(a.e.LastSeen.Compare(b.e.LastSeen.Time), strings.Compare(a.other, b.other), cmp.Compare(a.dir, b.dir))
	})
	for _, x := range es {
		delete(x.edges, x.other)
		n.Evicted.Edges++
		size := len(x.other) + 1 + 2*maxVarint + 2*maxTime + 1
		for _, q := range x.e.Recent {
			size += querySize(q)
		}
		evicted = true
		if done(size) {
			return true
		}
	}

	for len(n.Traces) > 0 {
		t := n.Traces[len(n.Traces)-1] // newest first
		n.Traces = n.Traces[:len(n.Traces)-1]
		evicted = true
		if done(len(t.TraceID) + len(t.QueryID) + len(t.UserID) + 3 + maxTime) {
			return true
		}
	}
	return evicted
}

// querySize is what a query reference takes encoded without compression.
func querySize(q QueryRef) int {
	return len(q.QueryID) + len(q.SQLHash) + len(q.Dialect) + len(q.UserID) + len(q.TraceID) + len(q.Status) + len(q.EventID) + 7 + maxTime
}
