package quality

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aistream/aistream/codecs"
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
// order as varints, length-prefixed strings and floats (see enc.float).
// Maps are written sorted by key, so equal states encode to equal bytes.
// A value starting with '{' is the earlier JSON form and is still decoded,
// so tables written before this codec keep their state.
//
// Version 2 appends the Applied window (a count, then 8 bytes per digest,
// oldest first); a version 1 value is still decoded, with an empty window.
type StateCodec struct{}

const stateVersion = 2

// Encode implements goka.Codec.
func (StateCodec) Encode(v any) ([]byte, error) {
	var s *State
	switch x := v.(type) {
	case *State:
		s = x
	case State:
		s = &x
	default:
		return nil, fmt.Errorf("codec for *quality.State got %T", v)
	}
	if s == nil {
		return nil, errors.New("codec for *quality.State got nil")
	}
	// About 70 bytes per retained window (see BenchmarkStateMemory10kKeys)
	// and 8 per applied event id.
	e := enc{b: make([]byte, 0, 512+100*len(s.Recent)+8*len(s.Applied.IDs))}
	e.b = append(e.b, stateVersion)
	e.state(s)
	return e.b, nil
}

// Decode implements goka.Codec.
func (StateCodec) Decode(b []byte) (any, error) {
	if len(b) > 0 && b[0] == '{' {
		return codecs.JSON[State]{}.Decode(b)
	}
	if len(b) == 0 || b[0] < 1 || b[0] > stateVersion {
		return nil, errors.New("decode quality state: unknown format")
	}
	d := dec{b: b[1:]}
	s := &State{}
	d.state(s)
	if b[0] >= 2 {
		d.applied(&s.Applied)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode quality state: %w", d.err)
	}
	return s, nil
}

type enc struct{ b []byte }

func (e *enc) uint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *enc) int(x int64)   { e.b = binary.AppendVarint(e.b, x) }

func (e *enc) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// pow10 are the decimal scales of a float: the state's floats are mostly
// rounded to 6 decimals (ratios, USD), 3 (latencies in ms) or whole.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// float writes x as a decimal k/10^d when that division gives back exactly
// x's bits: the uvarint of zigzag(k)<<4 | d<<1 (low bit 0), with k's
// trailing zeros dropped. Else it writes a 1 and the 8 IEEE-754 bytes.
// Lossless either way. Dropping zeros keeps the bits: k/10^d and
// (k/10)/10^(d-1) are the same real, and IEEE division rounds it alike.
func (e *enc) float(x float64) {
	if k := math.Round(x * 1e6); math.Abs(k) < 1<<52 {
		if n := int64(k); math.Float64bits(float64(n)/1e6) == math.Float64bits(x) {
			d := uint64(6)
			for d > 0 && n%10 == 0 {
				n /= 10
				d--
			}
			e.uint(uint64(n<<1^n>>63)<<4 | d<<1)
			return
		}
	}
	e.b = append(e.b, 1)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
}

// time writes t as Unix seconds and nanoseconds; every time in State is UTC.
func (e *enc) time(t time.Time) {
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (e *enc) counts(m map[string]int64) {
	e.uint(uint64(len(m)))
	for _, k := range sortedKeys(m) {
		e.str(k)
		e.int(m[k])
	}
}

func (e *enc) sketch(s *window.Sketch) {
	e.float(s.Alpha)
	e.uint(s.N)
	e.uint(s.Zero)
	e.float(s.Min)
	e.float(s.Max)
	e.float(s.Sum)
	e.uint(uint64(len(s.Index)))
	prev := int64(0)
	for i, idx := range s.Index {
		e.int(int64(idx) - prev)
		e.uint(s.Counts[i])
		prev = int64(idx)
	}
}

func (e *enc) agg(a *Agg) {
	e.int(a.Requests)
	e.int(a.Errors)
	e.counts(a.ErrorTypes)
	e.sketch(&a.Latency)
	e.int(a.TokensIn)
	e.int(a.TokensOut)
	e.float(a.CostUSD)
	e.float(a.QualitySum)
	e.int(a.QualityN)
	e.int(a.Feedback)
	e.int(a.Positive)
	e.counts(a.Categories)
	e.uint(uint64(len(a.Models)))
	for _, k := range sortedKeys(a.Models) {
		m := a.Models[k]
		if m == nil {
			m = &ModelAgg{}
		}
		e.str(k)
		e.int(m.Requests)
		e.int(m.Errors)
		e.float(m.CostUSD)
		e.sketch(&m.Latency)
	}
	e.int(a.LateEvents)
}

// closedBy codes for Summary.ClosedBy; closedByOther is followed by the string.
const (
	closedByOpen = iota
	closedByWatermark
	closedByIdle
	closedByOther
)

func (e *enc) optFloat(p *float64) {
	e.bool(p != nil)
	if p != nil {
		e.float(*p)
	}
}

func (e *enc) countList(c []Count) {
	e.uint(uint64(len(c)))
	for _, x := range c {
		e.str(x.Name)
		e.int(x.N)
	}
}

// closed writes a retained window; its length is written as the difference
// from the window size (0, one byte).
func (e *enc) closed(c *Closed, size time.Duration) {
	e.time(c.Start)
	e.int(int64(c.End.Sub(c.Start) - size))
	switch c.ClosedBy {
	case "":
		e.uint(closedByOpen)
	case "watermark":
		e.uint(closedByWatermark)
	case "idle":
		e.uint(closedByIdle)
	default:
		e.uint(closedByOther)
		e.str(c.ClosedBy)
	}
	e.int(c.Requests)
	e.int(c.Errors)
	e.float(c.ErrorRate)
	e.float(c.LatencyP50)
	e.float(c.LatencyP95)
	e.float(c.LatencyP99)
	e.int(c.TokensIn)
	e.int(c.TokensOut)
	e.float(c.CostUSD)
	e.float(c.CostPerRequest)
	e.int(c.Feedback)
	e.int(c.Positive)
	e.optFloat(c.SatisfactionRate)
	e.optFloat(c.QualityMean)
	e.int(c.LateEvents)
	e.countList(c.ErrorTypes)
	e.countList(c.Categories)
	e.uint(uint64(len(c.Models)))
	for _, m := range c.Models {
		e.str(m.Name)
		e.int(m.Requests)
		e.float(m.ErrorRate)
		e.float(m.LatencyP95)
		e.float(m.CostUSD)
		e.float(m.CostPerRequest)
	}
}

func (e *enc) ewma(w EWMA) {
	e.float(w.Value)
	e.int(int64(w.Windows))
}

func (e *enc) state(s *State) {
	e.str(s.Tenant)
	e.str(s.Agent)
	e.int(int64(s.Spec.Size))
	e.int(int64(s.Spec.Grace))
	e.time(s.Windows.Watermark)
	e.time(s.Windows.ClosedThrough)
	e.uint(uint64(len(s.Windows.Open)))
	for i := range s.Windows.Open {
		e.time(s.Windows.Open[i].Start)
		e.agg(&s.Windows.Open[i].Agg)
	}
	e.uint(uint64(len(s.Recent)))
	for i := range s.Recent {
		e.closed(&s.Recent[i], s.Spec.Size)
	}
	e.ewma(s.Base.SatisfactionRate)
	e.ewma(s.Base.LatencyP95)
	e.ewma(s.Base.ErrorRate)
	e.ewma(s.Base.CostPerRequest)
	e.uint(uint64(len(s.Alerts)))
	for _, k := range sortedKeys(s.Alerts) {
		a := s.Alerts[k]
		if a == nil {
			a = &Alert{}
		}
		e.str(k)
		e.str(a.Severity)
		e.str(a.InsightID)
		e.time(a.Since)
		e.float(a.Observed)
		e.float(a.Baseline)
		e.float(a.Threshold)
	}
	e.uint(uint64(len(s.Seen)))
	for _, k := range sortedKeys(s.Seen) {
		e.str(k)
		e.str(s.Seen[k])
	}
	e.int(s.Late)
	e.bool(s.Quiet != nil)
	if s.Quiet != nil {
		e.time(*s.Quiet)
	}
	e.uint(uint64(len(s.Applied.IDs)))
	s.Applied.oldestFirst(func(d uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, d) })
}

// dec reads what enc wrote; the first error sticks and later reads return
// zero values, so callers check err once at the end.
type dec struct {
	b     []byte
	err   error
	names []string // breakdown names decoded so far, see name
}

var errCorrupt = errors.New("truncated or corrupt")

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

// uint reads a uvarint; the one-byte case (most counts and lengths) is
// inlined into the callers.
func (d *dec) uint() uint64 {
	if len(d.b) > 0 && d.b[0] < 0x80 {
		x := uint64(d.b[0])
		d.b = d.b[1:]
		return x
	}
	return d.uvarint()
}

func (d *dec) uvarint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return x
}

// int reads a varint (zigzag, as binary.AppendVarint writes it).
func (d *dec) int() int64 {
	u := d.uint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length; each element takes at least one byte, so a length
// beyond the remaining bytes is corrupt (and would over-allocate).
func (d *dec) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail(errCorrupt)
		return 0
	}
	return int(n)
}

func (d *dec) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// name is str for a breakdown's model, error type or category: the same
// few names recur in every window, so each is allocated once per decode.
func (d *dec) name() string {
	n := d.count()
	b := d.b[:n]
	d.b = d.b[n:]
	for _, s := range d.names {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	if len(d.names) < 64 {
		d.names = append(d.names, s)
	}
	return s
}

func (d *dec) bool() bool { return d.uint() != 0 }

func (d *dec) float() float64 {
	x := d.uint()
	if x&1 == 0 {
		scale := (x >> 1) & 7
		if scale >= uint64(len(pow10)) {
			d.fail(errCorrupt)
			return 0
		}
		u := x >> 4
		return float64(int64(u>>1)^-int64(u&1)) / pow10[scale]
	}
	if x != 1 || len(d.b) < 8 {
		d.fail(errCorrupt)
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

func (d *dec) time() time.Time {
	sec := d.int()
	return time.Unix(sec, int64(d.uint())).UTC()
}

func (d *dec) counts() map[string]int64 {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]int64, n)
	for range n {
		k := d.name()
		m[k] = d.int()
	}
	return m
}

func (d *dec) sketch(s *window.Sketch) {
	s.Alpha = d.float()
	s.N = d.uint()
	s.Zero = d.uint()
	s.Min = d.float()
	s.Max = d.float()
	s.Sum = d.float()
	n := d.count()
	if n == 0 {
		return
	}
	s.Index, s.Counts = make([]int32, n), make([]uint64, n)
	prev := int64(0)
	for i := range n {
		prev += d.int()
		s.Index[i] = int32(prev)
		s.Counts[i] = d.uint()
	}
}

func (d *dec) agg(a *Agg) {
	a.Requests = d.int()
	a.Errors = d.int()
	a.ErrorTypes = d.counts()
	d.sketch(&a.Latency)
	a.TokensIn = d.int()
	a.TokensOut = d.int()
	a.CostUSD = d.float()
	a.QualitySum = d.float()
	a.QualityN = d.int()
	a.Feedback = d.int()
	a.Positive = d.int()
	a.Categories = d.counts()
	if n := d.count(); n > 0 {
		a.Models = make(map[string]*ModelAgg, n)
		for range n {
			k := d.name()
			m := &ModelAgg{Requests: d.int(), Errors: d.int(), CostUSD: d.float()}
			d.sketch(&m.Latency)
			a.Models[k] = m
		}
	}
	a.LateEvents = d.int()
}

func (d *dec) optFloat() (float64, bool) {
	if !d.bool() {
		return 0, false
	}
	return d.float(), true
}

// recent decodes the retained windows. Their breakdowns and optional
// figures share one backing array each, so decoding takes a few
// allocations instead of several per window.
func (d *dec) recent(n int, size time.Duration) []Closed {
	out := make([]Closed, n)
	var (
		counts []Count
		models []NamedModel
		floats = make([]float64, 0, 2*n)
	)
	opt := func() *float64 {
		x, ok := d.optFloat()
		if !ok {
			return nil
		}
		floats = append(floats, x)
		return &floats[len(floats)-1]
	}
	countList := func() []Count {
		k := d.count()
		if k == 0 {
			return nil
		}
		if cap(counts)-len(counts) < k {
			counts = make([]Count, 0, max(k, 16))
		}
		for range k {
			counts = append(counts, Count{Name: d.name(), N: d.int()})
		}
		return counts[len(counts)-k : len(counts) : len(counts)]
	}
	for i := range out {
		c := &out[i]
		c.Start = d.time()
		c.End = c.Start.Add(size + time.Duration(d.int()))
		switch d.uint() {
		case closedByOpen:
		case closedByWatermark:
			c.ClosedBy = "watermark"
		case closedByIdle:
			c.ClosedBy = "idle"
		default:
			c.ClosedBy = d.str()
		}
		c.Requests = d.int()
		c.Errors = d.int()
		c.ErrorRate = d.float()
		c.LatencyP50 = d.float()
		c.LatencyP95 = d.float()
		c.LatencyP99 = d.float()
		c.TokensIn = d.int()
		c.TokensOut = d.int()
		c.CostUSD = d.float()
		c.CostPerRequest = d.float()
		c.Feedback = d.int()
		c.Positive = d.int()
		c.SatisfactionRate = opt()
		c.QualityMean = opt()
		c.LateEvents = d.int()
		c.ErrorTypes = countList()
		c.Categories = countList()
		if k := d.count(); k > 0 {
			if cap(models)-len(models) < k {
				models = make([]NamedModel, 0, max(k*(n-i), maxModels+1))
			}
			for range k {
				models = append(models, NamedModel{Name: d.name(), ModelSummary: ModelSummary{
					Requests: d.int(), ErrorRate: d.float(), LatencyP95: d.float(), CostUSD: d.float(), CostPerRequest: d.float()}})
			}
			c.Models = models[len(models)-k : len(models) : len(models)]
		}
	}
	return out
}

func (d *dec) ewma(w *EWMA) {
	w.Value = d.float()
	w.Windows = int(d.int())
}

func (d *dec) state(s *State) {
	s.Tenant = d.str()
	s.Agent = d.str()
	s.Spec.Size = time.Duration(d.int())
	s.Spec.Grace = time.Duration(d.int())
	s.Windows.Watermark = d.time()
	s.Windows.ClosedThrough = d.time()
	if n := d.count(); n > 0 {
		s.Windows.Open = make([]window.Pane[Agg], n)
		for i := range s.Windows.Open {
			s.Windows.Open[i].Start = d.time()
			d.agg(&s.Windows.Open[i].Agg)
		}
	}
	if n := d.count(); n > 0 {
		s.Recent = d.recent(n, s.Spec.Size)
	}
	d.ewma(&s.Base.SatisfactionRate)
	d.ewma(&s.Base.LatencyP95)
	d.ewma(&s.Base.ErrorRate)
	d.ewma(&s.Base.CostPerRequest)
	if n := d.count(); n > 0 {
		s.Alerts = make(map[string]*Alert, n)
		for range n {
			k := d.str()
			s.Alerts[k] = &Alert{Severity: d.str(), InsightID: d.str(), Since: d.time(), Observed: d.float(), Baseline: d.float(), Threshold: d.float()}
		}
	}
	if n := d.count(); n > 0 {
		s.Seen = make(map[string]string, n)
		for range n {
			k := d.str()
			s.Seen[k] = d.str()
		}
	}
	s.Late = d.int()
	if d.bool() {
		q := d.time()
		s.Quiet = &q
	}
}

// applied reads the window oldest first, so Next is 0.
func (d *dec) applied(a *Applied) {
	n := d.count()
	if n == 0 {
		return
	}
	if n > maxApplied || len(d.b) < 8*n {
		d.fail(errCorrupt)
		return
	}
	a.IDs = make([]uint64, n)
	for i := range a.IDs {
		a.IDs[i] = binary.LittleEndian.Uint64(d.b[8*i:])
	}
	d.b = d.b[8*n:]
}
