package lineage

import (
	"cmp"
	"slices"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/ids"
	"github.com/aistream/aistream/internal/stream"
)

// Node is the state of one dataset within a tenant (table key
// codecs.TenantKey(tenant, dataset)). Every list and map is bounded by
// Config; past a bound the least recently seen entry (by event time) goes
// and Evicted counts it. Its encoded size is bounded by Config.MaxNodeBytes
// too (see fit), so a node never outgrows one Kafka message.
type Node struct {
	TenantID  string      `json:"tenant_id"`
	Dataset   string      `json:"dataset"` // canonical name
	FirstSeen codecs.Time `json:"first_seen"`
	LastSeen  codecs.Time `json:"last_seen"`
	Events    int64       `json:"events"` // distinct lineage events that touched it
	// Upstream is keyed by the dataset read, Downstream by the dataset
	// written: Upstream[s] is the edge s → this, Downstream[t] this → t.
	Upstream   map[string]*Edge   `json:"upstream,omitempty"`
	Downstream map[string]*Edge   `json:"downstream,omitempty"`
	Columns    map[string]*Column `json:"columns,omitempty"`
	Traces     []TraceRef         `json:"traces,omitempty"` // newest first
	Evicted    Evicted            `json:"evicted"`
	// Applied holds hashes (ids.Digest64) of the ids of the last DedupeWindow
	// events applied, oldest first: a redelivered event among them changes
	// nothing. One older than the window would be counted again, and two ids
	// colliding (odds 2^-64 per pair) would make the later look redelivered.
	Applied []uint64 `json:"applied,omitempty"`
	// Offsets are the highest loop offsets applied: a redelivery rewrites
	// the node, whose changelog write a crash may have lost.
	Offsets stream.Offsets `json:"offsets,omitempty"`

	encodedSize int // bytes NodeCodec decoded it from (or last measured), 0 for a new node
	longest     int // length of its longest string when decoded
}

// Edge is a dataset-level lineage edge and the queries behind it.
type Edge struct {
	Count     int64       `json:"count"`     // queries seen, failed included
	Succeeded int64       `json:"succeeded"` // of which succeeded
	FirstSeen codecs.Time `json:"first_seen"`
	LastSeen  codecs.Time `json:"last_seen"`
	Recent    []QueryRef  `json:"recent"` // newest first, at most RecentQueries
}

// QueryRef is one execution of a query.
type QueryRef struct {
	QueryID string      `json:"query_id"`
	SQLHash string      `json:"sql_hash"`
	Dialect string      `json:"dialect"`
	UserID  string      `json:"user_id"`
	TraceID string      `json:"trace_id,omitempty"`
	Status  string      `json:"status"`
	EventID string      `json:"event_id"`
	At      codecs.Time `json:"at"`
}

// Column is the column-level lineage of one column of the node's dataset.
// Only successful queries contribute: a failed write proves nothing about
// the columns it would have produced.
type Column struct {
	LastSeen   codecs.Time  `json:"last_seen"`
	Upstream   []ColumnLink `json:"upstream,omitempty"`   // columns it is computed from
	Downstream []ColumnLink `json:"downstream,omitempty"` // columns computed from it
}

// ColumnLink is the other end of a column edge.
type ColumnLink struct {
	Dataset  string      `json:"dataset"`
	Column   string      `json:"column"`
	QueryID  string      `json:"query_id"` // the latest query that linked them
	LastSeen codecs.Time `json:"last_seen"`
}

// TraceRef is an agent run that touched the dataset.
type TraceRef struct {
	TraceID string      `json:"trace_id"`
	QueryID string      `json:"query_id"`
	UserID  string      `json:"user_id"`
	At      codecs.Time `json:"at"`
}

// Evicted counts entries dropped past the bounds.
type Evicted struct {
	Edges       int64 `json:"edges,omitempty"`
	Columns     int64 `json:"columns,omitempty"`
	ColumnLinks int64 `json:"column_links,omitempty"`
}

// Update is the loop message: what one lineage event changes on one
// dataset node (the input callback fans an event out into one per dataset).
type Update struct {
	TenantID   string       `json:"tenant_id"`
	Dataset    string       `json:"dataset"`
	Query      QueryRef     `json:"query"`
	Upstream   []string     `json:"upstream,omitempty"`   // datasets the query read, if it wrote this one
	Downstream []string     `json:"downstream,omitempty"` // datasets the query wrote, if it read this one
	Columns    []ColumnEdge `json:"columns,omitempty"`    // column edges with an end in this dataset
}

// ColumnEdge says column To is computed from column From.
type ColumnEdge struct {
	From codecs.ColumnRef `json:"from"`
	To   codecs.ColumnRef `json:"to"`
}

// apply folds u into n (nil for a new node) and returns the node and whether
// anything changed (false for a redelivered event).
func (c Config) apply(n *Node, u *Update) (*Node, bool) {
	q := u.Query
	q.At = codecs.NewTime(q.At.UTC()) // as a decoded node has it
	if n == nil {
		n = &Node{TenantID: u.TenantID, Dataset: u.Dataset, FirstSeen: q.At, LastSeen: q.At}
	}
	h := ids.Digest64(q.EventID)
	if slices.Contains(n.Applied, h) {
		return n, false
	}
	estimate := n.encodedSize + growth(n, u, n.longest)
	n.Applied = append(n.Applied, h)
	if over := len(n.Applied) - c.DedupeWindow; over > 0 {
		n.Applied = slices.Delete(n.Applied, 0, over)
	}
	n.Events++
	if q.At.Before(n.FirstSeen.Time) {
		n.FirstSeen = q.At
	}
	if q.At.After(n.LastSeen.Time) {
		n.LastSeen = q.At
	}
	n.Upstream = c.addEdges(n.Upstream, u.Upstream, q, &n.Evicted)
	n.Downstream = c.addEdges(n.Downstream, u.Downstream, q, &n.Evicted)
	if q.TraceID != "" {
		n.Traces = c.addTrace(n.Traces, TraceRef{TraceID: q.TraceID, QueryID: q.QueryID, UserID: q.UserID, At: q.At})
	}
	for _, e := range u.Columns {
		if e.To.Dataset == n.Dataset {
			n.Columns = c.addColumnLink(n.Columns, e.To.Column, e.From, q, &n.Evicted, true)
		}
		if e.From.Dataset == n.Dataset {
			n.Columns = c.addColumnLink(n.Columns, e.From.Column, e.To, q, &n.Evicted, false)
		}
	}
	c.fit(n, estimate)
	return n, true
}

func (c Config) addEdges(edges map[string]*Edge, others []string, q QueryRef, ev *Evicted) map[string]*Edge {
	if len(others) == 0 {
		return edges
	}
	if edges == nil {
		edges = map[string]*Edge{}
	}
	for _, o := range others {
		e := edges[o]
		if e == nil {
			e = &Edge{FirstSeen: q.At, LastSeen: q.At}
			edges[o] = e
		}
		e.Count++
		if q.Status == StatusSuccess {
			e.Succeeded++
		}
		if q.At.Before(e.FirstSeen.Time) {
			e.FirstSeen = q.At
		}
		if q.At.After(e.LastSeen.Time) {
			e.LastSeen = q.At
		}
		// Newest by event time, so the kept set does not depend on arrival order.
		e.Recent = insertSorted(e.Recent, q, newerQuery)
		if len(e.Recent) > c.RecentQueries {
			e.Recent = e.Recent[:c.RecentQueries]
		}
	}
	ev.Edges += evictOldest(edges, c.MaxEdges, func(e *Edge) codecs.Time { return e.LastSeen })
	return edges
}

func (c Config) addTrace(traces []TraceRef, t TraceRef) []TraceRef {
	i := slices.IndexFunc(traces, func(x TraceRef) bool { return x.TraceID == t.TraceID })
	switch {
	case i < 0:
		traces = insertSorted(traces, t, newerTrace)
	case t.At.After(traces[i].At.Time):
		traces = replaceSorted(traces, i, t, newerTrace)
	default:
		traces = resort(traces, newerTrace)
	}
	if len(traces) > c.RecentTraces {
		traces = traces[:c.RecentTraces]
	}
	return traces
}

func (c Config) addColumnLink(cols map[string]*Column, name string, other codecs.ColumnRef, q QueryRef, ev *Evicted, upstream bool) map[string]*Column {
	if cols == nil {
		cols = map[string]*Column{}
	}
	col := cols[name]
	if col == nil {
		col = &Column{LastSeen: q.At}
		cols[name] = col
	}
	if q.At.After(col.LastSeen.Time) {
		col.LastSeen = q.At
	}
	links := &col.Downstream
	if upstream {
		links = &col.Upstream
	}
	link := ColumnLink{Dataset: other.Dataset, Column: other.Column, QueryID: q.QueryID, LastSeen: q.At}
	i := slices.IndexFunc(*links, func(l ColumnLink) bool { return l.Dataset == other.Dataset && l.Column == other.Column })
	switch {
	case i < 0:
		*links = insertSorted(*links, link, newerLink)
	case !q.At.Before((*links)[i].LastSeen.Time):
		*links = replaceSorted(*links, i, link, newerLink)
	default:
		*links = resort(*links, newerLink)
	}
	if over := len(*links) - c.MaxColumnLinks; over > 0 {
		*links = (*links)[:c.MaxColumnLinks]
		ev.ColumnLinks += int64(over)
	}
	ev.Columns += evictOldest(cols, c.MaxColumns, func(c *Column) codecs.Time { return c.LastSeen })
	return cols
}

// evictOldest removes the least recently seen entries (ties: smallest key)
// until at most max remain, and returns how many it removed.
func evictOldest[V any](m map[string]V, max int, seen func(V) codecs.Time) int64 {
	var n int64
	for len(m) > max {
		var oldest string
		first := true
		for k, v := range m {
			if first || seen(v).Before(seen(m[oldest]).Time) || (seen(v).Equal(seen(m[oldest]).Time) && k < oldest) {
				oldest, first = k, false
			}
		}
		delete(m, oldest)
		n++
	}
	return n
}

// newer orders newest first by time, then by id descending, a total order
// that makes kept sets independent of arrival order.
func newer(a, b codecs.Time, ida, idb string) int {
	if c := b.Compare(a.Time); c != 0 {
		return c
	}
	return cmp.Compare(idb, ida)
}

// The orders of an edge's recent queries, a node's traces and a column's
// links: newest first, ties by event id, trace id and dataset.column.
func newerQuery(a, b QueryRef) int { return newer(a.At, b.At, a.EventID, b.EventID) }
func newerTrace(a, b TraceRef) int { return newer(a.At, b.At, a.TraceID, b.TraceID) }
func newerLink(a, b ColumnLink) int {
	if c := b.LastSeen.Compare(a.LastSeen.Time); c != 0 {
		return c
	}
	return compareDotted(b.Dataset, b.Column, a.Dataset, a.Column)
}

// compareDotted is cmp.Compare(d1+"."+c1, d2+"."+c2) without building the
// strings (a sort of a column's links built two per comparison).
func compareDotted(d1, c1, d2, c2 string) int {
	n1, n2 := len(d1)+1+len(c1), len(d2)+1+len(c2)
	at := func(d, c string, i int) byte {
		switch {
		case i < len(d):
			return d[i]
		case i == len(d):
			return '.'
		}
		return c[i-len(d)-1]
	}
	// The common prefix of the datasets compares at memory speed.
	i := 0
	for k := min(len(d1), len(d2)); i < k && d1[i] == d2[i]; i++ {
	}
	for ; i < n1 && i < n2; i++ {
		if x, y := at(d1, c1, i), at(d2, c2, i); x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(n1, n2)
}

// insertSorted is slices.SortFunc(append(list, x), order) — what the
// handler did for every update — in a binary search and one insertion when
// list is strictly ascending and x equals none of it: then the sorted
// order is unique, so any correct sort gives it. Otherwise (a tie, which
// only equal ids at one time make, or a list not in order) it sorts as
// before.
func insertSorted[T any](list []T, x T, order func(a, b T) int) []T {
	if strictlySorted(list, order) {
		if i, found := slices.BinarySearchFunc(list, x, order); !found {
			return slices.Insert(list, i, x)
		}
	}
	list = append(list, x)
	slices.SortFunc(list, order)
	return list
}

// replaceSorted is list[i] = x, then slices.SortFunc(list, order), as
// insertSorted is for an append.
func replaceSorted[T any](list []T, i int, x T, order func(a, b T) int) []T {
	rest := slices.Delete(list, i, i+1)
	if strictlySorted(rest, order) {
		if j, found := slices.BinarySearchFunc(rest, x, order); !found {
			return slices.Insert(rest, j, x)
		}
	}
	// Delete moved the tail down a place: put x back at i as the handler
	// had it, then sort.
	list = slices.Insert(rest, i, x)
	slices.SortFunc(list, order)
	return list
}

// resort is slices.SortFunc(list, order) for a list that is, as the
// handler keeps it, already strictly in order: then it changes nothing.
func resort[T any](list []T, order func(a, b T) int) []T {
	if !strictlySorted(list, order) {
		slices.SortFunc(list, order)
	}
	return list
}

func strictlySorted[T any](list []T, order func(a, b T) int) bool {
	for i := 1; i < len(list); i++ {
		if order(list[i-1], list[i]) >= 0 {
			return false
		}
	}
	return true
}
