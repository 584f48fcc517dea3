package codecs

import (
	"reflect"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// lexer decodes the common shape of a message in one pass over its bytes,
// without reflection or intermediate values: what it accepts is valid
// JSON, UTF-8, without a repeated key or a lone surrogate, with every key
// exactly a field's name or no field's name in any case, every value of
// its field's type and in its range. Each method reports false for
// anything else — a rejection, or merely an unusual input such as an
// escaped key — and never an error of its own: the caller then decodes the
// message the reference way (Decoder.decodeSlow, encoding/json), whose
// result or rejection stands. So the lexer may be stricter than the
// reference, never looser, and where it accepts it decodes what the
// reference decodes (the differential tests check both).
//
// Strings are substrings of one copy of the message (s), or, when they
// have escapes, copies of their own: a decoded string keeps that copy
// alive, never the caller's buffer.
type lexer struct {
	b     []byte
	s     string // b, copied once
	i     int
	depth int      // containers open around b[i]
	sc    *scanner // skips unknown values, checked as wellFormed checks them
}

func newLexer(b []byte) lexer { return lexer{b: b, s: string(b)} }

func (l *lexer) release() {
	if l.sc != nil {
		l.sc.release()
		l.sc = nil
	}
}

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, 0 at the end.
func (l *lexer) peek() byte {
	l.ws()
	if l.i >= len(l.b) {
		return 0
	}
	return l.b[l.i]
}

// null consumes a null literal if one is next.
func (l *lexer) null() bool {
	if l.peek() == 'n' && len(l.b)-l.i >= 4 && string(l.b[l.i:l.i+4]) == "null" {
		l.i += 4
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (l *lexer) end() bool {
	l.ws()
	return l.i == len(l.b)
}

// An object the lexer takes has at most its struct's fields (64 at most)
// and maxUnknownKeys other keys, which are compared one by one; a map at
// most maxKeys keys. A larger object takes the slow path.
const (
	maxKeys        = 64
	maxUnknownKeys = 8
)

// object consumes an object whose known keys are names: field is called
// with a known key, positioned at its value, which it must consume (and
// fail on a key it does not handle). Unknown keys' values are checked and skipped. A null is
// accepted as no object (encoding/json leaves the value as it is).
func (l *lexer) object(names []string, field func(key string) bool) bool {
	if l.null() {
		return true
	}
	if l.peek() != '{' {
		return false
	}
	l.i++
	l.depth++
	if l.peek() == '}' {
		l.i++
		l.depth--
		return true
	}
	var seen uint64
	var unknown [maxUnknownKeys]string
	nUnknown := 0
	for {
		if l.peek() != '"' {
			return false
		}
		key, ok := l.key()
		if !ok || l.peek() != ':' {
			return false
		}
		l.i++
		k := index(names, key)
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 {
				return false // repeated
			}
			seen |= 1 << k
			if !field(key) {
				return false
			}
		default:
			if nUnknown == maxUnknownKeys || foldsToOneOf(key, names) {
				return false
			}
			for _, u := range unknown[:nUnknown] {
				if u == key {
					return false // repeated
				}
			}
			unknown[nUnknown] = key
			nUnknown++
			if !l.skip() {
				return false
			}
		}
		switch l.peek() {
		case ',':
			l.i++
		case '}':
			l.i++
			l.depth--
			return true
		default:
			return false
		}
	}
}

// key consumes a key of printable ASCII without escapes (any other key
// takes the slow path).
func (l *lexer) key() (string, bool) {
	start := l.i + 1
	i := start
	for i < len(l.b) && safe[l.b[i]] {
		i++
	}
	if i >= len(l.b) || l.b[i] != '"' {
		return "", false
	}
	l.i = i + 1
	return l.s[start:i], true
}

func index(names []string, key string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	return -1
}

// foldsToOneOf reports whether an ASCII key equals one of names without
// case (names are ASCII).
func foldsToOneOf(key string, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && asciiEqualFold(n, key) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// array consumes an array, calling elem positioned at each element, which
// it must consume. A null is accepted as no array; the caller tells it
// from an empty one by null's return.
func (l *lexer) array(elem func() bool) (null, ok bool) {
	if l.null() {
		return true, true
	}
	if l.peek() != '[' {
		return false, false
	}
	l.i++
	l.depth++
	if l.peek() == ']' {
		l.i++
		l.depth--
		return false, true
	}
	for {
		if !elem() {
			return false, false
		}
		switch l.peek() {
		case ',':
			l.i++
		case ']':
			l.i++
			l.depth--
			return false, true
		default:
			return false, false
		}
	}
}

// skip consumes one value of any kind, checked as wellFormed checks the
// whole message (nesting counted from where it is).
func (l *lexer) skip() bool {
	if l.sc == nil {
		l.sc = scanners.Get().(*scanner)
	}
	s := l.sc
	s.b, s.i, s.syntax, s.base, s.found, s.badByte = l.b, l.i, -1, l.depth, nil, nil
	ok := s.value() && s.found == nil && s.badByte == nil
	l.i = s.i
	clear(s.frames)
	s.frames, s.keys, s.decoded = s.frames[:0], s.keys[:0], s.decoded[:0]
	return ok
}

// str consumes a string; a null is "" (encoding/json leaves a string as it
// is). Escapes are decoded; a lone surrogate or a byte that is not UTF-8
// fails.
func (l *lexer) str() (string, bool) {
	if l.null() {
		return "", true
	}
	if l.peek() != '"' {
		return "", false
	}
	start := l.i + 1
	i := start
	escaped := false
	for {
		for i < len(l.b) && safe[l.b[i]] {
			i++
		}
		if i >= len(l.b) {
			return "", false
		}
		switch c := l.b[i]; {
		case c == '"':
			l.i = i + 1
			if !escaped {
				return l.s[start:i], true
			}
			u := unescape(make([]byte, 0, i-start), l.b[start:i])
			return unsafe.String(unsafe.SliceData(u), len(u)), true
		case c == '\\':
			n := escapeLen(l.b[i:])
			if n == 0 {
				return "", false
			}
			escaped = true
			i += n
		case c < 0x20:
			return "", false
		default:
			r, n := utf8.DecodeRune(l.b[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			i += n
		}
	}
}

// escapeLen is the length of the escape sequence b starts with, a
// surrogate pair as one; 0 if it is not one or half a pair.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
	default:
		return 0
	}
	r, ok := hex4(b[2:])
	if !ok {
		return 0
	}
	if !utf16.IsSurrogate(r) {
		return 6
	}
	if r < 0xdc00 && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if r2, ok := hex4(b[8:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
			return 12
		}
	}
	return 0
}

// number consumes a number as JSON writes it and returns its text and
// whether it has neither fraction nor exponent.
func (l *lexer) number() (lit string, integer, ok bool) {
	l.ws()
	start, i := l.i, l.i
	digits := func() bool {
		j := i
		for i < len(l.b) && l.b[i] >= '0' && l.b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(l.b) && l.b[i] == '-' {
		i++
	}
	switch {
	case i < len(l.b) && l.b[i] == '0':
		i++
	case !digits():
		return "", false, false
	}
	integer = true
	if i < len(l.b) && l.b[i] == '.' {
		i++
		integer = false
		if !digits() {
			return "", false, false
		}
	}
	if i < len(l.b) && (l.b[i] == 'e' || l.b[i] == 'E') {
		i++
		integer = false
		if i < len(l.b) && (l.b[i] == '+' || l.b[i] == '-') {
			i++
		}
		if !digits() {
			return "", false, false
		}
	}
	l.i = i
	return l.s[start:i], integer, true
}

// integer consumes an int; a null is 0.
func (l *lexer) integer() (int, bool) {
	if l.null() {
		return 0, true
	}
	lit, integer, ok := l.number()
	if !ok || !integer {
		return 0, false
	}
	if len(lit) <= 18 { // cannot overflow
		neg := lit[0] == '-'
		n := 0
		for _, c := range []byte(lit[btoi(neg):]) {
			n = n*10 + int(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	return int(n), err == nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// float consumes a float64; a null is 0.
func (l *lexer) float() (float64, bool) {
	if l.null() {
		return 0, true
	}
	lit, _, ok := l.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	return f, err == nil
}

// boolean consumes a bool; a null is false.
func (l *lexer) boolean() (bool, bool) {
	if l.null() {
		return false, true
	}
	switch {
	case len(l.b)-l.i >= 4 && string(l.b[l.i:l.i+4]) == "true":
		l.i += 4
		return true, true
	case len(l.b)-l.i >= 5 && string(l.b[l.i:l.i+5]) == "false":
		l.i += 5
		return false, true
	}
	return false, false
}

// time consumes a timestamp as Time.UnmarshalJSON accepts it, without
// escapes; any other value (which Time keeps as bad) fails.
func (l *lexer) time() (Time, bool) {
	if l.null() {
		return Time{}, true
	}
	if l.peek() != '"' {
		return Time{}, false
	}
	start := l.i + 1
	i := start
	for i < len(l.b) && safe[l.b[i]] {
		i++
	}
	if i >= len(l.b) || l.b[i] != '"' {
		return Time{}, false
	}
	l.i = i + 1
	p, err := time.Parse(time.RFC3339Nano, l.s[start:i])
	if y := p.UTC().Year(); err != nil || y < minYear || y > maxYear {
		return Time{}, false
	}
	return Time{Time: p}, true
}

// strs consumes an array of strings (a null element is "", a null array
// nil, an empty one empty).
func (l *lexer) strs() ([]string, bool) {
	var out []string
	null, ok := l.array(func() bool {
		s, ok := l.str()
		if out == nil {
			out = make([]string, 0, 4) // lists are short: one allocation
		}
		out = append(out, s)
		return ok
	})
	if ok && !null && out == nil {
		out = []string{}
	}
	return out, ok
}

// intPtr consumes a *int: a null is nil.
func (l *lexer) intPtr() (*int, bool) {
	if l.null() {
		return nil, true
	}
	n, ok := l.integer()
	return &n, ok
}

// floatPtr consumes a *float64: a null is nil.
func (l *lexer) floatPtr() (*float64, bool) {
	if l.null() {
		return nil, true
	}
	f, ok := l.float()
	return &f, ok
}

// names lists the JSON names of a struct's fields: the keys a lexer's
// object callback is called with.
func names[T any]() []string {
	t := reflect.TypeFor[T]()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := jsonName(f); name != "" {
			out = append(out, name)
		}
	}
	if len(out) > 64 {
		panic("codecs: the lexer takes structs of at most 64 fields")
	}
	return out
}

// Lexer decodes JSON of a known shape in one pass over its bytes, for a
// codec whose types are not this package's: each method reports false for
// anything but the common case (what the lexer of events takes: no escaped
// or repeated key, no key that is a field's name in another case, values of
// their fields' types), and the caller then decodes the bytes with
// encoding/json or goccy/go-json, whose result is the reference. Strings
// are substrings of one copy of the input.
type Lexer struct{ l lexer }

// NewLexer starts at the beginning of b. Release it when done.
func NewLexer(b []byte) *Lexer { return &Lexer{l: newLexer(b)} }

// Release returns the lexer's scratch state.
func (x *Lexer) Release() { x.l.release() }

// End reports whether only whitespace is left.
func (x *Lexer) End() bool { return x.l.end() }

// Object consumes an object (or null) whose known keys are names (Names):
// field is called with each known key, positioned at its value, which it
// must consume, and must fail on a key it does not handle.
func (x *Lexer) Object(names []string, field func(key string) bool) bool {
	return x.l.object(names, field)
}

// Array consumes an array, calling elem at each element; null reports a
// null instead of an array.
func (x *Lexer) Array(elem func() bool) (null, ok bool) { return x.l.array(elem) }

// String consumes a string (null is "").
func (x *Lexer) String() (string, bool) { return x.l.str() }

// Strings consumes an array of strings (nil for null, empty for []).
func (x *Lexer) Strings() ([]string, bool) { return x.l.strs() }

// Int consumes an int (null is 0).
func (x *Lexer) Int() (int, bool) { return x.l.integer() }

// Int64 consumes an int64 (null is 0).
func (x *Lexer) Int64() (int64, bool) { n, ok := x.l.integer(); return int64(n), ok }

// Int32 consumes an int32 (null is 0).
func (x *Lexer) Int32() (int32, bool) {
	n, ok := x.l.integer()
	return int32(n), ok && n == int(int32(n))
}

// Float consumes a float64 (null is 0).
func (x *Lexer) Float() (float64, bool) { return x.l.float() }

// Bool consumes a bool (null is false).
func (x *Lexer) Bool() (bool, bool) { return x.l.boolean() }

// SignalFeedback consumes a SignalFeedback.
func (x *Lexer) SignalFeedback(f *SignalFeedback) bool { return f.lex(&x.l) }

// Names lists the JSON names of T's fields: the names Object takes.
func Names[T any]() []string { return names[T]() }
