// Package bin holds the primitives of aistream's compact binary table
// codecs (quality.StateCodec, lineage.NodeCodec): a Writer that appends
// values to a buffer and a Reader that reads them back. As in franz-go's
// kbin, the Reader remembers its first error and returns zero values after
// it, so a decoder reads every field unconditionally and checks once, at
// the end, with Complete.
//
// Encodings (every codec's layout is built from these; changing one changes
// the bytes already in tables):
//
//	Uvarint   encoding/binary's unsigned varint
//	Varint    encoding/binary's zigzag varint
//	Count     a Uvarint
//	Bool      a Uvarint, 1 or 0 (any non-zero reads as true)
//	String    a Uvarint length, then the bytes
//	Repeat    a Uvarint, 0 when the string equals the previous one of its
//	          field, else its length + 1, then the bytes
//	Float     see Writer.Float: a decimal in a Uvarint, or 1 and 8 bytes
//	Time      Unix seconds as a Varint, then nanoseconds as a Uvarint
//	U64       8 bytes, little-endian
package bin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Reasons a Reader rejects its input; its error wraps one of them with the
// byte offset where it stopped.
var (
	// ErrTruncated is an input ending inside a value, or a count promising
	// more entries than the remaining bytes can hold.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt is a value no Writer writes (a varint over 64 bits, an
	// unknown float form, nanoseconds past a second).
	ErrCorrupt = errors.New("corrupt")
	// ErrTrailing is input left after the last value (see Complete).
	ErrTrailing = errors.New("trailing bytes")
)

// Writer appends encoded values to a buffer. The zero Writer is ready.
type Writer struct{ b []byte }

// NewWriter returns a Writer appending to buf; pass a buffer with the
// capacity the value will need to spare the copies of growing it.
func NewWriter(buf []byte) Writer { return Writer{b: buf} }

// Bytes is the buffer written so far.
func (w *Writer) Bytes() []byte { return w.b }

// Byte appends one raw byte (a format's version byte).
func (w *Writer) Byte(c byte) { w.b = append(w.b, c) }

// Uvarint appends x as an unsigned varint (binary.AppendUvarint's bytes).
// Every write appends to w.b in place: a store of a whole new slice, as
// assigning binary.AppendUvarint's result made, passes the garbage
// collector's write barrier while it marks, which was about a third of
// encoding a state (a Writer is written through a pointer); an in-place
// append that does not grow stores only the length.
func (w *Writer) Uvarint(x uint64) {
	for x >= 0x80 {
		w.b = append(w.b, byte(x)|0x80)
		x >>= 7
	}
	w.b = append(w.b, byte(x))
}

// Varint appends x as a zigzag varint (binary.AppendVarint's bytes).
func (w *Writer) Varint(x int64) {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	w.Uvarint(ux)
}

// Count appends the length of a list or map that follows.
func (w *Writer) Count(n int) { w.Uvarint(uint64(n)) }

// Bool appends v as one byte, 1 or 0.
func (w *Writer) Bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// String appends s, length-prefixed.
func (w *Writer) String(s string) {
	w.Count(len(s))
	w.b = append(w.b, s...)
}

// Repeat appends s as one zero byte when it equals *prev, the previous
// string of its field (lists of records repeat users, dialects, statuses),
// else as its length + 1 and its bytes; then *prev is s.
func (w *Writer) Repeat(prev *string, s string) {
	if s == *prev {
		w.b = append(w.b, 0)
		return
	}
	*prev = s
	w.Count(len(s) + 1)
	w.b = append(w.b, s...)
}

// pow10 are the decimal scales of a Float: the codecs' floats are mostly
// rounded to 6 decimals (ratios, USD), 3 (latencies in ms) or whole.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// Float appends x as a decimal k/10^d when that division gives back exactly
// x's bits: the uvarint of zigzag(k)<<4 | d<<1 (low bit 0), with k's
// trailing zeros dropped. Else it appends a 1 and the 8 IEEE-754 bytes,
// little-endian. Lossless either way. Dropping zeros keeps the bits: k/10^d
// and (k/10)/10^(d-1) are the same real, and IEEE division rounds it alike.
func (w *Writer) Float(x float64) {
	// A whole number up to 2^32 (counts, whole milliseconds: most of a
	// state's floats) is exactly k = x, d = 0; the arithmetic below gives
	// the same, six divisions later. Not -0, which takes the 8 bytes.
	if t := int64(x); float64(t) == x && t >= -1<<32 && t <= 1<<32 && (t != 0 || !math.Signbit(x)) {
		w.Uvarint(uint64(t<<1^t>>63) << 4)
		return
	}
	if k := math.Round(x * 1e6); math.Abs(k) < 1<<52 {
		if n := int64(k); math.Float64bits(float64(n)/1e6) == math.Float64bits(x) {
			d := uint64(6)
			for d > 0 && n%10 == 0 {
				n /= 10
				d--
			}
			w.Uvarint(uint64(n<<1^n>>63)<<4 | d<<1)
			return
		}
	}
	w.b = append(w.b, 1)
	w.U64(math.Float64bits(x))
}

// Time appends t's Unix seconds and nanoseconds; its location is not kept.
func (w *Writer) Time(t time.Time) {
	w.Varint(t.Unix())
	w.Uvarint(uint64(t.Nanosecond()))
}

// U64 appends x as 8 bytes, little-endian.
func (w *Writer) U64(x uint64) {
	w.b = append(w.b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24), byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56))
}

// Reader reads what a Writer wrote. After its first error every read
// returns a zero value; Err and Complete report that error.
type Reader struct {
	src    []byte // the input; cut at the first error, so reads stop there
	shared string // a copy of src for NewSharedReader, else ""
	i      int
	err    error
}

// NewReader returns a Reader of b that copies every string it returns, so
// nothing decoded keeps b alive; b must not change while it is read.
func NewReader(b []byte) Reader { return Reader{src: b} }

// NewSharedReader returns a Reader of one copy of b whose strings are
// substrings of that copy: decoding allocates no string, but the copy lives
// as long as any of them does. The choice for a large value of many
// distinct strings.
func NewSharedReader(b []byte) Reader { return Reader{src: b, shared: string(b)} }

// Err is the first error with the byte offset it occurred at, or nil.
func (r *Reader) Err() error {
	if r.err == nil {
		return nil
	}
	return fmt.Errorf("%w at byte %d", r.err, r.i)
}

// Complete is Err, or ErrTrailing when input is left after the last value.
func (r *Reader) Complete() error {
	if r.i != len(r.src) {
		r.Fail(ErrTrailing)
	}
	return r.Err()
}

// Fail records err (a format's own check, e.g. a bound) unless an error is
// already recorded, and stops reading.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.src = r.src[:r.i]
}

// Uvarint reads an unsigned varint, rejecting what binary.Uvarint rejects:
// input ending inside it, or more than 64 bits. It is small enough to
// inline: every other read starts with it.
func (r *Reader) Uvarint() (x uint64) {
	s := uint(0)
	for ; s < 64 && r.i < len(r.src); s += 7 {
		c := r.src[r.i]
		r.i++
		// c>>(64-s) is 0 but for a tenth byte over 1, bits past 64.
		if x |= uint64(c&0x7f) << s; c < 0x80 && c>>(64-s) == 0 {
			return x
		}
	}
	r.Fail(varintErrs[s>>6])
	return 0
}

// varintErrs is the reason a varint ends the loop with shift s: s>>6 is 0
// when the input ran out, 1 past 64 bits.
var varintErrs = [2]error{ErrTruncated, ErrCorrupt}

// Varint reads a zigzag varint.
func (r *Reader) Varint() int64 {
	u := r.Uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// Count reads the length of a list or map whose entries take at least
// least (1 or more) bytes each: a length the remaining input cannot hold
// is ErrTruncated, so a corrupt one never makes the caller over-allocate.
func (r *Reader) Count(least int) int {
	n := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64((len(r.src)-r.i)/least) {
		r.Fail(ErrTruncated)
		return 0
	}
	return int(n)
}

// Remaining is the number of bytes not read yet.
func (r *Reader) Remaining() int { return len(r.src) - r.i }

// Bool reads a Uvarint; any non-zero one is true.
func (r *Reader) Bool() bool { return r.Uvarint() != 0 }

// String reads a length-prefixed string.
func (r *Reader) String() string { return r.str(r.Count(1)) }

// Span reads a length-prefixed string as a view of the input, valid while
// the input is unchanged: to compare with strings already held
// (string(span) == s does not copy) before keeping a copy.
func (r *Reader) Span() []byte {
	n := r.Count(1)
	b := r.src[r.i : r.i+n]
	r.i += n
	return b
}

func (r *Reader) str(n int) string {
	var s string
	if r.shared != "" {
		s = r.shared[r.i : r.i+n]
	} else {
		s = string(r.src[r.i : r.i+n])
	}
	r.i += n
	return s
}

// Repeat reads what Writer.Repeat wrote, with *prev the previous string of
// the field; then *prev is the string read.
func (r *Reader) Repeat(prev *string) string {
	l := r.Uvarint()
	switch {
	case r.err != nil:
		return ""
	case l == 0:
		return *prev
	case l-1 > uint64(len(r.src)-r.i):
		r.Fail(ErrTruncated)
		return ""
	}
	*prev = r.str(int(l - 1))
	return *prev
}

// Float reads what Writer.Float wrote.
func (r *Reader) Float() float64 {
	x := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if x&1 == 0 {
		scale := (x >> 1) & 7
		if scale >= uint64(len(pow10)) {
			r.Fail(ErrCorrupt)
			return 0
		}
		u := x >> 4
		return float64(int64(u>>1)^-int64(u&1)) / pow10[scale]
	}
	if x != 1 {
		r.Fail(ErrCorrupt)
		return 0
	}
	return math.Float64frombits(r.U64())
}

// Time reads what Writer.Time wrote, in UTC.
func (r *Reader) Time() time.Time {
	u, ns := r.Uvarint(), r.Uvarint() // not Varint: one call less per time
	sec := int64(u>>1) ^ -int64(u&1)
	if r.err == nil && ns >= 1e9 {
		r.Fail(ErrCorrupt)
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

// U64 reads 8 bytes, little-endian.
func (r *Reader) U64() uint64 {
	if len(r.src)-r.i < 8 {
		r.Fail(ErrTruncated)
		return 0
	}
	x := binary.LittleEndian.Uint64(r.src[r.i:])
	r.i += 8
	return x
}
