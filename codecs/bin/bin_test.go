package bin_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs/bin"
)

var at = time.Date(2025, 3, 15, 10, 0, 0, 123456789, time.UTC)

// sample writes one value of every kind; read reads it back and reports
// what differs.
func sample(w *bin.Writer) {
	var prev string
	w.Uvarint(300)
	w.Varint(-3)
	w.Count(2)
	w.Bool(true)
	w.String("ü🙂")
	w.Repeat(&prev, "postgres")
	w.Repeat(&prev, "postgres")
	w.Repeat(&prev, "")
	w.Float(12.5)
	w.Float(1.0 / 3)
	w.Time(at)
	w.U64(1<<64 - 2)
}

func read(t *testing.T, r *bin.Reader) {
	t.Helper()
	var prev string
	if got := r.Uvarint(); got != 300 {
		t.Errorf("Uvarint = %d", got)
	}
	if got := r.Varint(); got != -3 {
		t.Errorf("Varint = %d", got)
	}
	if got := r.Count(1); got != 2 {
		t.Errorf("Count = %d", got)
	}
	if !r.Bool() {
		t.Error("Bool = false")
	}
	if got := r.String(); got != "ü🙂" {
		t.Errorf("String = %q", got)
	}
	for _, want := range []string{"postgres", "postgres", ""} {
		if got := r.Repeat(&prev); got != want {
			t.Errorf("Repeat = %q, want %q", got, want)
		}
	}
	if got := r.Float(); got != 12.5 {
		t.Errorf("Float = %v", got)
	}
	if got := r.Float(); got != 1.0/3 {
		t.Errorf("Float = %v", got)
	}
	if got := r.Time(); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("Time = %v", got)
	}
	if got := r.U64(); got != 1<<64-2 {
		t.Errorf("U64 = %#x", got)
	}
}

// The encodings are what tables hold: these bytes must never change.
func TestEncodingsAreStable(t *testing.T) {
	var w bin.Writer
	sample(&w)
	const want = "ac02" + "05" + "02" + "01" + "06c3bcf09f9982" + "09706f737467726573" + "00" + "01" +
		"a21f" + "01555555555555d53f" + "c0beaafd0c" + "959aef3a" + "feffffffffffffff"
	if got := hex.EncodeToString(w.Bytes()); got != want {
		t.Errorf("encoded\n %s\nwant\n %s", got, want)
	}
	for _, r := range []bin.Reader{bin.NewReader(w.Bytes()), bin.NewSharedReader(w.Bytes())} {
		read(t, &r)
		if err := r.Complete(); err != nil {
			t.Fatal(err)
		}
	}
}

// Strings outlive the input with either reader: a codec's caller may reuse
// its buffer (goka's storage does) once Decode returns. Span is the one
// view of the input.
func TestStringsOutliveTheInput(t *testing.T) {
	for name, newReader := range map[string]func([]byte) bin.Reader{"NewReader": bin.NewReader, "NewSharedReader": bin.NewSharedReader} {
		var w bin.Writer
		var prev string
		w.String("tenant")
		w.Repeat(&prev, "dialect")
		w.String("agent")
		b := w.Bytes()
		r := newReader(b)
		s, prev := r.String(), ""
		rep := r.Repeat(&prev)
		span := r.Span()
		for i := range b {
			b[i] = 'x'
		}
		if s != "tenant" || rep != "dialect" || prev != "dialect" {
			t.Errorf("%s: strings changed with their input: %q %q %q", name, s, rep, prev)
		}
		if string(span) != "xxxxx" {
			t.Errorf("%s: Span = %q, want a view of the input", name, span)
		}
	}
}

func TestEveryTruncationIsAnError(t *testing.T) {
	var w bin.Writer
	sample(&w)
	full := w.Bytes()
	for n := range len(full) {
		r := bin.NewReader(full[:n])
		var prev string
		r.Uvarint()
		r.Varint()
		r.Count(1)
		r.Bool()
		_ = r.String()
		r.Repeat(&prev)
		r.Repeat(&prev)
		r.Repeat(&prev)
		r.Float()
		r.Float()
		r.Time()
		r.U64()
		if err := r.Complete(); !errors.Is(err, bin.ErrTruncated) {
			t.Errorf("%d of %d bytes: %v, want truncated", n, len(full), err)
		}
	}
	r := bin.NewReader(append(full, 0))
	read(t, &r)
	if err := r.Complete(); !errors.Is(err, bin.ErrTrailing) {
		t.Errorf("a trailing byte: %v", err)
	}
}

func TestTheFirstErrorSticksAndLaterReadsAreZero(t *testing.T) {
	// A string of 5 bytes with 2 present, then what would be valid values.
	r := bin.NewReader([]byte{5, 'a', 'b'})
	if s := r.String(); s != "" {
		t.Errorf("String = %q", s)
	}
	var prev = "kept"
	if r.Uvarint() != 0 || r.Varint() != 0 || r.Count(1) != 0 || r.Bool() || r.String() != "" || r.Repeat(&prev) != "" ||
		r.Float() != 0 || !r.Time().IsZero() || r.U64() != 0 {
		t.Error("a read after an error returned a value")
	}
	if prev != "kept" {
		t.Errorf("Repeat after an error changed the previous string to %q", prev)
	}
	r.Fail(errors.New("later"))
	err := r.Complete()
	if !errors.Is(err, bin.ErrTruncated) || err.Error() != "truncated at byte 1" {
		t.Errorf("error = %v, want the first one, truncated at byte 1", err)
	}
}

func TestCorruptValuesAreRejected(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		read func(r *bin.Reader)
		want error
	}{
		{"varint over 64 bits", "ffffffffffffffffff02", func(r *bin.Reader) { r.Uvarint() }, bin.ErrCorrupt},
		{"varint of 11 bytes", "ffffffffffffffffffff01", func(r *bin.Reader) { r.Uvarint() }, bin.ErrCorrupt},
		{"varint ending in its continuation", "ff", func(r *bin.Reader) { r.Uvarint() }, bin.ErrTruncated},
		{"count beyond the input", "0300", func(r *bin.Reader) { r.Count(1) }, bin.ErrTruncated},
		{"count of entries too large for the input", "02000000", func(r *bin.Reader) { r.Count(2) }, bin.ErrTruncated},
		{"repeat longer than the input", "0561", func(r *bin.Reader) { r.Repeat(new(string)) }, bin.ErrTruncated},
		{"float of scale 7", "0e", func(r *bin.Reader) { r.Float() }, bin.ErrCorrupt},
		{"float of an unknown form", "03", func(r *bin.Reader) { r.Float() }, bin.ErrCorrupt},
		{"float missing its bytes", "01000000", func(r *bin.Reader) { r.Float() }, bin.ErrTruncated},
		{"nanoseconds past a second", "0080a8d6b907", func(r *bin.Reader) { r.Time() }, bin.ErrCorrupt},
	} {
		b, _ := hex.DecodeString(c.in)
		r := bin.NewReader(b)
		c.read(&r)
		if err := r.Err(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// The largest values still read.
	var w bin.Writer
	w.Uvarint(math.MaxUint64)
	w.Varint(math.MinInt64)
	w.Time(time.Unix(0, 999999999))
	r := bin.NewReader(w.Bytes())
	if r.Uvarint() != math.MaxUint64 || r.Varint() != math.MinInt64 || r.Time().Nanosecond() != 999999999 || r.Complete() != nil {
		t.Errorf("extreme values: %v", r.Complete())
	}
}

func TestFailIsReportedWithItsOffset(t *testing.T) {
	r := bin.NewReader([]byte{7, 8})
	r.Uvarint()
	bound := errors.New("window larger than its bound")
	r.Fail(bound)
	if err := r.Complete(); !errors.Is(err, bound) || err.Error() != "window larger than its bound at byte 1" {
		t.Errorf("Complete = %v", err)
	}
}

// FuzzReader reads arbitrary input with every primitive: never a panic,
// and a read that succeeds consumed what it claims.
func FuzzReader(f *testing.F) {
	var w bin.Writer
	sample(&w)
	f.Add(w.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bin.NewReader(b)
		var prev string
		for range 4 {
			r.Uvarint()
			r.Varint()
			if n := r.Count(3); n > len(b)/3 {
				t.Fatalf("count %d of %d bytes", n, len(b))
			}
			r.Bool()
			_ = r.String()
			r.Repeat(&prev)
			r.Float()
			r.Time()
			r.U64()
		}
		if err := r.Complete(); err != nil && !errors.Is(err, bin.ErrTruncated) && !errors.Is(err, bin.ErrCorrupt) && !errors.Is(err, bin.ErrTrailing) {
			t.Fatalf("unknown error %v", err)
		}
	})
}

// Uvarint, Varint and U64 write encoding/binary's bytes, at the edges of
// every length and on random values.
func TestIntegersAreEncodingBinarys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var xs []uint64
	for k := 0; k < 64; k++ {
		xs = append(xs, 1<<k-1, 1<<k, 1<<k+1)
	}
	xs = append(xs, math.MaxUint64)
	for range 10000 {
		xs = append(xs, r.Uint64()>>r.IntN(64))
	}
	for _, x := range xs {
		for _, c := range []struct {
			name      string
			got, want []byte
		}{
			{"Uvarint", func() []byte { var w bin.Writer; w.Uvarint(x); return w.Bytes() }(), binary.AppendUvarint(nil, x)},
			{"Varint", func() []byte { var w bin.Writer; w.Varint(int64(x)); return w.Bytes() }(), binary.AppendVarint(nil, int64(x))},
			{"U64", func() []byte { var w bin.Writer; w.U64(x); return w.Bytes() }(), binary.LittleEndian.AppendUint64(nil, x)},
		} {
			if !bytes.Equal(c.got, c.want) {
				t.Fatalf("%s(%d) = %x, encoding/binary writes %x", c.name, x, c.got, c.want)
			}
		}
	}
}

// floatByTheRule is Writer.Float's encoding by its rule alone (see its
// doc), without the shortcut for whole numbers.
func floatByTheRule(x float64) []byte {
	if k := math.Round(x * 1e6); math.Abs(k) < 1<<52 {
		if n := int64(k); math.Float64bits(float64(n)/1e6) == math.Float64bits(x) {
			d := uint64(6)
			for d > 0 && n%10 == 0 {
				n /= 10
				d--
			}
			return binary.AppendUvarint(nil, uint64(n<<1^n>>63)<<4|d<<1)
		}
	}
	return binary.LittleEndian.AppendUint64([]byte{1}, math.Float64bits(x))
}

// Float writes what its rule writes: whole numbers around the shortcut's
// bounds, zeros of both signs, decimals, NaN, infinities, random bits.
func TestFloatIsItsRule(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64,
		1 << 32, 1<<32 + 1, -1 << 32, -1<<32 - 1, 1 << 52, 1 << 53, 1 << 63, -1 << 63, 4503599627, 4503599628, 0.5, -0.25, 0.000001, 123.456, 1e-7}
	for range 20000 {
		xs = append(xs, float64(r.Int64N(1<<34)-1<<33), float64(r.Int64N(2e9))/1e3, float64(r.Int64N(2e9))/1e6, r.NormFloat64()*1e4,
			math.Float64frombits(r.Uint64()))
	}
	for _, x := range xs {
		var w bin.Writer
		w.Float(x)
		if want := floatByTheRule(x); !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("Float(%v) = %x, its rule writes %x", x, w.Bytes(), want)
		}
		r := bin.NewReader(w.Bytes())
		if got := r.Float(); math.Float64bits(got) != math.Float64bits(x) && !(math.IsNaN(got) && math.IsNaN(x)) {
			t.Fatalf("Float(%v) reads back as %v", x, got)
		}
	}
}
