package window

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// exact is the nearest-rank quantile the Sketch guarantee is stated against.
func exact(sorted []float64, q float64) float64 {
	return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)]
}

var quantiles = []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1}

func checkBound(t *testing.T, name string, s *Sketch, values []float64) {
	t.Helper()
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	for _, q := range quantiles {
		want := exact(sorted, q)
		got := s.Quantile(q)
		if math.Abs(got-want) > s.Alpha*want+1e-12 {
			t.Errorf("%s: q%.3f = %v, exact %v: relative error %.4f > %.4f", name, q, got, want, math.Abs(got-want)/want, s.Alpha)
		}
	}
}

func TestSketchQuantilesWithinRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"lognormal latency ms": func() float64 { return math.Exp(5 + r.NormFloat64()) },
		"uniform 0-1000":       func() float64 { return r.Float64() * 1000 },
		"pareto heavy tail":    func() float64 { return 10 / math.Pow(r.Float64()+1e-12, 1/1.2) },
		"with zeros":           func() float64 { return float64(r.IntN(3)) * r.Float64() * 50 },
	}
	for name, gen := range dists {
		for _, alpha := range []float64{0.01, 0.05} {
			s := NewSketch(alpha)
			var values []float64
			for i := 0; i < 20000; i++ {
				v := gen()
				values = append(values, v)
				s.Add(v)
			}
			checkBound(t, name, s, values)
			if s.N != uint64(len(values)) {
				t.Fatalf("%s: N = %d", name, s.N)
			}
		}
	}
}

func TestSketchMergeEqualsSketchOfUnion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all []float64
	parts := make([]*Sketch, 5)
	whole := NewSketch(DefaultAccuracy)
	for i := range parts {
		parts[i] = NewSketch(DefaultAccuracy)
		for j := 0; j < 1000*(i+1); j++ {
			v := math.Exp(float64(i) + r.NormFloat64()) // parts with different ranges
			parts[i].Add(v)
			whole.Add(v)
			all = append(all, v)
		}
	}
	merged := NewSketch(DefaultAccuracy)
	for _, p := range parts {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	checkBound(t, "merged", merged, all)
	for _, q := range quantiles {
		if merged.Quantile(q) != whole.Quantile(q) {
			t.Fatalf("q%v: merged %v != single sketch %v", q, merged.Quantile(q), whole.Quantile(q))
		}
	}
	if merged.N != whole.N || merged.Min != whole.Min || merged.Max != whole.Max || math.Abs(merged.Sum-whole.Sum) > 1e-6*whole.Sum {
		t.Fatalf("merged totals %+v differ from %+v", merged, whole)
	}
	if err := merged.Merge(NewSketch(0.05)); err != nil {
		t.Fatalf("merging an empty sketch of other accuracy: %v", err)
	}
	other := NewSketch(0.05)
	other.Add(1)
	if err := merged.Merge(other); err == nil {
		t.Fatal("merged sketches of different accuracy")
	}
}

func TestSketchEdgeCasesAndJSON(t *testing.T) {
	s := NewSketch(DefaultAccuracy)
	if s.Quantile(0.5) != 0 || s.Mean() != 0 {
		t.Fatal("empty sketch not 0")
	}
	s.Add(0)
	s.Add(-1)
	s.Add(math.NaN())
	s.Add(250)
	if s.N != 2 || s.Quantile(0) != 0 || s.Quantile(1) != 250 || s.Mean() != 125 {
		t.Fatalf("sketch %+v: q0 %v q1 %v", s, s.Quantile(0), s.Quantile(1))
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Sketch
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Quantile(0.99) != s.Quantile(0.99) || back.N != 2 || back.Zero != 1 {
		t.Fatalf("JSON round trip changed the sketch: %s", b)
	}
	r := rand.New(rand.NewPCG(5, 6))
	big := NewSketch(DefaultAccuracy)
	for i := 0; i < 5000; i++ {
		big.Add(math.Exp(3 + 2*r.NormFloat64()))
	}
	b, err = json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	var bigBack Sketch
	if err := json.Unmarshal(b, &bigBack); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bigBack.Index, big.Index) || !slices.Equal(bigBack.Counts, big.Counts) || bigBack.Sum != big.Sum {
		t.Fatal("JSON round trip changed the bins")
	}
	if err := json.Unmarshal([]byte(`{"a":0.01,"n":1,"bins":"gA=="}`), &bigBack); err == nil {
		t.Fatal("corrupt bins accepted")
	}
}

func TestSketchSumSaturatesInsteadOfOverflowing(t *testing.T) {
	s, o := NewSketch(DefaultAccuracy), NewSketch(DefaultAccuracy)
	s.Add(math.MaxFloat64)
	s.Add(math.MaxFloat64)
	o.Add(math.MaxFloat64)
	if err := s.Merge(o); err != nil {
		t.Fatal(err)
	}
	if s.Sum != math.MaxFloat64 || s.N != 3 {
		t.Fatalf("sum %v of 3 huge values, want MaxFloat64", s.Sum)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("saturated sketch does not encode: %v", err)
	}
}

func TestSketchFoldsLowestBinsPastMaxBins(t *testing.T) {
	s := NewSketch(DefaultAccuracy)
	for i := 0; i < MaxBins+500; i++ {
		s.Add(math.Pow(1.03, float64(i)) * 1e-6)
	}
	if len(s.Index) != MaxBins {
		t.Fatalf("%d bins, want %d", len(s.Index), MaxBins)
	}
	var values []float64
	for i := 0; i < MaxBins+500; i++ {
		values = append(values, math.Pow(1.03, float64(i))*1e-6)
	}
	sort.Float64s(values)
	if got, want := s.Quantile(0.99), exact(values, 0.99); math.Abs(got-want) > s.Alpha*want {
		t.Fatalf("high quantile lost its guarantee after folding: %v vs %v", got, want)
	}
}

func BenchmarkSketchAdd(b *testing.B) {
	s := NewSketch(DefaultAccuracy)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		s.Add(math.Exp(5 + r.NormFloat64()))
	}
}
