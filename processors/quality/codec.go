package quality

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/statecache"
	"github.com/aistream/aistream/processors/window"
)

// StateCodec stores State in the table in a compact binary form; Decode
// returns *State. Every event decodes and re-encodes its key's state, and
// as JSON that was most of the handler's time and about 8 KB per key (12
// retained summaries with their field names); this form is several times
// smaller and faster. It is not readable with Kafka tools: the quality view
// serves it.
//
// Format: the version byte stateVersion, then the fields in declaration
// order in codecs/bin's encodings (varints, length-prefixed strings, its
// decimal floats).
// Maps are written sorted by key, so equal states encode to equal bytes.
// A value starting with '{' is the earlier JSON form and is still decoded,
// so tables written before this codec keep their state.
//
// Version 2 appends the Applied window (a count, then 8 bytes per digest,
// oldest first); version 3 the Offsets (topic, partition, offset each) and
// the Outbox (position and encoded insight each). Earlier versions are
// still decoded, with those parts empty.
//
// The group's table codec (newTableCodec) also keeps the states it last
// encoded (processors/statecache): a key's next event reads back the bytes
// its previous event wrote, and gets that very State instead of decoding
// them again. A hit is byte-for-byte the state decoding would give: the
// handlers never change a state after storing it, and what the form does
// not keep (time locations: every time is stored UTC by the handlers, Next
// of the dedupe ring) does not change what they do. The zero StateCodec
// keeps nothing.
type StateCodec struct {
	cache *statecache.Cache[State, struct{}]
}

// Bounds of the group codec's state cache: hot keys stay in it; at most
// about 8 MiB of encoded states (and their decoded forms) are held.
const (
	cacheEntries = 256
	cacheBytes   = 8 << 20
)

func newTableCodec() *StateCodec {
	return &StateCodec{cache: statecache.New[State, struct{}](cacheEntries, cacheBytes)}
}

const stateVersion = 3

// Encode implements goka.Codec.
func (c StateCodec) Encode(v any) ([]byte, error) {
	var s *State
	cache := c.cache
	switch x := v.(type) {
	case *State:
		s = x
	case State:
		s, cache = &x, nil // a copy shares the caller's maps
	default:
		return nil, fmt.Errorf("codec for *quality.State got %T", v)
	}
	if s == nil {
		return nil, errors.New("codec for *quality.State got nil")
	}
	w := stateEncoder{Writer: bin.NewWriter(make([]byte, 0, sizeHint(s))), keys: make([]string, 0, maxErrorTypes+1)}
	w.Byte(stateVersion)
	w.state(s)
	b := w.Bytes()
	if cache != nil {
		cache.PutOwned(b, s, struct{}{})
	}
	return b, nil
}

// sizeHint is about the encoded size of s, a little over: about 70 bytes
// per retained window (see BenchmarkStateMemory10kKeys), 8 per applied
// event id, at most 3 per sketch bin, the outbox's insights. Allocating it
// up front saves growing the buffer (copies of most of the state).
func sizeHint(s *State) int {
	n := 512 + 100*len(s.Recent) + 8*len(s.Applied.IDs) + 64*len(s.Alerts)
	for i := range s.Windows.Open {
		a := &s.Windows.Open[i].Agg
		n += 128 + 3*len(a.Latency.Index)
		for _, m := range a.Models {
			if m != nil {
				n += 64 + 3*len(m.Latency.Index)
			}
		}
	}
	for _, o := range s.Outbox {
		n += 32 + len(o.Value)
	}
	return n
}

// Decode implements goka.Codec.
func (c StateCodec) Decode(b []byte) (any, error) {
	if s, ok := c.cache.Take(b); ok {
		return s, nil
	}
	if len(b) > 0 && b[0] == '{' {
		return codecs.JSON[State]{}.Decode(b)
	}
	if len(b) == 0 || b[0] < 1 || b[0] > stateVersion {
		return nil, errors.New("decode quality state: unknown format")
	}
	r := stateDecoder{Reader: bin.NewReader(b[1:])}
	s := &State{}
	r.state(s)
	if b[0] >= 2 {
		r.applied(&s.Applied)
	}
	if b[0] >= 3 {
		r.delivery(s)
	}
	if err := r.Complete(); err != nil {
		return nil, fmt.Errorf("decode quality state: %w", err)
	}
	return s, nil
}

// stateEncoder writes a State; stateDecoder below reads it. keys is the
// scratch of sorted: map keys are sorted for every map of every encode.
type stateEncoder struct {
	bin.Writer
	keys []string
}

// sorted is sortedKeys into w's scratch: valid until the next call.
func sorted[V any](w *stateEncoder, m map[string]V) []string {
	w.keys = w.keys[:0]
	for k := range m {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	return w.keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (w *stateEncoder) counts(m map[string]int64) {
	w.Count(len(m))
	for _, k := range sorted(w, m) {
		w.String(k)
		w.Varint(m[k])
	}
}

func (w *stateEncoder) sketch(s *window.Sketch) {
	w.Float(s.Alpha)
	w.Uvarint(s.N)
	w.Uvarint(s.Zero)
	w.Float(s.Min)
	w.Float(s.Max)
	w.Float(s.Sum)
	w.Count(len(s.Index))
	prev := int64(0)
	for i, idx := range s.Index {
		w.Varint(int64(idx) - prev)
		w.Uvarint(s.Counts[i])
		prev = int64(idx)
	}
}

func (w *stateEncoder) agg(a *Agg) {
	w.Varint(a.Requests)
	w.Varint(a.Errors)
	w.counts(a.ErrorTypes)
	w.sketch(&a.Latency)
	w.Varint(a.TokensIn)
	w.Varint(a.TokensOut)
	w.Float(a.CostUSD)
	w.Float(a.QualitySum)
	w.Varint(a.QualityN)
	w.Varint(a.Feedback)
	w.Varint(a.Positive)
	w.counts(a.Categories)
	w.Count(len(a.Models))
	for _, k := range sorted(w, a.Models) { // the loop sorts nothing else
		m := a.Models[k]
		if m == nil {
			m = &ModelAgg{}
		}
		w.String(k)
		w.Varint(m.Requests)
		w.Varint(m.Errors)
		w.Float(m.CostUSD)
		w.sketch(&m.Latency)
	}
	w.Varint(a.LateEvents)
}

// closedBy codes for Summary.ClosedBy; closedByOther is followed by the string.
const (
	closedByOpen = iota
	closedByWatermark
	closedByIdle
	closedByOther
)

func (w *stateEncoder) optFloat(p *float64) {
	w.Bool(p != nil)
	if p != nil {
		w.Float(*p)
	}
}

func (w *stateEncoder) countList(c []Count) {
	w.Count(len(c))
	for _, x := range c {
		w.String(x.Name)
		w.Varint(x.N)
	}
}

// closed writes a retained window; its length is written as the
// difference from the window size (0, one byte).
func (w *stateEncoder) closed(c *Closed, size time.Duration) {
	w.Time(c.Start)
	w.Varint(int64(c.End.Sub(c.Start) - size))
	switch c.ClosedBy {
	case "":
		w.Uvarint(closedByOpen)
	case "watermark":
		w.Uvarint(closedByWatermark)
	case "idle":
		w.Uvarint(closedByIdle)
	default:
		w.Uvarint(closedByOther)
		w.String(c.ClosedBy)
	}
	w.Varint(c.Requests)
	w.Varint(c.Errors)
	w.Float(c.ErrorRate)
	w.Float(c.LatencyP50)
	w.Float(c.LatencyP95)
	w.Float(c.LatencyP99)
	w.Varint(c.TokensIn)
	w.Varint(c.TokensOut)
	w.Float(c.CostUSD)
	w.Float(c.CostPerRequest)
	w.Varint(c.Feedback)
	w.Varint(c.Positive)
	w.optFloat(c.SatisfactionRate)
	w.optFloat(c.QualityMean)
	w.Varint(c.LateEvents)
	w.countList(c.ErrorTypes)
	w.countList(c.Categories)
	w.Count(len(c.Models))
	for _, m := range c.Models {
		w.String(m.Name)
		w.Varint(m.Requests)
		w.Float(m.ErrorRate)
		w.Float(m.LatencyP95)
		w.Float(m.CostUSD)
		w.Float(m.CostPerRequest)
	}
}

// fitRecent keeps the newest retained windows whose encoding fits in
// maxRecentBytes.
func fitRecent(r []Closed, size time.Duration) []Closed {
	var w stateEncoder
	for i := range r {
		if w.closed(&r[i], size); len(w.Bytes()) > maxRecentBytes {
			return r[:i]
		}
	}
	return r
}

func (w *stateEncoder) ewma(e EWMA) {
	w.Float(e.Value)
	w.Varint(int64(e.Windows))
}

func (w *stateEncoder) state(s *State) {
	w.String(s.Tenant)
	w.String(s.Agent)
	w.Varint(int64(s.Spec.Size))
	w.Varint(int64(s.Spec.Grace))
	w.Time(s.Windows.Watermark)
	w.Time(s.Windows.ClosedThrough)
	w.Count(len(s.Windows.Open))
	for i := range s.Windows.Open {
		w.Time(s.Windows.Open[i].Start)
		w.agg(&s.Windows.Open[i].Agg)
	}
	w.Count(len(s.Recent))
	for i := range s.Recent {
		w.closed(&s.Recent[i], s.Spec.Size)
	}
	w.ewma(s.Base.SatisfactionRate)
	w.ewma(s.Base.LatencyP95)
	w.ewma(s.Base.ErrorRate)
	w.ewma(s.Base.CostPerRequest)
	w.Count(len(s.Alerts))
	for _, k := range sorted(w, s.Alerts) {
		a := s.Alerts[k]
		if a == nil {
			a = &Alert{}
		}
		w.String(k)
		w.String(a.Severity)
		w.String(a.InsightID)
		w.Time(a.Since)
		w.Float(a.Observed)
		w.Float(a.Baseline)
		w.Float(a.Threshold)
	}
	w.Count(len(s.Seen))
	for _, k := range sorted(w, s.Seen) {
		w.String(k)
		w.String(s.Seen[k])
	}
	w.Varint(s.Late)
	w.Bool(s.Quiet != nil)
	if s.Quiet != nil {
		w.Time(*s.Quiet)
	}
	w.applied(&s.Applied)
	s.Offsets.WriteBinary(&w.Writer)
	w.Count(len(s.Outbox))
	for _, o := range s.Outbox {
		o.At.WriteBinary(&w.Writer)
		// bin's String of the value, without a string copy of it.
		w.Count(len(o.Value))
		w.Writer = bin.NewWriter(append(w.Bytes(), o.Value...))
	}
}

// applied writes the dedupe window oldest first: its count, then each
// digest as bin's U64 (8 bytes, little-endian), put straight into the
// buffer; a call per digest was a third of encoding a hot key's state.
func (w *stateEncoder) applied(a *Applied) {
	w.Count(len(a.IDs))
	b := slices.Grow(w.Bytes(), 8*len(a.IDs))
	at := len(b)
	b = b[:at+8*len(a.IDs)]
	for _, part := range [][]uint64{a.IDs[a.Next:], a.IDs[:a.Next]} {
		for _, d := range part {
			binary.LittleEndian.PutUint64(b[at:], d)
			at += 8
		}
	}
	w.Writer = bin.NewWriter(b)
}

// stateDecoder reads what stateEncoder wrote. Its strings are copies (a
// bin.NewReader): substrings of one shared copy would keep the whole value,
// mostly its dedupe window, alive with the decoded state.
type stateDecoder struct {
	bin.Reader
	names []string // breakdown names decoded so far, see name
}

// name is String for a breakdown's model, error type or category: the same
// few names recur in every window, so each is copied once per decode.
func (r *stateDecoder) name() string {
	b := r.Span()
	for _, s := range r.names {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	if len(r.names) < 64 {
		r.names = append(r.names, s)
	}
	return s
}

func (r *stateDecoder) counts() map[string]int64 {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	m := make(map[string]int64, n)
	for range n {
		k := r.name()
		m[k] = r.Varint()
	}
	return m
}

func (r *stateDecoder) sketch(s *window.Sketch) {
	s.Alpha = r.Float()
	s.N = r.Uvarint()
	s.Zero = r.Uvarint()
	s.Min = r.Float()
	s.Max = r.Float()
	s.Sum = r.Float()
	n := r.Count(1)
	if n == 0 {
		return
	}
	s.Index, s.Counts = make([]int32, n), make([]uint64, n)
	prev := int64(0)
	for i := range n {
		prev += r.Varint()
		s.Index[i] = int32(prev)
		s.Counts[i] = r.Uvarint()
	}
}

func (r *stateDecoder) agg(a *Agg) {
	a.Requests = r.Varint()
	a.Errors = r.Varint()
	a.ErrorTypes = r.counts()
	r.sketch(&a.Latency)
	a.TokensIn = r.Varint()
	a.TokensOut = r.Varint()
	a.CostUSD = r.Float()
	a.QualitySum = r.Float()
	a.QualityN = r.Varint()
	a.Feedback = r.Varint()
	a.Positive = r.Varint()
	a.Categories = r.counts()
	if n := r.Count(1); n > 0 {
		a.Models = make(map[string]*ModelAgg, n)
		for range n {
			k := r.name()
			m := &ModelAgg{Requests: r.Varint(), Errors: r.Varint(), CostUSD: r.Float()}
			r.sketch(&m.Latency)
			a.Models[k] = m
		}
	}
	a.LateEvents = r.Varint()
}

// recent decodes the retained windows. Their breakdowns and optional
// figures share one backing array each, so decoding takes a few
// allocations instead of several per window.
func (r *stateDecoder) recent(n int, size time.Duration) []Closed {
	out := make([]Closed, n)
	var (
		counts []Count
		models []NamedModel
		floats = make([]float64, 0, 2*n)
	)
	opt := func() *float64 {
		if !r.Bool() {
			return nil
		}
		floats = append(floats, r.Float())
		return &floats[len(floats)-1]
	}
	countList := func() []Count {
		k := r.Count(1)
		if k == 0 {
			return nil
		}
		if cap(counts)-len(counts) < k {
			counts = make([]Count, 0, max(k, 16))
		}
		for range k {
			counts = append(counts, Count{Name: r.name(), N: r.Varint()})
		}
		return counts[len(counts)-k : len(counts) : len(counts)]
	}
	for i := range out {
		c := &out[i]
		c.Start = r.Time()
		c.End = c.Start.Add(size + time.Duration(r.Varint()))
		switch r.Uvarint() {
		case closedByOpen:
		case closedByWatermark:
			c.ClosedBy = "watermark"
		case closedByIdle:
			c.ClosedBy = "idle"
		default:
			c.ClosedBy = r.String()
		}
		c.Requests = r.Varint()
		c.Errors = r.Varint()
		c.ErrorRate = r.Float()
		c.LatencyP50 = r.Float()
		c.LatencyP95 = r.Float()
		c.LatencyP99 = r.Float()
		c.TokensIn = r.Varint()
		c.TokensOut = r.Varint()
		c.CostUSD = r.Float()
		c.CostPerRequest = r.Float()
		c.Feedback = r.Varint()
		c.Positive = r.Varint()
		c.SatisfactionRate = opt()
		c.QualityMean = opt()
		c.LateEvents = r.Varint()
		c.ErrorTypes = countList()
		c.Categories = countList()
		if k := r.Count(1); k > 0 {
			if cap(models)-len(models) < k {
				models = make([]NamedModel, 0, max(k*(n-i), maxModels+1))
			}
			for range k {
				models = append(models, NamedModel{Name: r.name(), ModelSummary: ModelSummary{
					Requests: r.Varint(), ErrorRate: r.Float(), LatencyP95: r.Float(), CostUSD: r.Float(), CostPerRequest: r.Float()}})
			}
			c.Models = models[len(models)-k : len(models) : len(models)]
		}
	}
	return out
}

func (r *stateDecoder) ewma(e *EWMA) {
	e.Value = r.Float()
	e.Windows = int(r.Varint())
}

func (r *stateDecoder) state(s *State) {
	s.Tenant = r.String()
	s.Agent = r.String()
	s.Spec.Size = time.Duration(r.Varint())
	s.Spec.Grace = time.Duration(r.Varint())
	s.Windows.Watermark = r.Time()
	s.Windows.ClosedThrough = r.Time()
	if n := r.Count(1); n > 0 {
		s.Windows.Open = make([]window.Pane[Agg], n)
		for i := range s.Windows.Open {
			s.Windows.Open[i].Start = r.Time()
			r.agg(&s.Windows.Open[i].Agg)
		}
	}
	if n := r.Count(1); n > 0 {
		s.Recent = r.recent(n, s.Spec.Size)
	}
	r.ewma(&s.Base.SatisfactionRate)
	r.ewma(&s.Base.LatencyP95)
	r.ewma(&s.Base.ErrorRate)
	r.ewma(&s.Base.CostPerRequest)
	if n := r.Count(1); n > 0 {
		s.Alerts = make(map[string]*Alert, n)
		for range n {
			k := r.String()
			s.Alerts[k] = &Alert{Severity: r.String(), InsightID: r.String(), Since: r.Time(), Observed: r.Float(), Baseline: r.Float(), Threshold: r.Float()}
		}
	}
	if n := r.Count(1); n > 0 {
		s.Seen = make(map[string]string, n)
		for range n {
			k := r.String()
			s.Seen[k] = r.String()
		}
	}
	s.Late = r.Varint()
	if r.Bool() {
		q := r.Time()
		s.Quiet = &q
	}
}

// delivery reads the Offsets and the Outbox.
func (r *stateDecoder) delivery(s *State) {
	s.Offsets = stream.ReadOffsets(&r.Reader)
	if n := r.Count(4); n > 0 {
		if n > maxOutbox {
			r.Fail(errors.New("outbox larger than its bound"))
			return
		}
		s.Outbox = make([]Sent, n)
		for i := range s.Outbox {
			s.Outbox[i] = Sent{At: stream.ReadOffset(&r.Reader), Value: []byte(r.String())}
		}
	}
}

// applied reads the window oldest first, so Next is 0.
func (r *stateDecoder) applied(a *Applied) {
	n := r.Count(8)
	if n == 0 {
		return
	}
	if n > maxApplied {
		r.Fail(errors.New("dedupe window larger than its bound"))
		return
	}
	a.IDs = make([]uint64, n)
	for i := range a.IDs {
		a.IDs[i] = r.U64()
	}
}
