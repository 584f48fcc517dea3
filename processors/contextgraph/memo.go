package contextgraph

import (
	"container/list"
	"hash/maphash"
	"sync"
)

// TableCodec is the context-graph table's codec: GraphCodec's bytes (JSON
// states still decode). Its zero value is GraphCodec, decoding every time:
// views use it, so a view never shares a decoded graph between readers.
// The group's own (newTableCodec) has a memo of the graphs it encoded or
// decoded last, so that an event reads its trace's graph without decoding
// it when the memo holds the bytes the table returns. goka's ctx.Value is storage.Get + Decode and
// ctx.SetValue is Encode + storage.Set, so on a hot trace every event paid a
// decode of up to MaxStateBytes, also the events past its bounds that change
// nothing, and every write paid a decode of what the previous event had just
// encoded.
//
// The memo is keyed on the content of the encoding, not on the identity of
// the slice storage returns: leveldb returns a fresh copy on every Get once
// a value is no longer pending, and a hit must not depend on how the storage
// buffers writes. A lookup hashes the encoding's length, head and tail to
// find a candidate and compares the whole encoding with the candidate's
// (one pass at memory speed, several times cheaper than a decode). An
// entry holds its own copy of the encoding (a string), so no later write
// into a slice goka, the storage or the producer holds can change what a
// lookup compares with. Views use the zero TableCodec (no memo), and a
// restore writes bytes to storage without decoding, so neither sees the
// memo.
//
// Why a hit is the decoding of the bytes asked for. The invariant: every
// entry {b, g} has Encode(g) == b. GraphCodec is deterministic, so then
// decode(b) is g in every field. It holds when an entry is made (Decode
// makes g from b; Encode makes b from g) and is kept as follows:
//
//   - Encode(g) first removes g's previous entry, so a value is in at most
//     one entry, the one of its latest encoding.
//   - The handler mutates a graph from the memo only on a path that ends in
//     ctx.SetValue(g) (Encode again), nothing after it; every path that
//     returns without SetValue leaves the graph unchanged (processor.handle
//     lists them; TestMemoEntriesEncodeToTheirBytes checks every entry after
//     every event of a run through every path). A state that migrate would
//     rewrite (an earlier version's) and a JSON state are not remembered.
//   - keepHead(g) lets the next Encode of g copy the head of g's entry (the
//     bytes before its tail) instead of encoding it: handle calls it only
//     on a path that changes nothing before the tail, just before
//     SetValue, and a hit clears it.
//   - A handler that panics midway (stream.Guard turns a runtime panic into
//     a dead letter and processing goes on) may leave the graph half
//     mutated: handle forgets its graph from the memo on any panic.
//
// Why a graph is never shared between keys, hence never between two
// partitions' goroutines: the encoding holds the tenant and the trace id,
// and each (tenant, trace) has exactly one key (the trace id, or its tenant
// scoped key when another tenant holds the trace id), so two keys never hold
// equal encodings. One key's events run one at a time on its partition's
// goroutine. The memo itself is guarded by a mutex (partitions share it).
//
// Memory: at most memoEntries graphs and memoBytes of encodings (least
// recently used out first). A decoded graph's strings share one copy of its
// encoding, so an entry takes about twice its encoding's size (plus what the
// table may hold of the same bytes).
type TableCodec struct {
	seed maphash.Seed

	mu      sync.Mutex
	byKey   map[uint64]*list.Element // by sig of the encoding
	byGraph map[*Graph]*list.Element
	lru     list.List // of *memoEntry, most recent first
	size    int       // bytes of the encodings held
	// maxEntries and maxBytes bound it (memoEntries, memoBytes).
	maxEntries, maxBytes int

	// hits and misses count Decode calls, spliced the encodings that
	// copied a head (tests and benchmarks read them).
	hits, misses, spliced int
}

// Bounds of the memo: enough for the traces in flight on a process's
// partitions (a hot trace is one entry), small beside the process's heap.
const (
	memoEntries = 4096
	memoBytes   = 16 << 20
)

type memoEntry struct {
	sig uint64
	b   string // a copy of the encoding: nobody can change it
	g   *Graph
	// tailAt is where the encoding's tail starts (0: unknown); headKept
	// says the handler changed only the tail of g since (see keepHead).
	tailAt   int
	headKept bool
}

func newTableCodec() *TableCodec {
	return &TableCodec{seed: maphash.MakeSeed(), byKey: map[uint64]*list.Element{}, byGraph: map[*Graph]*list.Element{},
		maxEntries: memoEntries, maxBytes: memoBytes}
}

// memoHead and memoTail are how much of an encoding its sig hashes: the
// head holds the tenant, trace and time range, the tail the offsets.
const memoHead, memoTail = 192, 64

func (m *TableCodec) sig(b []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	var n [8]byte
	for i := range n {
		n[i] = byte(len(b) >> (8 * i))
	}
	h.Write(n[:])
	if len(b) <= memoHead+memoTail {
		h.Write(b)
	} else {
		h.Write(b[:memoHead])
		h.Write(b[len(b)-memoTail:])
	}
	return h.Sum64()
}

// Encode implements goka.Codec: GraphCodec's encoding, remembered as g's.
// After keepHead(g) it copies the head of g's entry instead of encoding it.
func (m *TableCodec) Encode(v any) ([]byte, error) {
	g, ok := v.(*Graph)
	if !ok || g == nil || m.byKey == nil {
		return GraphCodec{}.Encode(v)
	}
	head := ""
	m.mu.Lock()
	if el, ok := m.byGraph[g]; ok {
		if e := el.Value.(*memoEntry); e.headKept && e.tailAt > 0 {
			head = e.b[:e.tailAt]
			m.spliced++
		}
	}
	m.mu.Unlock()
	b, tailAt := encodeGraph(g, head)
	m.add(m.sig(b), b, g, tailAt)
	return b, nil
}

// keepHead declares that since g was decoded or encoded (its entry made)
// only fields of its tail changed (Events onwards: see encodeGraph), so
// that the next Encode of g copies the head. handle calls it just before
// ctx.SetValue(g) on the one path that keeps to the tail, a feedback
// dropped past its bound; a Decode that hits clears it, so it never
// outlives the event that set it.
func (m *TableCodec) keepHead(g *Graph) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byGraph[g]; ok {
		el.Value.(*memoEntry).headKept = true
	}
}

// Decode implements goka.Codec: the memo's graph for these bytes, else
// GraphCodec's decoding, remembered.
func (m *TableCodec) Decode(b []byte) (any, error) {
	if m.byKey == nil {
		return GraphCodec{}.Decode(b)
	}
	s := m.sig(b)
	m.mu.Lock()
	if el, ok := m.byKey[s]; ok {
		if e := el.Value.(*memoEntry); e.b == string(b) {
			e.headKept = false
			m.lru.MoveToFront(el)
			m.hits++
			m.mu.Unlock()
			return e.g, nil
		}
	}
	m.misses++
	m.mu.Unlock()
	if len(b) == 0 || b[0] != graphVersion {
		// An earlier form (JSON): decoded, not remembered (its encoding
		// is not b); the next write stores the binary form.
		return GraphCodec{}.Decode(b)
	}
	g, tailAt, err := decodeGraph(b)
	if err != nil {
		return nil, err
	}
	if g.Dropped != (Dropped{Feedback: g.Dropped.Feedback}) {
		// A state of an earlier version, which handle migrates: not
		// remembered either (migrated, it no longer encodes to b).
		return g, nil
	}
	m.add(s, b, g, tailAt)
	return g, nil
}

// add makes {b, g} the entry of g.
func (m *TableCodec) add(s uint64, b []byte, g *Graph, tailAt int) {
	if len(b) > m.maxBytes/4 || m.maxEntries == 0 {
		m.forget(g)
		return
	}
	own := string(b)
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byGraph[g]; ok {
		m.remove(el)
	}
	if el, ok := m.byKey[s]; ok {
		m.remove(el)
	}
	m.byKey[s] = m.lru.PushFront(&memoEntry{sig: s, b: own, g: g, tailAt: tailAt})
	m.byGraph[g] = m.byKey[s]
	m.size += len(b)
	for m.lru.Len() > m.maxEntries || m.size > m.maxBytes {
		m.remove(m.lru.Back())
	}
}

// remove drops an entry; m.mu is held.
func (m *TableCodec) remove(el *list.Element) {
	e := m.lru.Remove(el).(*memoEntry)
	delete(m.byKey, e.sig)
	delete(m.byGraph, e.g)
	m.size -= len(e.b)
}

// forget drops g's entry, if it has one: the handler may have changed g
// without encoding it.
func (m *TableCodec) forget(g *Graph) {
	if m == nil || g == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byGraph[g]; ok {
		m.remove(el)
	}
}

// entries returns the memo's entries (tests).
func (m *TableCodec) entries() []memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []memoEntry
	for el := m.lru.Front(); el != nil; el = el.Next() {
		out = append(out, *el.Value.(*memoEntry))
	}
	return out
}
