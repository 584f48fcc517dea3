package contextgraph

import (
	"bytes"
	"sync/atomic"

	"github.com/aistream/aistream/processors/statecache"
)

// TableCodec is the context-graph table's codec: GraphCodec's bytes (JSON
// states still decode). Its zero value is GraphCodec, decoding every time:
// views use it, so a view never shares a decoded graph between readers.
// The group's own (newTableCodec) has a memo (a statecache.Cache, in its
// keeping mode, Get) of the graphs it encoded or decoded last, so that an
// event reads its trace's graph without decoding it when the memo holds the
// bytes the table returns: on a hot trace every event paid a decode of up
// to MaxStateBytes, also the events past its bounds that change nothing,
// and every write paid a decode of what the previous event had just
// encoded. Views use the zero TableCodec (no memo), and a restore writes
// bytes to storage without decoding, so neither sees the memo.
//
// The memo keeps a graph on a hit, so the graph is shared with the next
// event of its key. Why a hit is still the decoding of the bytes asked for
// (statecache's invariant: every entry {b, g} has Encode(g) == b):
//
//   - The handler mutates a graph from the memo only on a path that ends in
//     ctx.SetValue(g) (Encode again, which replaces g's entry), nothing
//     after it; every path that returns without SetValue leaves the graph
//     unchanged (processor.handle lists them; TestMemoEntriesEncodeToTheirBytes
//     checks every entry after every event of a run through every path). A
//     state that migrate would rewrite (an earlier version's) and a JSON
//     state are not remembered.
//   - keep(g, clean) lets the next Encode of g copy the sections in clean
//     (see encodeGraph) from g's entry instead of encoding them: handle
//     calls it just before SetValue with the sections its path left alone,
//     and a hit clears it. Tests check every such encoding against a full
//     one (checkSplices).
//   - A handler that panics midway (stream.Guard turns a runtime panic into
//     a dead letter and processing goes on) may leave the graph half
//     mutated: handle forgets its graph from the memo on any panic.
//
// A graph is never shared between keys: the encoding holds the tenant and
// the trace id, and each (tenant, trace) has exactly one key (the trace id,
// or its tenant scoped key when another tenant holds the trace id).
//
// Memory: at most memoEntries graphs and memoBytes of encodings. A decoded
// graph's strings share one copy of its encoding, so an entry takes about
// twice its encoding's size (plus what the table may hold of the same
// bytes).
type TableCodec struct {
	memo *statecache.Cache[Graph, memoNote]
	// spliced counts the encodings that copied a head (tests read it).
	spliced atomic.Int64
}

// Bounds of the memo: enough for the traces in flight on a process's
// partitions (a hot trace is one entry), small beside the process's heap.
const (
	memoEntries = 4096
	memoBytes   = 16 << 20
)

// memoNote is what the memo keeps about an entry's encoding: its layout
// (zero: unknown), and the sections of the graph the handler declared
// unchanged since the entry was made (see keep).
type memoNote struct {
	at    layout
	clean sections
}

func newTableCodec() *TableCodec {
	return &TableCodec{memo: statecache.New[Graph, memoNote](memoEntries, memoBytes)}
}

// checkSplices, set by the package's tests, makes Encode compare every
// encoding that copied sections with the full encoding; spliceMismatches
// counts those that differed.
var (
	checkSplices     bool
	spliceMismatches atomic.Int64
)

// Encode implements goka.Codec: GraphCodec's encoding, remembered as g's.
// After keep(g, clean) it copies the sections in clean from g's entry
// instead of encoding them.
func (m *TableCodec) Encode(v any) ([]byte, error) {
	g, ok := v.(*Graph)
	if !ok || g == nil || m.memo == nil {
		return GraphCodec{}.Encode(v)
	}
	prev, n, ok := m.memo.Entry(g)
	if !ok || !n.at.known() {
		n.clean = 0
	}
	if n.clean != 0 {
		m.spliced.Add(1)
	}
	b, at := encodeGraph(g, prev, n.at, n.clean)
	if checkSplices && n.clean != 0 {
		if full, _ := encodeGraph(g, "", layout{}, 0); !bytes.Equal(full, b) {
			spliceMismatches.Add(1)
		}
	}
	// Owned, not copied: goka only reads what Encode returns (the storage
	// keeps it, the producer sends it), as for quality's and lineage's
	// states. The storage hands the same slice back to the next event's
	// Decode while the write is pending, so the lookup's compare of a hot
	// trace's graph is then one of identical memory.
	m.memo.PutOwned(b, g, memoNote{at: at})
	return b, nil
}

// keep declares that since g was decoded or encoded (its entry made) the
// fields of the sections in clean have not changed (see encodeGraph), so
// that the next Encode of g copies them. handle calls it just before
// ctx.SetValue(g) with the sections its path did not touch; a Decode that
// hits clears it, so it never outlives the event that set it.
func (m *TableCodec) keep(g *Graph, clean sections) {
	if m == nil {
		return
	}
	m.memo.Note(g, func(n *memoNote) { n.clean = clean })
}

func clearClean(n *memoNote) { n.clean = 0 }

// Decode implements goka.Codec: the memo's graph for these bytes, else
// GraphCodec's decoding, remembered.
func (m *TableCodec) Decode(b []byte) (any, error) {
	if m.memo == nil {
		return GraphCodec{}.Decode(b)
	}
	if g, ok := m.memo.Get(b, clearClean); ok {
		return g, nil
	}
	if len(b) == 0 || b[0] != graphVersion {
		// An earlier form (JSON): decoded, not remembered (its encoding
		// is not b); the next write stores the binary form.
		return GraphCodec{}.Decode(b)
	}
	g, at, err := decodeGraph(b)
	if err != nil {
		return nil, err
	}
	if g.Dropped != (Dropped{Feedback: g.Dropped.Feedback}) {
		// A state of an earlier version, which handle migrates: not
		// remembered either (migrated, it no longer encodes to b).
		return g, nil
	}
	m.memo.Put(b, g, memoNote{at: at})
	return g, nil
}

// forget drops g's entry, if it has one: the handler may have changed g
// without encoding it.
func (m *TableCodec) forget(g *Graph) {
	if m == nil {
		return
	}
	m.memo.Forget(g)
}

// memoEntry is an entry of the memo as tests see it.
type memoEntry struct {
	b string
	g *Graph
}

// entries returns the memo's entries (tests).
func (m *TableCodec) entries() []memoEntry {
	var out []memoEntry
	m.memo.Each(func(b string, g *Graph) { out = append(out, memoEntry{b, g}) })
	return out
}

// misses is how many Decode calls decoded (tests and benchmarks).
func (m *TableCodec) misses() int { _, n := m.memo.Stats(); return n }

// hits is how many Decode calls returned the memo's graph.
func (m *TableCodec) hits() int { n, _ := m.memo.Stats(); return n }
