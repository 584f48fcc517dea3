package lineage_test

import (
	"fmt"
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
