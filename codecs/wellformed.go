package codecs

import (
	"bytes"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// wellFormed checks a whole message in one pass over its bytes, before
// anything decodes it, so that aistream accepts an event only if the AI
// Service's consumer, json.loads(value.decode("utf-8")), reads the same one:
//
//   - JSON as json.Valid accepts it: RFC 8259, whitespace only of space, tab,
//     CR and LF, at most maxDepth nested objects and arrays;
//   - UTF-8 throughout. Go's decoders read a bad byte as U+FFFD, Python's
//     decode fails on it; and no \u escape of half a surrogate pair, which
//     Go reads as U+FFFD and Python as a lone surrogate no UTF-8 encoder
//     writes;
//   - no key twice in one object, at any depth. Go keeps one value or merges
//     the two objects, Python keeps the last value: the same bytes would be
//     two different events.
//
// Bytes that are not UTF-8 are reported first (Python's decode fails before
// it parses), then JSON syntax, then the first lone surrogate or repeated
// key. start and end bound the value without surrounding whitespace.
func wellFormed(b []byte) (start, end int, err *DecodeError) {
	s := scanners.Get().(*scanner)
	defer s.release()
	return s.scan(b)
}

// maxDepth is encoding/json's nesting limit, kept so that every decoder
// after this one sees only input json.Valid accepts.
const maxDepth = 10000

// Up to this many keys an object's keys are compared one by one; a larger
// object gets a set, so a message of many keys cannot make the check
// quadratic.
const smallObject = 16

// scanner holds the state of one check; scanners reuses it, so that a
// message costs no allocation unless it has an object of more than
// smallObject keys.
type scanner struct {
	b       []byte
	i       int
	frames  []frame      // one per open object or array
	keys    []key        // the keys of the open objects, each object's from its frame.keys
	decoded []byte       // escaped keys, unescaped
	badByte *DecodeError // the first byte that is not UTF-8
	syntax  int          // offset of the first syntax error, or -1
	found   *DecodeError // the first lone surrogate or repeated key
	base    int          // containers open around b[i] when the check started (lexer.skip)
}

type frame struct {
	object bool
	keys   int                 // object: index in scanner.keys of its first key
	cur    int                 // object: index in scanner.keys of the key being read, -1 while reading a key
	index  int                 // array: index of the element being read
	set    map[string]struct{} // object: its keys, once it has more than smallObject
}

// key is an object key as decoded: bytes of the message, or of
// scanner.decoded when it had escapes.
type key struct {
	off, n  int
	escaped bool
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

func (s *scanner) release() {
	s.b, s.badByte, s.found, s.base = nil, nil, nil, 0
	clear(s.frames) // the frames a failed check left open
	s.frames, s.keys, s.decoded = s.frames[:0], s.keys[:0], s.decoded[:0]
	if cap(s.keys) > 1024 || cap(s.decoded) > 64<<10 || cap(s.frames) > 1024 {
		*s = scanner{} // a rare large message does not pin its buffers
	}
	scanners.Put(s)
}

func (s *scanner) scan(b []byte) (start, end int, err *DecodeError) {
	s.b, s.i, s.syntax = b, 0, -1
	s.ws()
	start = s.i
	if s.i == len(b) {
		return start, start, nil // empty: the caller says so
	}
	ok := s.value()
	end = s.i
	if ok {
		if s.ws(); s.i < len(b) {
			ok = s.fail()
		}
	}
	if !ok {
		if s.badByte == nil {
			// Everything before the syntax error is UTF-8: string contents
			// were checked, and a byte above 0x7f elsewhere is the error.
			if j := invalidUTF8(b[s.syntax:]); j >= 0 {
				s.notUTF8(s.syntax+j, "")
			}
		}
		if s.badByte != nil {
			return 0, 0, s.badByte
		}
		return 0, 0, Reject(ReasonNotJSON, "", "not valid JSON at byte %d: %s", s.syntax, abbreviate(b[start:]))
	}
	if s.found != nil {
		return 0, 0, s.found
	}
	return start, end, nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// fail records a syntax error at the current offset.
func (s *scanner) fail() bool {
	if s.syntax < 0 {
		s.syntax = s.i
	}
	return false
}

func (s *scanner) notUTF8(at int, path string) {
	s.badByte = Reject(ReasonInvalidUTF8, path, "byte %d (0x%02x) is not UTF-8: Python's decode(\"utf-8\") fails on it and Go would read U+FFFD; send UTF-8", at, s.b[at])
	s.syntax = at
}

// value consumes one value and the whitespace before it.
func (s *scanner) value() bool {
	s.ws()
	if s.i >= len(s.b) {
		return s.fail()
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail()
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail()
	}
	s.i += len(lit)
	return true
}

// number consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits consumes one digit or more.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == start {
		return s.fail()
	}
	return true
}

func (s *scanner) push(object bool) bool {
	if s.base+len(s.frames) == maxDepth {
		return s.fail()
	}
	s.frames = append(s.frames, frame{object: object, keys: len(s.keys), cur: -1})
	s.i++ // { or [
	return true
}

func (s *scanner) pop() {
	f := &s.frames[len(s.frames)-1]
	s.keys = s.keys[:f.keys]
	*f = frame{} // drop its set
	s.frames = s.frames[:len(s.frames)-1]
	s.i++ // } or ]
}

func (s *scanner) object() bool {
	if !s.push(true) {
		return false
	}
	if s.ws(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.pop()
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail()
		}
		at := s.i
		s.frames[len(s.frames)-1].cur = -1
		escaped, ok := s.str()
		if !ok {
			return false
		}
		s.addKey(at, escaped)
		if s.ws(); s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail()
		}
		s.i++
		if !s.value() {
			return false
		}
		if s.ws(); s.i >= len(s.b) {
			return s.fail()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.pop()
			return true
		default:
			return s.fail()
		}
	}
}

func (s *scanner) array() bool {
	if !s.push(false) {
		return false
	}
	if s.ws(); s.i < len(s.b) && s.b[s.i] == ']' {
		s.pop()
		return true
	}
	for {
		if !s.value() {
			return false
		}
		if s.ws(); s.i >= len(s.b) {
			return s.fail()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.frames[len(s.frames)-1].index++
		case ']':
			s.pop()
			return true
		default:
			return s.fail()
		}
	}
}

// addKey records the key just read (its opening quote at offset at) in the
// current object, and a repeated key as the first finding.
func (s *scanner) addKey(at int, escaped bool) {
	k := key{off: at + 1, n: s.i - 1 - (at + 1)}
	if escaped {
		off := len(s.decoded)
		s.decoded = unescape(s.decoded, s.b[k.off:k.off+k.n])
		k = key{off: off, n: len(s.decoded) - off, escaped: true}
	}
	f := &s.frames[len(s.frames)-1]
	name := s.keyBytes(k)
	prev := -1
	switch {
	case f.set != nil:
		if _, dup := f.set[string(name)]; dup {
			prev = 0
		} else {
			f.set[string(name)] = struct{}{}
		}
	default:
		for j := f.keys; j < len(s.keys); j++ {
			if bytes.Equal(s.keyBytes(s.keys[j]), name) {
				prev = j
				break
			}
		}
		if prev < 0 && len(s.keys)-f.keys == smallObject {
			f.set = make(map[string]struct{}, 2*smallObject)
			for _, k := range s.keys[f.keys:] {
				f.set[string(s.keyBytes(k))] = struct{}{}
			}
			f.set[string(name)] = struct{}{}
		}
	}
	if prev >= 0 && s.found == nil {
		s.found = Reject(ReasonDuplicateKey, joinPath(s.path(), string(name)),
			"key %q is repeated in its object (again at byte %d): Python keeps the last value where Go may keep or merge another, so the two would read different events; send each key once", name, at)
	}
	s.keys = append(s.keys, k)
	f.cur = len(s.keys) - 1
}

func (s *scanner) keyBytes(k key) []byte {
	if k.escaped {
		return s.decoded[k.off : k.off+k.n]
	}
	return s.b[k.off : k.off+k.n]
}

// path names the value being read, as DecodeError.Field does
// ("data.alternatives[1].score").
func (s *scanner) path() string {
	p := ""
	for _, f := range s.frames {
		switch {
		case !f.object:
			p += "[" + strconv.Itoa(f.index) + "]"
		case f.cur >= 0:
			p = joinPath(p, string(s.keyBytes(s.keys[f.cur])))
		}
	}
	return p
}

// safe marks the bytes a string holds as they are: printable ASCII but the
// quote and the backslash.
var safe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes a string, reporting whether it has escapes.
func (s *scanner) str() (escaped, ok bool) {
	s.i++ // "
	for {
		for s.i < len(s.b) && safe[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			return escaped, s.fail()
		}
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			escaped = true
			if !s.escape() {
				return escaped, false
			}
		case c < 0x20:
			return escaped, s.fail()
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				s.notUTF8(s.i, s.path())
				return escaped, false
			}
			s.i += n
		}
	}
}

// escape consumes one escape sequence, a surrogate pair as one.
func (s *scanner) escape() bool {
	if s.i+1 >= len(s.b) {
		s.i = len(s.b)
		return s.fail()
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return true
	case 'u':
	default:
		s.i++
		return s.fail()
	}
	at := s.i
	r, ok := hex4(s.b[s.i+2:])
	if !ok {
		s.i += 2
		return s.fail()
	}
	s.i += 6
	if !utf16.IsSurrogate(r) {
		return true
	}
	if r < 0xdc00 && s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
		if r2, ok := hex4(s.b[s.i+2:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
			s.i += 6
			return true
		}
	}
	if s.found == nil {
		s.found = Reject(ReasonInvalidUTF8, s.path(), "\\u%04x at byte %d is half a UTF-16 surrogate pair: Python would read a lone surrogate, which has no UTF-8 encoding, and Go U+FFFD; escape characters beyond U+FFFF as a pair", r, at)
	}
	return true
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape appends the contents of a well-formed string, its escapes
// decoded as encoding/json decodes them, to dst.
func unescape(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(b[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					r2, ok = hex4(b[i+2:])
				}
				if r = utf16.DecodeRune(r, r2); ok && r != utf8.RuneError {
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, b[i+1])
		}
		i += 2
	}
	return dst
}

// invalidUTF8 returns the offset of the first byte of b that is not UTF-8,
// or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
