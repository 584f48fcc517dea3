package window

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// DefaultAccuracy is the relative accuracy of NewSketch's quantiles (1%).
const DefaultAccuracy = 0.01

// MaxBins bounds a sketch's bins. With 1% accuracy, 2048 bins span values
// over a ratio of about e^41 (1 µs to 10^11 s), so real latencies never
// reach the bound; if they do, the lowest bins are folded into their
// neighbour and only the lowest quantiles lose their guarantee.
const MaxBins = 2048

// minIndexable is the smallest value with its own bin; smaller values
// (latency 0) are counted in Zero and reported as 0.
const minIndexable = 1e-9

// Sketch is a mergeable quantile sketch with relative-error guarantees, in
// the manner of DDSketch (Masson, Rim, Lee; VLDB 2019): a value x > 0 falls
// in bin i = ceil(log_γ x) with γ = (1+α)/(1-α), and every value in bin i is
// reported as 2γ^i/(γ+1), which is within a relative error α of it.
//
// Guarantee: for 0 <= q <= 1, Quantile(q) is within α·v of v, the exact
// nearest-rank q-quantile of the n values added: the ceil(q·n)-th smallest
// (the smallest for q = 0),
// as long as no bins were folded (see MaxBins). Merging two sketches of
// equal α gives exactly the sketch of both inputs, so the guarantee
// survives any number of merges.
//
// A Sketch is its own JSON state (see MarshalJSON): bins are kept sparsely
// as parallel index/count slices, sorted by index.
type Sketch struct {
	Alpha  float64
	N      uint64
	Zero   uint64
	Min    float64
	Max    float64
	Sum    float64
	Index  []int32
	Counts []uint64
}

// sketchJSON is Sketch's JSON form. Bins are one base64 string of varints
// (index delta from the previous bin, zigzag; count): a JSON array per bin
// made state tables several times larger and slower to decode.
type sketchJSON struct {
	Alpha float64 `json:"a"`
	N     uint64  `json:"n"`
	Zero  uint64  `json:"z,omitempty"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Sum   float64 `json:"sum"`
	Bins  []byte  `json:"bins,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (s Sketch) MarshalJSON() ([]byte, error) {
	var bins []byte
	prev := int64(0)
	for i, idx := range s.Index {
		bins = binary.AppendVarint(bins, int64(idx)-prev)
		bins = binary.AppendUvarint(bins, s.Counts[i])
		prev = int64(idx)
	}
	return json.Marshal(sketchJSON{Alpha: s.Alpha, N: s.N, Zero: s.Zero, Min: s.Min, Max: s.Max, Sum: s.Sum, Bins: bins})
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Sketch) UnmarshalJSON(b []byte) error {
	var j sketchJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Sketch{Alpha: j.Alpha, N: j.N, Zero: j.Zero, Min: j.Min, Max: j.Max, Sum: j.Sum}
	prev := int64(0)
	for rest := j.Bins; len(rest) > 0; {
		d, n := binary.Varint(rest)
		if n <= 0 {
			return errors.New("window: corrupt sketch bins")
		}
		c, m := binary.Uvarint(rest[n:])
		if m <= 0 {
			return errors.New("window: corrupt sketch bins")
		}
		rest = rest[n+m:]
		prev += d
		s.Index = append(s.Index, int32(prev))
		s.Counts = append(s.Counts, c)
	}
	return nil
}

// NewSketch returns an empty sketch of relative accuracy alpha (0 < alpha < 1).
func NewSketch(alpha float64) *Sketch { return &Sketch{Alpha: alpha} }

func (s *Sketch) gamma() float64 { return (1 + s.Alpha) / (1 - s.Alpha) }

// Add records one non-negative value; negative and NaN values are ignored
// (callers validate their inputs).
func (s *Sketch) Add(x float64) {
	if !(x >= 0) || math.IsInf(x, 0) {
		return
	}
	if s.Alpha == 0 {
		s.Alpha = DefaultAccuracy
	}
	if s.N == 0 || x < s.Min {
		s.Min = x
	}
	if s.N == 0 || x > s.Max {
		s.Max = x
	}
	s.N++
	s.Sum = math.Min(s.Sum+x, math.MaxFloat64) // saturates: Sum is state, and JSON has no Inf
	if x < minIndexable {
		s.Zero++
		return
	}
	idx := int32(math.Ceil(math.Log(x) / math.Log(s.gamma())))
	s.addBin(idx, 1)
	s.fold()
}

func (s *Sketch) addBin(idx int32, c uint64) {
	i := sort.Search(len(s.Index), func(i int) bool { return s.Index[i] >= idx })
	if i < len(s.Index) && s.Index[i] == idx {
		s.Counts[i] += c
		return
	}
	s.Index = append(s.Index, 0)
	s.Counts = append(s.Counts, 0)
	copy(s.Index[i+1:], s.Index[i:])
	copy(s.Counts[i+1:], s.Counts[i:])
	s.Index[i], s.Counts[i] = idx, c
}

// fold merges the lowest bins while there are more than MaxBins.
func (s *Sketch) fold() {
	for len(s.Index) > MaxBins {
		s.Counts[1] += s.Counts[0]
		s.Index, s.Counts = s.Index[1:], s.Counts[1:]
	}
}

// ErrAccuracyMismatch is returned when merging sketches of different accuracy.
var ErrAccuracyMismatch = errors.New("window: cannot merge sketches of different accuracy")

// Merge adds every value recorded in o to s.
func (s *Sketch) Merge(o *Sketch) error {
	if o == nil || o.N == 0 {
		return nil
	}
	if s.N == 0 && s.Alpha == 0 {
		s.Alpha = o.Alpha
	}
	if s.Alpha != o.Alpha {
		return fmt.Errorf("%w: %v and %v", ErrAccuracyMismatch, s.Alpha, o.Alpha)
	}
	if s.N == 0 || o.Min < s.Min {
		s.Min = o.Min
	}
	if s.N == 0 || o.Max > s.Max {
		s.Max = o.Max
	}
	s.N += o.N
	s.Zero += o.Zero
	s.Sum = math.Min(s.Sum+o.Sum, math.MaxFloat64)
	for i, idx := range o.Index {
		s.addBin(idx, o.Counts[i])
	}
	s.fold()
	return nil
}

// Quantile returns the estimated q-quantile (0 <= q <= 1), 0 when empty.
func (s *Sketch) Quantile(q float64) float64 {
	if s.N == 0 {
		return 0
	}
	q = math.Max(0, math.Min(1, q))
	// rank is the 0-based index of the nearest-rank quantile.
	rank := max(math.Ceil(q*float64(s.N))-1, 0)
	cum := float64(s.Zero)
	if cum > rank {
		return 0
	}
	g := s.gamma()
	for i, idx := range s.Index {
		cum += float64(s.Counts[i])
		if cum > rank {
			v := 2 * math.Pow(g, float64(idx)) / (g + 1)
			// The exact value lies within [Min, Max]; clamping only moves
			// the estimate closer to it.
			return math.Max(s.Min, math.Min(s.Max, v))
		}
	}
	return s.Max
}

// Mean returns the exact mean, 0 when empty.
func (s *Sketch) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Sum / float64(s.N)
}
