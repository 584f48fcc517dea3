package contextgraph

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
)

// Binary forms of the trace index's values and of the records of its two
// internal topics (the index stream the context-graph group writes and the
// index group's retention loop), in codecs/bin's encodings, each behind a
// version byte. The trace-index group decoded and encoded all of them as
// JSON (encoding/json's reflection, the time type's hooks), which was most
// of its CPU. A value starting with '{' is the earlier JSON form and still
// decodes, so tables and topics written before these codecs keep working
// (an earlier version's process reads only JSON: upgrade, do not downgrade).
// Deterministic: equal values encode to equal bytes.
const (
	summaryVersion   = 1 // a TraceSummary in the index table
	metaVersion      = 2 // an indexMeta (retention key) in the index table
	updateVersion    = 1 // an IndexUpdate on the index stream
	retentionVersion = 1 // a retentionMsg on the index group's loop
)

// errUnknownForm is a value in none of the forms written.
var errUnknownForm = errors.New("unknown format")

// isJSON reports whether b is the earlier JSON form.
func isJSON(b []byte) bool { return len(b) > 0 && b[0] == '{' }

func writeSummary(w *bin.Writer, s *TraceSummary) {
	w.String(s.TenantID)
	w.String(s.TraceID)
	w.Time(s.Started.Time)
	w.Count(len(s.Agents))
	for _, a := range s.Agents {
		w.String(a)
	}
	w.String(s.Status)
}

func readSummary(r *bin.Reader) *TraceSummary {
	s := &TraceSummary{TenantID: r.String(), TraceID: r.String(), Started: codecs.NewTime(r.Time())}
	s.Agents = make([]string, r.Count(1))
	for i := range s.Agents {
		s.Agents[i] = r.String()
	}
	s.Status = r.String()
	return s
}

// Encode implements goka.Codec.
func (indexCodec) Encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case *indexMeta:
		x.M = 1
		w := bin.NewWriter(make([]byte, 0, 32+len(x.Keys)*64))
		w.Byte(metaVersion)
		w.Time(x.Newest)
		w.Time(x.Swept)
		w.Count(len(x.Keys))
		for _, k := range x.Keys {
			w.String(k)
		}
		w.Varint(int64(x.Dropped))
		return w.Bytes(), nil
	case *TraceSummary:
		w := bin.NewWriter(make([]byte, 0, 96))
		w.Byte(summaryVersion)
		writeSummary(&w, x)
		return w.Bytes(), nil
	}
	return nil, fmt.Errorf("trace index: cannot encode %T", v)
}

// Decode implements goka.Codec: *TraceSummary or *indexMeta.
func (indexCodec) Decode(b []byte) (any, error) {
	if isJSON(b) {
		return decodeIndexJSON(b)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("decode trace index value: %w", errUnknownForm)
	}
	var v any
	r := bin.NewSharedReader(b[1:])
	switch b[0] {
	case summaryVersion:
		v = readSummary(&r)
	case metaVersion:
		m := &indexMeta{M: 1, Newest: r.Time(), Swept: r.Time()}
		if n := r.Count(1); n > 0 {
			m.Keys = make([]string, n)
			for i := range m.Keys {
				m.Keys[i] = r.String()
			}
		}
		m.Dropped = int(r.Varint())
		v = m
	default:
		return nil, fmt.Errorf("decode trace index value: %w", errUnknownForm)
	}
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode trace index value: %w", err)
	}
	return v, nil
}

// decodeIndexJSON decodes the earlier JSON form of an index value.
func decodeIndexJSON(b []byte) (any, error) {
	if len(b) >= len(metaMark) && string(b[:len(metaMark)]) == string(metaMark) {
		m := new(indexMeta)
		if err := json.Unmarshal(b, m); err != nil {
			return nil, err
		}
		return m, nil
	}
	return codecs.JSON[TraceSummary]{}.Decode(b)
}

// encodeUpdate is an index stream record.
func encodeUpdate(u *IndexUpdate) []byte {
	w := bin.NewWriter(make([]byte, 0, 112))
	w.Byte(updateVersion)
	w.Bool(u.Delete)
	w.Bool(u.Summary != nil)
	if u.Summary != nil {
		writeSummary(&w, u.Summary)
	}
	return w.Bytes()
}

// decodeUpdate decodes an index stream record, binary or JSON.
func decodeUpdate(b []byte) (*IndexUpdate, error) {
	if isJSON(b) {
		v, err := codecs.JSON[IndexUpdate]{}.Decode(b)
		if err != nil {
			return nil, err
		}
		return v.(*IndexUpdate), nil
	}
	if len(b) == 0 || b[0] != updateVersion {
		return nil, errUnknownForm
	}
	r := bin.NewSharedReader(b[1:])
	u := &IndexUpdate{Delete: r.Bool()}
	if r.Bool() {
		u.Summary = readSummary(&r)
	}
	if err := r.Complete(); err != nil {
		return nil, err
	}
	return u, nil
}

// retentionCodec is the codec of the index group's loop (retentionMsg).
type retentionCodec struct{}

// Encode implements goka.Codec.
func (retentionCodec) Encode(v any) ([]byte, error) {
	m, ok := v.(*retentionMsg)
	if !ok || m == nil {
		return nil, fmt.Errorf("trace index loop: cannot encode %T", v)
	}
	w := bin.NewWriter(make([]byte, 0, 16+len(m.Key)+len(m.Tenant)))
	w.Byte(retentionVersion)
	w.String(m.Key)
	w.String(m.Tenant)
	w.Time(m.Start)
	w.Bool(m.Add)
	w.Bool(m.Sweep)
	w.Bool(m.Delete)
	return w.Bytes(), nil
}

// Decode implements goka.Codec: *retentionMsg, from the binary or JSON form.
func (retentionCodec) Decode(b []byte) (any, error) {
	if isJSON(b) {
		return codecs.JSON[retentionMsg]{}.Decode(b)
	}
	if len(b) == 0 || b[0] != retentionVersion {
		return nil, fmt.Errorf("decode trace index loop record: %w", errUnknownForm)
	}
	r := bin.NewReader(b[1:])
	m := &retentionMsg{Key: r.String(), Tenant: r.String(), Start: r.Time()}
	m.Add, m.Sweep, m.Delete = r.Bool(), r.Bool(), r.Bool()
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode trace index loop record: %w", err)
	}
	return m, nil
}
