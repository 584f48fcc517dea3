package audit

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
	"github.com/aistream/aistream/internal/stream"
)

// Codec stores a Bucket in the table in a compact binary form; Decode
// returns *Bucket. Every event decodes and re-encodes its bucket (up to
// MaxPerKey events), and as JSON that was most of the group's cost: a full
// bucket took about 1,500 allocations a rewrite.
//
// Format (version 1): the version byte, then in codecs/bin's encodings the
// events (a count, then each event's id, time, source, actor, action,
// resource, outcome, and details as a count and key/value pairs sorted by
// key; source, actor, action and outcome as bin Repeats of the previous
// event's, as a bucket repeats them), Dropped, the tenants (a count and
// each) and the offsets (a count, then topic, partition and offset each).
// A value starting with '{' is the earlier JSON form and is still decoded.
type Codec struct{}

const bucketVersion = 1

// Repeat slots of the per-event fields that recur from event to event.
const (
	rSource = iota
	rActor
	rAction
	rOutcome
	nRepeats
)

// Encode implements goka.Codec.
func (Codec) Encode(v any) ([]byte, error) {
	b, ok := v.(*Bucket)
	if !ok || b == nil {
		return nil, fmt.Errorf("audit bucket codec got %T", v)
	}
	size := 64
	for i := range b.Events {
		e := &b.Events[i]
		size += 32 + len(e.EventID) + len(e.Resource) + len(e.Actor) + len(e.Action)
		for k, v := range e.Details {
			size += 4 + len(k) + len(v)
		}
	}
	w := bin.NewWriter(make([]byte, 0, size))
	var (
		prev [nRepeats]string
		keys []string // scratch of the sorted details keys
	)
	w.Byte(bucketVersion)
	w.Count(len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		w.String(e.EventID)
		w.Time(e.Time)
		w.Repeat(&prev[rSource], e.Source)
		w.Repeat(&prev[rActor], e.Actor)
		w.Repeat(&prev[rAction], e.Action)
		w.String(e.Resource)
		w.Repeat(&prev[rOutcome], e.Outcome)
		w.Count(len(e.Details))
		keys = keys[:0]
		for k := range e.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			w.String(k)
			w.String(e.Details[k])
		}
	}
	w.Varint(int64(b.Dropped))
	w.Count(len(b.Tenants))
	for _, t := range b.Tenants {
		w.String(t)
	}
	b.Offsets.WriteBinary(&w)
	return w.Bytes(), nil
}

// Decode implements goka.Codec.
func (Codec) Decode(raw []byte) (any, error) {
	if len(raw) > 0 && raw[0] == '{' {
		return codecs.JSON[Bucket]{}.Decode(raw)
	}
	if len(raw) == 0 || raw[0] != bucketVersion {
		return nil, errors.New("decode audit bucket: not a version 1 bucket nor the JSON form")
	}
	// The strings share one copy of the value: a bucket is decoded whole
	// and dropped with its handler call or query.
	r := bin.NewSharedReader(raw[1:])
	var prev [nRepeats]string
	b := &Bucket{}
	// An event takes at least 10 bytes: 2 empty strings, a time of 2, 4
	// repeats and a details count.
	if n := r.Count(10); n > 0 {
		b.Events = make([]Entry, n)
		for i := range b.Events {
			e := &b.Events[i]
			e.EventID = r.String()
			e.Time = r.Time()
			e.Source = r.Repeat(&prev[rSource])
			e.Actor = r.Repeat(&prev[rActor])
			e.Action = r.Repeat(&prev[rAction])
			e.Resource = r.String()
			e.Outcome = r.Repeat(&prev[rOutcome])
			if d := r.Count(2); d > 0 {
				e.Details = make(map[string]string, d)
				for range d {
					k := r.String()
					e.Details[k] = r.String()
				}
			}
		}
	}
	b.Dropped = int(r.Varint())
	if n := r.Count(1); n > 0 {
		b.Tenants = make([]string, n)
		for i := range b.Tenants {
			b.Tenants[i] = r.String()
		}
	}
	b.Offsets = stream.ReadOffsets(&r)
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode audit bucket: %w", err)
	}
	return b, nil
}
