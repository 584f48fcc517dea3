package lineage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aistream/aistream/codecs"
)

// NodeCodec stores a *Node in a compact binary form. Every node update
// decodes and re-encodes the whole node, and a node near its bounds holds
// thousands of query references: as JSON that was most of the group's CPU.
// The form is deterministic (map entries in key order), so a replay writes
// identical bytes.
//
// Layout (version 1): a version byte, then the fields in declaration order.
// Integers are varints, times are Unix seconds (varint) and nanoseconds
// (uvarint), lists and maps a count then their entries (maps by sorted key).
// A string is a uvarint: 0 when it equals the previous string of the same
// field (query references repeat dialects, users, hashes, statuses), else
// its length + 1 followed by its bytes. Applied is 8 bytes per hash.
type NodeCodec struct{}

const nodeFormat = 1

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
func (NodeCodec) Encode(v any) ([]byte, error) {
	n, ok := v.(*Node)
	if !ok || n == nil {
		return nil, fmt.Errorf("lineage node codec got %T", v)
	}
	// A decoded node knows its encoded size, and an update adds little:
	// allocating for that up front saves the copies of growing the buffer.
	w := nodeWriter{b: make([]byte, 0, n.encodedSize+n.encodedSize/8+1024)}
	w.b = append(w.b, nodeFormat)
	w.str(fTenant, n.TenantID)
	w.str(fDataset, n.Dataset)
	w.time(n.FirstSeen)
	w.time(n.LastSeen)
	w.int(n.Events)
	w.edges(n.Upstream)
	w.edges(n.Downstream)
	w.uint(len(n.Columns))
	for _, k := range slices.Sorted(maps.Keys(n.Columns)) {
		c := n.Columns[k]
		w.str(fColumnKey, k)
		w.time(c.LastSeen)
		w.links(c.Upstream)
		w.links(c.Downstream)
	}
	w.uint(len(n.Traces))
	for _, t := range n.Traces {
		w.str(fTraceRef, t.TraceID)
		w.str(fTraceQuery, t.QueryID)
		w.str(fTraceUser, t.UserID)
		w.time(t.At)
	}
	w.int(n.Evicted.Edges)
	w.int(n.Evicted.Columns)
	w.int(n.Evicted.ColumnLinks)
	w.uint(len(n.Applied))
	for _, h := range n.Applied {
		w.b = binary.LittleEndian.AppendUint64(w.b, h)
	}
	return w.b, nil
}

type nodeWriter struct {
	b    []byte
	prev [nFields]string
}

func (w *nodeWriter) uint(v int)  { w.b = binary.AppendUvarint(w.b, uint64(v)) }
func (w *nodeWriter) int(v int64) { w.b = binary.AppendVarint(w.b, v) }
func (w *nodeWriter) time(t codecs.Time) {
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.b = binary.AppendUvarint(w.b, uint64(t.Nanosecond()))
}

func (w *nodeWriter) str(f int, s string) {
	if s == w.prev[f] {
		w.b = append(w.b, 0)
		return
	}
	w.prev[f] = s
	w.uint(len(s) + 1)
	w.b = append(w.b, s...)
}

func (w *nodeWriter) edges(m map[string]*Edge) {
	w.uint(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e := m[k]
		w.str(fEdgeKey, k)
		w.int(e.Count)
		w.int(e.Succeeded)
		w.time(e.FirstSeen)
		w.time(e.LastSeen)
		w.uint(len(e.Recent))
		for _, q := range e.Recent {
			w.str(fQueryID, q.QueryID)
			w.str(fSQLHash, q.SQLHash)
			w.str(fDialect, q.Dialect)
			w.str(fUserID, q.UserID)
			w.str(fTraceID, q.TraceID)
			w.str(fStatus, q.Status)
			w.str(fEventID, q.EventID)
			w.time(q.At)
		}
	}
}

func (w *nodeWriter) links(ls []ColumnLink) {
	w.uint(len(ls))
	for _, l := range ls {
		w.str(fLinkDataset, l.Dataset)
		w.str(fLinkColumn, l.Column)
		w.str(fLinkQuery, l.QueryID)
		w.time(l.LastSeen)
	}
}

// Decode implements goka.Codec.
func (NodeCodec) Decode(b []byte) (any, error) {
	if len(b) == 0 || b[0] != nodeFormat {
		return nil, errors.New("decode lineage node: not a version 1 node")
	}
	// One copy of the whole value: every string of the node is a substring
	// of it, so decoding allocates no string.
	r := nodeReader{s: string(b[1:])}
	n := &Node{encodedSize: len(b)}
	n.TenantID = r.str(fTenant)
	n.Dataset = r.str(fDataset)
	n.FirstSeen = r.time()
	n.LastSeen = r.time()
	n.Events = r.int()
	n.Upstream = r.edges()
	n.Downstream = r.edges()
	if c := r.count(3); c > 0 {
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
	if c := r.count(4); c > 0 {
		n.Traces = make([]TraceRef, c)
		for i := range n.Traces {
			n.Traces[i] = TraceRef{TraceID: r.str(fTraceRef), QueryID: r.str(fTraceQuery), UserID: r.str(fTraceUser), At: r.time()}
		}
	}
	n.Evicted = Evicted{Edges: r.int(), Columns: r.int(), ColumnLinks: r.int()}
	if c := r.count(8); c > 0 {
		n.Applied = make([]uint64, c)
		for i := range n.Applied {
			n.Applied[i] = r.u64()
		}
	}
	if r.err == nil && r.i != len(r.s) {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode lineage node: %w", r.err)
	}
	n.longest = r.longest
	return n, nil
}

type nodeReader struct {
	s       string
	i       int
	err     error
	prev    [nFields]string
	longest int
}

var errShort = errors.New("truncated")

func (r *nodeReader) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.i >= len(r.s) {
			r.err = errShort
			return 0
		}
		c := r.s[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.err = errors.New("varint overflow")
	return 0
}

func (r *nodeReader) int() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a list length; each entry takes at least least bytes, so a
// corrupt length cannot make the reader allocate more than the input.
func (r *nodeReader) count(least int) int {
	c := r.uvarint()
	if r.err != nil {
		return 0
	}
	if c > uint64((len(r.s)-r.i)/least) {
		r.err = errShort
		return 0
	}
	return int(c)
}

func (r *nodeReader) time() codecs.Time {
	sec, ns := r.int(), r.uvarint()
	if ns >= 1e9 {
		r.err = errors.New("bad nanoseconds")
	}
	if r.err != nil {
		return codecs.Time{}
	}
	return codecs.NewTime(time.Unix(sec, int64(ns)).UTC())
}

func (r *nodeReader) str(f int) string {
	l := r.uvarint()
	switch {
	case r.err != nil:
		return ""
	case l == 0:
		return r.prev[f]
	case l-1 > uint64(len(r.s)-r.i):
		r.err = errShort
		return ""
	}
	s := r.s[r.i : r.i+int(l-1)]
	r.i += int(l - 1)
	r.prev[f] = s
	r.longest = max(r.longest, len(s))
	return s
}

func (r *nodeReader) u64() uint64 {
	if len(r.s)-r.i < 8 {
		r.err = errShort
		return 0
	}
	var v uint64
	for k := 7; k >= 0; k-- {
		v = v<<8 | uint64(r.s[r.i+k])
	}
	r.i += 8
	return v
}

func (r *nodeReader) edges() map[string]*Edge {
	c := r.count(7)
	if c == 0 {
		return nil
	}
	m := make(map[string]*Edge, c)
	es := make([]Edge, c)
	for i := range es {
		k := r.str(fEdgeKey)
		e := &es[i]
		e.Count, e.Succeeded = r.int(), r.int()
		e.FirstSeen, e.LastSeen = r.time(), r.time()
		// Recent is always present (JSON "recent": [] for none).
		e.Recent = make([]QueryRef, r.count(9))
		for j := range e.Recent {
			e.Recent[j] = QueryRef{QueryID: r.str(fQueryID), SQLHash: r.str(fSQLHash), Dialect: r.str(fDialect), UserID: r.str(fUserID),
				TraceID: r.str(fTraceID), Status: r.str(fStatus), EventID: r.str(fEventID), At: r.time()}
		}
		m[k] = e
	}
	return m
}

func (r *nodeReader) links() []ColumnLink {
	c := r.count(5)
	if c == 0 {
		return nil
	}
	ls := make([]ColumnLink, c)
	for i := range ls {
		ls[i] = ColumnLink{Dataset: r.str(fLinkDataset), Column: r.str(fLinkColumn), QueryID: r.str(fLinkQuery), LastSeen: r.time()}
	}
	return ls
}
