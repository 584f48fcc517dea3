package lineage_test

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/lineage"
)

// TestNodeStaysWithinByteBudget fills one dataset's edges to their count
// bounds (100 each way × 20 recent queries) with ids, hashes, users, traces
// and dataset names at their maximum length, all distinct: the node must
// still encode within --lineage-max-node-bytes, keeping every edge with its
// newest query and counts.
func TestNodeStaysWithinByteBudget(t *testing.T) {
	c := lineage.DefaultConfig()
	h := newHarness(t, c)
	long := func(prefix string, i int) string {
		p := fmt.Sprintf("%s%d-", prefix, i)
		return p + strings.Repeat("x", 256-len(p))
	}
	ds := func(side string, i int) string { return "wh.s." + long(side, i)[:240] }
	hub := "wh.s.hub"
	var ups, downs []string
	for i := range c.MaxEdges {
		ups, downs = append(ups, ds("up", i)), append(downs, ds("down", i))
	}
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	for q := range c.RecentQueries {
		for side, e := range []codecs.Lineage{{Sources: ups, Targets: []string{hub}}, {Sources: []string{hub}, Targets: downs}} {
			e.QueryID, e.SQLHash, e.UserID, e.TraceID = long("query", q*2+side), long("hash", q*2+side), long("user", q*2+side), long("trace", q*2+side)
			h.send(ev{id: long("event", q*2+side), at: at.Add(time.Duration(q) * time.Second).Format(time.RFC3339), data: e})
		}
	}
	if _, v, ok := h.dead.NextRaw(); ok {
		t.Fatalf("an event was dead-lettered, the test does not reach the bounds: %.300s", v)
	}
	n := h.mustNode("acme", hub)
	raw, err := lineage.NodeCodec{}.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > c.MaxNodeBytes {
		t.Errorf("node encodes to %d bytes, over --lineage-max-node-bytes=%d", len(raw), c.MaxNodeBytes)
	}
	if len(n.Upstream) != c.MaxEdges || len(n.Downstream) != c.MaxEdges || n.Events != int64(2*c.RecentQueries) {
		t.Fatalf("%d upstream, %d downstream edges, %d events: want every edge and event", len(n.Upstream), len(n.Downstream), n.Events)
	}
	last := c.RecentQueries - 1
	for side, edges := range []map[string]*lineage.Edge{n.Upstream, n.Downstream} {
		for other, e := range edges {
			if e.Count != int64(c.RecentQueries) || len(e.Recent) == 0 || e.Recent[0].QueryID != long("query", last*2+side) {
				t.Fatalf("edge %.20s: count %d, %d recent; want count %d and the newest query kept", other, e.Count, len(e.Recent), c.RecentQueries)
			}
		}
	}
	// Past the budget the oldest queries went: each edge kept its newest ones.
	if e := n.Upstream[ups[0]]; e == nil || len(e.Recent) >= c.RecentQueries || e.Recent[len(e.Recent)-1].QueryID != long("query", (c.RecentQueries-len(e.Recent))*2) {
		t.Errorf("recent queries of an edge after eviction: %+v", e)
	}
}

// padded is a name of exactly size bytes, distinct for each prefix and i.
func padded(prefix string, i, size int) string {
	p := fmt.Sprintf("%s%d_", prefix, i)
	return p + strings.Repeat("x", size-len(p))
}

func minuteAt(i int) string {
	return time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
}

// budgetConfig has the smallest byte budget --lineage-max-node-bytes
// accepts and count bounds too high to evict anything themselves, so every
// eviction the tests see is the budget's.
func budgetConfig(t *testing.T) lineage.Config {
	t.Helper()
	c := lineage.DefaultConfig()
	c.MaxNodeBytes = 64 << 10
	c.MaxEdges, c.MaxColumns, c.MaxColumnLinks, c.RecentTraces = 10000, 10000, 1000, 1000
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// driveOverBudget sends events one by one, checks after each that the node
// of dataset encodes within the budget and passes each (nil: no check),
// and returns the final node and its encoding.
func driveOverBudget(t *testing.T, c lineage.Config, dataset string, events []ev, each func(i int, n *lineage.Node)) (*lineage.Node, []byte) {
	t.Helper()
	h := newHarness(t, c)
	var n *lineage.Node
	var raw []byte
	for i, e := range events {
		h.send(e)
		if _, v, ok := h.dead.NextRaw(); ok {
			t.Fatalf("event %d was dead-lettered: %.300s", i, v)
		}
		n = h.mustNode("acme", dataset)
		var err error
		if raw, err = (lineage.NodeCodec{}).Encode(n); err != nil {
			t.Fatal(err)
		}
		if len(raw) > c.MaxNodeBytes {
			t.Fatalf("after event %d the node encodes to %d bytes, over --lineage-max-node-bytes=%d", i, len(raw), c.MaxNodeBytes)
		}
		if each != nil {
			each(i, n)
		}
	}
	return n, raw
}

// lru tracks the entries sent to a node, each with the index of the event
// that last touched it and the key that breaks ties between entries of one
// event, to predict which the budget evicts.
type lru map[string]struct {
	at  int
	tie string
}

func (l lru) touch(name string, at int, tie string) {
	l[name] = struct {
		at  int
		tie string
	}{at, tie}
}

// assertNewestKept fails unless kept is exactly the most recently seen
// entries of l: whatever was evicted went least recently seen first.
func (l lru) assertNewestKept(t *testing.T, what string, i int, kept map[string]bool) {
	t.Helper()
	order := slices.SortedFunc(maps.Keys(l), func(a, b string) int {
		return cmp.Or(cmp.Compare(l[a].at, l[b].at), strings.Compare(l[a].tie, l[b].tie))
	})
	found := 0
	for k, name := range order {
		if kept[name] {
			found++
		}
		if want := k >= len(order)-len(kept); kept[name] != want {
			t.Fatalf("after event %d, %s %d of %d in eviction order (%.40s…): kept=%v, want the %d most recently seen kept", i, what, k, len(order), name, kept[name], len(kept))
		}
	}
	if found != len(kept) {
		t.Fatalf("after event %d the node holds %d %s never sent", i, len(kept)-found, what)
	}
}

// TestBudgetEvictsColumnLinksAfterRecentQueries fills a target's columns
// with long names (one "hot" column linked from a new source column in every
// event, three new columns per event): past the budget the least recently
// seen links go, and with them the columns they empty, but only once every
// edge is down to its newest query; edges are never touched.
func TestBudgetEvictsColumnLinksAfterRecentQueries(t *testing.T) {
	c := budgetConfig(t)
	const n, perEvent = 60, 3
	src, tgt := "wh.s.src", "wh.s.tgt"
	var events []ev
	for i := range n {
		m := cols(tgt+":hot", src+":"+padded("in", i, 200))
		for j := range perEvent {
			m = append(m, cols(tgt+":"+padded(fmt.Sprintf("c%d_", j), i, 200), src+":"+padded(fmt.Sprintf("x%d_", j), i, 200))...)
		}
		events = append(events, ev{id: fmt.Sprintf("e%03d", i), at: minuteAt(i), data: codecs.Lineage{Sources: []string{src}, Targets: []string{tgt}, Columns: m}})
	}
	sent := lru{}
	var evicted int64
	node, raw := driveOverBudget(t, c, tgt, events, func(i int, n *lineage.Node) {
		for _, m := range events[i].data.Columns {
			from := m.Sources[0].Column
			// Ties: by the linked dataset.column (one dataset here), then column.
			sent.touch(m.Target.Column+"<-"+from, i, from+"\x00"+m.Target.Column)
		}
		kept := map[string]bool{}
		for name, col := range n.Columns {
			if len(col.Downstream) != 0 {
				t.Fatalf("column %.20s has downstream links %+v", name, col.Downstream)
			}
			for _, l := range col.Upstream {
				kept[name+"<-"+l.Column] = true
			}
		}
		sent.assertNewestKept(t, "column links", i, kept)
		if want := int64(len(sent) - len(kept)); n.Evicted.ColumnLinks != want {
			t.Fatalf("after event %d Evicted.ColumnLinks = %d, want %d (%d sent, %d kept)", i, n.Evicted.ColumnLinks, want, len(sent), len(kept))
		}
		if want := int64(1 + (i+1)*perEvent - len(n.Columns)); n.Evicted.Columns != want {
			t.Fatalf("after event %d Evicted.Columns = %d, want %d (%d kept)", i, n.Evicted.Columns, want, len(n.Columns))
		}
		if n.Evicted.Edges != 0 {
			t.Fatalf("after event %d: %d edges evicted, want links evicted before any edge", i, n.Evicted.Edges)
		}
		if n.Evicted.ColumnLinks > evicted {
			// Recent queries went first: each edge kept only its newest.
			for other, e := range n.Upstream {
				if len(e.Recent) != 1 || e.Recent[0].EventID != events[i].id {
					t.Fatalf("after event %d evicted links, edge %s kept %d recent queries, want only the newest", i, other, len(e.Recent))
				}
			}
		}
		evicted = n.Evicted.ColumnLinks
	})
	if node.Evicted.ColumnLinks == 0 {
		t.Fatal("no column link evicted: the test does not reach the budget's second stage")
	}
	if e := node.Upstream[src]; len(node.Upstream) != 1 || e == nil || e.Count != n {
		t.Errorf("upstream edges %v: want the one edge from %s with all %d queries counted", keys(node.Upstream), src, n)
	}
	// The hot column stays (it was just seen) and keeps its newest links.
	if hot := node.Columns["hot"]; hot == nil || len(hot.Upstream) == 0 || len(hot.Upstream) == n || hot.Upstream[0].Column != padded("in", n-1, 200) {
		t.Errorf("hot column = %+v, want its newest links kept and its oldest evicted", hot)
	}

	if _, again := driveOverBudget(t, c, tgt, events, nil); !bytes.Equal(raw, again) {
		t.Error("the same events twice gave different node encodings")
	}
}

// TestBudgetEvictsLeastRecentlySeenEdges gives a target hundreds of sources
// with long names, one of them read by every event: past the budget the
// least recently seen edges go, not the first inserted, and traces stay.
func TestBudgetEvictsLeastRecentlySeenEdges(t *testing.T) {
	c := budgetConfig(t)
	const n, perEvent = 15, 20
	tgt := "wh.s.tgt"
	ds := func(i, j int) string { return "wh.s." + padded(fmt.Sprintf("src%d_", j), i, 240) }
	hot := ds(0, 0)
	var events []ev
	for i := range n {
		var srcs []string
		for j := range perEvent {
			srcs = append(srcs, ds(i, j))
		}
		if i > 0 {
			srcs = append(srcs, hot)
		}
		events = append(events, ev{id: fmt.Sprintf("e%03d", i), at: minuteAt(i), data: codecs.Lineage{Sources: srcs, Targets: []string{tgt}, TraceID: fmt.Sprintf("trace-%d", i)}})
	}
	sent := lru{}
	var evicted int64
	node, raw := driveOverBudget(t, c, tgt, events, func(i int, n *lineage.Node) {
		for _, s := range events[i].data.Sources {
			sent.touch(s, i, s)
		}
		kept := map[string]bool{}
		for other := range n.Upstream {
			kept[other] = true
		}
		sent.assertNewestKept(t, "edges", i, kept)
		if want := int64(len(sent) - len(kept)); n.Evicted.Edges != want {
			t.Fatalf("after event %d Evicted.Edges = %d, want %d (%d seen, %d kept)", i, n.Evicted.Edges, want, len(sent), len(kept))
		}
		if n.Evicted.Edges > evicted {
			for other, e := range n.Upstream {
				if len(e.Recent) != 1 {
					t.Fatalf("after event %d evicted edges, edge %.20s kept %d recent queries, want only the newest", i, other, len(e.Recent))
				}
			}
		}
		evicted = n.Evicted.Edges
	})
	if node.Evicted.Edges == 0 {
		t.Fatal("no edge evicted: the test does not reach the budget's third stage")
	}
	if e := node.Upstream[hot]; e == nil || e.Count != n || e.Recent[0].EventID != events[n-1].id {
		t.Errorf("edge read by every event = %+v, want it kept with all %d queries counted", e, n)
	}
	if len(node.Traces) != n || node.Evicted.Columns != 0 || node.Evicted.ColumnLinks != 0 {
		t.Errorf("%d traces, evicted %+v: want all %d traces and no columns", len(node.Traces), node.Evicted, n)
	}

	if _, again := driveOverBudget(t, c, tgt, events, nil); !bytes.Equal(raw, again) {
		t.Error("the same events twice gave different node encodings")
	}
}

// TestBudgetEvictsTracesLast reads a dataset in a few queries that write
// somewhere, then in many that write nothing, each from an agent run with
// long ids: past the budget its edges go first, then its oldest traces.
func TestBudgetEvictsTracesLast(t *testing.T) {
	c := budgetConfig(t)
	const writes, n = 5, 150
	src := "wh.s.src"
	var events []ev
	for i := range n {
		d := codecs.Lineage{Sources: []string{src}, QueryID: padded("query", i, 256), UserID: padded("user", i, 256), TraceID: padded("trace", i, 256)}
		if i < writes {
			d.Targets = []string{fmt.Sprintf("wh.s.tgt%d", i)}
		}
		events = append(events, ev{id: fmt.Sprintf("e%03d", i), at: minuteAt(i), data: d})
	}
	sent := lru{}
	node, raw := driveOverBudget(t, c, src, events, func(i int, n *lineage.Node) {
		sent.touch(events[i].data.TraceID, i, events[i].data.TraceID)
		kept := map[string]bool{}
		for k, tr := range n.Traces {
			kept[tr.TraceID] = true
			if k > 0 && !n.Traces[k-1].At.After(tr.At.Time) {
				t.Fatalf("after event %d traces are not newest first at %d", i, k)
			}
		}
		sent.assertNewestKept(t, "traces", i, kept)
		if len(kept) < len(sent) && len(n.Downstream) != 0 {
			t.Fatalf("after event %d: %d traces of %d kept while %d edges remain, want edges evicted first", i, len(kept), len(sent), len(n.Downstream))
		}
	})
	if len(node.Traces) == n {
		t.Fatal("no trace evicted: the test does not reach the budget's last stage")
	}
	if len(node.Downstream) != 0 || node.Evicted.Edges != writes {
		t.Errorf("%d edges kept, Evicted.Edges = %d: want all %d evicted before traces", len(node.Downstream), node.Evicted.Edges, writes)
	}
	if node.Evicted.Columns != 0 || node.Evicted.ColumnLinks != 0 || node.Events != n {
		t.Errorf("evicted %+v, %d events: want no columns and all %d events counted", node.Evicted, node.Events, n)
	}

	if _, again := driveOverBudget(t, c, src, events, nil); !bytes.Equal(raw, again) {
		t.Error("the same events twice gave different node encodings")
	}
}
