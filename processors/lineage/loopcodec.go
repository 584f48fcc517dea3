package lineage

import (
	"errors"
	"fmt"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
)

// UpdateCodec is the loop topic's codec: a node update in a compact binary
// form (every input event writes one per dataset it touches and the loop
// decodes it again; as JSON both ends were a tenth of the group's CPU).
// Decode still reads the earlier JSON form (a value starting with '{'),
// so loop records written before it are applied after an upgrade.
//
// Layout (version 1): the version byte, then in codecs/bin's encodings the
// tenant and dataset (String), the query reference as one String holding
// its fields (seven Strings and a Time), so that its strings, kept
// together in the node, share one copy; then Upstream and Downstream (a
// Count and Strings each) and Columns (a Count, then from dataset, from
// column, to dataset and to column).
type UpdateCodec struct{}

const updateFormat = 1

// Encode implements goka.Codec.
func (UpdateCodec) Encode(v any) ([]byte, error) {
	u, ok := v.(*Update)
	if !ok || u == nil {
		return nil, fmt.Errorf("lineage update codec got %T", v)
	}
	q := &u.Query
	n := 64 + len(u.TenantID) + len(u.Dataset) + len(q.QueryID) + len(q.SQLHash) + len(q.Dialect) + len(q.UserID) + len(q.TraceID) + len(q.Status) + len(q.EventID)
	for _, list := range [2][]string{u.Upstream, u.Downstream} {
		for _, d := range list {
			n += len(d) + 3
		}
	}
	for _, c := range u.Columns {
		n += len(c.From.Dataset) + len(c.From.Column) + len(c.To.Dataset) + len(c.To.Column) + 12
	}
	w := bin.NewWriter(make([]byte, 0, n))
	w.Byte(updateFormat)
	w.String(u.TenantID)
	w.String(u.Dataset)
	qw := bin.NewWriter(make([]byte, 0, 64))
	for _, s := range [...]string{q.QueryID, q.SQLHash, q.Dialect, q.UserID, q.TraceID, q.Status, q.EventID} {
		qw.String(s)
	}
	qw.Time(q.At.Time)
	w.Count(len(qw.Bytes()))
	w = bin.NewWriter(append(w.Bytes(), qw.Bytes()...))
	for _, list := range [2][]string{u.Upstream, u.Downstream} {
		w.Count(len(list))
		for _, d := range list {
			w.String(d)
		}
	}
	w.Count(len(u.Columns))
	for _, c := range u.Columns {
		w.String(c.From.Dataset)
		w.String(c.From.Column)
		w.String(c.To.Dataset)
		w.String(c.To.Column)
	}
	return w.Bytes(), nil
}

var errUnknownUpdate = errors.New("not a lineage node update in a form aistream writes (binary version 1 or JSON)")

// Decode implements goka.Codec: *Update, from the binary or the JSON form.
func (UpdateCodec) Decode(b []byte) (any, error) {
	if len(b) > 0 && b[0] == '{' {
		return codecs.JSON[Update]{}.Decode(b)
	}
	if len(b) == 0 || b[0] != updateFormat {
		return nil, errUnknownUpdate
	}
	r := bin.NewReader(b[1:])
	u := &Update{TenantID: r.String(), Dataset: r.String()}
	qr := bin.NewSharedReader(r.Span())
	q := &u.Query
	q.QueryID, q.SQLHash, q.Dialect, q.UserID = qr.String(), qr.String(), qr.String(), qr.String()
	q.TraceID, q.Status, q.EventID = qr.String(), qr.String(), qr.String()
	q.At = codecs.NewTime(qr.Time())
	if err := qr.Complete(); err != nil {
		return nil, fmt.Errorf("decode lineage node update: query: %w", err)
	}
	list := func() []string {
		n := r.Count(1)
		if n == 0 {
			return nil
		}
		l := make([]string, n)
		for i := range l {
			l[i] = r.String()
		}
		return l
	}
	u.Upstream, u.Downstream = list(), list()
	if n := r.Count(4); n > 0 {
		u.Columns = make([]ColumnEdge, n)
		for i := range u.Columns {
			c := &u.Columns[i]
			c.From.Dataset, c.From.Column, c.To.Dataset, c.To.Column = r.String(), r.String(), r.String(), r.String()
		}
	}
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode lineage node update: %w", err)
	}
	return u, nil
}
