package lineage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/statecache"
)

// NodeCodec stores a *Node in a compact binary form. Every node update
// decodes and re-encodes the whole node, and a node near its bounds holds
// thousands of query references: as JSON that was most of the group's CPU.
// The form is deterministic (map entries in key order), so a replay writes
// identical bytes.
//
// Layout (version 1): a version byte, then the fields in declaration order
// in codecs/bin's encodings: integers are varints, lists and maps a count
// then their entries (maps by sorted key), every string a bin Repeat with
// one slot per field below (query references repeat dialects, users,
// hashes, statuses), Applied a U64 per hash. Version 2 appends Offsets
// (a count, then topic, partition and offset each); version 1 values are
// still decoded, with no offsets.
//
// The group's table codec (newTableCodec) also keeps the nodes it last
// encoded (processors/statecache): a hot dataset's next update reads back
// the bytes its previous one wrote, and gets that very Node instead of
// decoding them again. A hit is what decoding would give: the handler never
// changes a node after storing it, Encode sets the node's size and longest
// string as Decode would, and times, whose location the form drops, are
// made UTC when applied. The zero NodeCodec keeps nothing.
type NodeCodec struct {
	cache *statecache.Cache[Node, struct{}]
}

// Bounds of the group codec's node cache: hot datasets stay in it; at most
// about 8 MiB of encoded nodes (and their decoded forms) are held.
const (
	cacheEntries = 256
	cacheBytes   = 8 << 20
)

func newTableCodec() NodeCodec {
	return NodeCodec{cache: statecache.New[Node, struct{}](cacheEntries, cacheBytes)}
}

const nodeFormat = 2

// Field slots of the previous-string compression.
const (
	fTenant = iota
	fDataset
	fEdgeKey
	fQueryID
	fSQLHash
	fDialect
	fUserID
	fTraceID
	fStatus
	fEventID
	fColumnKey
	fLinkDataset
	fLinkColumn
	fLinkQuery
	fTraceRef
	fTraceQuery
	fTraceUser
	nFields
)

// Encode implements goka.Codec.
func (c NodeCodec) Encode(v any) ([]byte, error) {
	n, ok := v.(*Node)
	if !ok || n == nil {
		return nil, fmt.Errorf("lineage node codec got %T", v)
	}
	// A decoded node knows its encoded size, and an update adds little:
	// allocating for that up front saves the copies of growing the buffer.
	w := nodeEncoder{Writer: bin.NewWriter(make([]byte, 0, n.encodedSize+n.encodedSize/8+1024))}
	w.Byte(nodeFormat)
	w.str(fTenant, n.TenantID)
	w.str(fDataset, n.Dataset)
	w.Time(n.FirstSeen.Time)
	w.Time(n.LastSeen.Time)
	w.Varint(n.Events)
	w.edges(n.Upstream)
	w.edges(n.Downstream)
	w.Count(len(n.Columns))
	for _, k := range sortedKeys(&w.keys, n.Columns) {
		c := n.Columns[k]
		w.str(fColumnKey, k)
		w.Time(c.LastSeen.Time)
		w.links(c.Upstream)
		w.links(c.Downstream)
	}
	w.Count(len(n.Traces))
	for _, t := range n.Traces {
		w.str(fTraceRef, t.TraceID)
		w.str(fTraceQuery, t.QueryID)
		w.str(fTraceUser, t.UserID)
		w.Time(t.At.Time)
	}
	w.Varint(n.Evicted.Edges)
	w.Varint(n.Evicted.Columns)
	w.Varint(n.Evicted.ColumnLinks)
	w.Count(len(n.Applied))
	// bin's U64 of each hash, put straight into the buffer.
	b := slices.Grow(w.Bytes(), 8*len(n.Applied))
	for _, h := range n.Applied {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	w.Writer = bin.NewWriter(b)
	n.Offsets.WriteBinary(&w.Writer)
	b = w.Bytes()
	if c.cache != nil {
		n.encodedSize, n.longest = len(b), w.longest
		c.cache.PutOwned(b, n, struct{}{})
	}
	return b, nil
}

// nodeEncoder is a bin.Writer with the previous string of every field and
// the length of the longest string written (what Decode's longest will be).
type nodeEncoder struct {
	bin.Writer
	prev    [nFields]string
	longest int
	keys    []string // scratch of sortedKeys
}

// sortedKeys is m's keys in order, in *scratch (valid until the next call).
func sortedKeys[V any](scratch *[]string, m map[string]V) []string {
	ks := (*scratch)[:0]
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	*scratch = ks
	return ks
}

func (w *nodeEncoder) str(f int, s string) {
	w.Repeat(&w.prev[f], s)
	w.longest = max(w.longest, len(s))
}

func (w *nodeEncoder) edges(m map[string]*Edge) {
	w.Count(len(m))
	for _, k := range sortedKeys(&w.keys, m) {
		e := m[k]
		w.str(fEdgeKey, k)
		w.Varint(e.Count)
		w.Varint(e.Succeeded)
		w.Time(e.FirstSeen.Time)
		w.Time(e.LastSeen.Time)
		w.Count(len(e.Recent))
		for _, q := range e.Recent {
			w.str(fQueryID, q.QueryID)
			w.str(fSQLHash, q.SQLHash)
			w.str(fDialect, q.Dialect)
			w.str(fUserID, q.UserID)
			w.str(fTraceID, q.TraceID)
			w.str(fStatus, q.Status)
			w.str(fEventID, q.EventID)
			w.Time(q.At.Time)
		}
	}
}

func (w *nodeEncoder) links(ls []ColumnLink) {
	w.Count(len(ls))
	for _, l := range ls {
		w.str(fLinkDataset, l.Dataset)
		w.str(fLinkColumn, l.Column)
		w.str(fLinkQuery, l.QueryID)
		w.Time(l.LastSeen.Time)
	}
}

// Decode implements goka.Codec.
func (c NodeCodec) Decode(b []byte) (any, error) {
	if n, ok := c.cache.Take(b); ok {
		return n, nil
	}
	if len(b) == 0 || b[0] < 1 || b[0] > nodeFormat {
		return nil, errors.New("decode lineage node: not a version 1 or 2 node")
	}
	// Every string of the node is a substring of the reader's one copy of
	// the value, so decoding allocates no string.
	r := nodeDecoder{Reader: bin.NewSharedReader(b[1:])}
	n := &Node{encodedSize: len(b)}
	n.TenantID = r.str(fTenant)
	n.Dataset = r.str(fDataset)
	n.FirstSeen = r.time()
	n.LastSeen = r.time()
	n.Events = r.Varint()
	n.Upstream = r.edges()
	n.Downstream = r.edges()
	if c := r.Count(3); c > 0 {
		n.Columns = make(map[string]*Column, c)
		cols := make([]Column, c)
		for i := range cols {
			k := r.str(fColumnKey)
			cols[i].LastSeen = r.time()
			cols[i].Upstream = r.links()
			cols[i].Downstream = r.links()
			n.Columns[k] = &cols[i]
		}
	}
	if c := r.Count(4); c > 0 {
		n.Traces = make([]TraceRef, c)
		for i := range n.Traces {
			n.Traces[i] = TraceRef{TraceID: r.str(fTraceRef), QueryID: r.str(fTraceQuery), UserID: r.str(fTraceUser), At: r.time()}
		}
	}
	n.Evicted = Evicted{Edges: r.Varint(), Columns: r.Varint(), ColumnLinks: r.Varint()}
	if c := r.Count(8); c > 0 {
		n.Applied = make([]uint64, c)
		for i := range n.Applied {
			n.Applied[i] = r.U64()
		}
	}
	if b[0] >= 2 {
		n.Offsets = stream.ReadOffsets(&r.Reader)
	}
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode lineage node: %w", err)
	}
	n.longest = r.longest
	return n, nil
}

// nodeDecoder is a bin.Reader with the previous string of every field and
// the length of the longest string read (see Node.longest).
type nodeDecoder struct {
	bin.Reader
	prev    [nFields]string
	longest int
}

func (r *nodeDecoder) str(f int) string {
	s := r.Repeat(&r.prev[f])
	r.longest = max(r.longest, len(s))
	return s
}

func (r *nodeDecoder) time() codecs.Time { return codecs.NewTime(r.Time()) }

func (r *nodeDecoder) edges() map[string]*Edge {
	c := r.Count(7)
	if c == 0 {
		return nil
	}
	m := make(map[string]*Edge, c)
	es := make([]Edge, c)
	for i := range es {
		k := r.str(fEdgeKey)
		e := &es[i]
		e.Count, e.Succeeded = r.Varint(), r.Varint()
		e.FirstSeen, e.LastSeen = r.time(), r.time()
		// Recent is always present (JSON "recent": [] for none).
		e.Recent = make([]QueryRef, r.Count(9))
		for j := range e.Recent {
			e.Recent[j] = QueryRef{QueryID: r.str(fQueryID), SQLHash: r.str(fSQLHash), Dialect: r.str(fDialect), UserID: r.str(fUserID),
				TraceID: r.str(fTraceID), Status: r.str(fStatus), EventID: r.str(fEventID), At: r.time()}
		}
		m[k] = e
	}
	return m
}

func (r *nodeDecoder) links() []ColumnLink {
	c := r.Count(5)
	if c == 0 {
		return nil
	}
	ls := make([]ColumnLink, c)
	for i := range ls {
		ls[i] = ColumnLink{Dataset: r.str(fLinkDataset), Column: r.str(fLinkColumn), QueryID: r.str(fLinkQuery), LastSeen: r.time()}
	}
	return ls
}
