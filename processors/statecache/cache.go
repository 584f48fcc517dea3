// Package statecache lets a goka table codec skip decoding a state it has
// just encoded or decoded. goka's ctx.Value is storage.Get + Decode and
// ctx.SetValue is Encode + storage.Set, so for a hot key every event pays a
// decode of the bytes the previous event wrote; decoding the whole state
// was the largest part of a hot key's cost per event.
//
// A codec Puts a value with the bytes it encoded it to (or decoded it
// from); its Decode first asks the cache for the bytes it is given, and
// when they are byte for byte the ones of an entry, gets that entry's value
// instead of decoding. Two ways to ask, one per contract with the handler:
//
//   - Take hands the value out once: it leaves the cache, so whoever took
//     it may change it freely; if it then never reaches Encode (a handler
//     that changes a state and does not store it), the next Decode decodes.
//   - Get keeps the value in the cache, so an event that reads a state and
//     writes nothing decodes nothing either. Its caller promises that a
//     value it got is changed only on a path that ends in Encode (which
//     replaces the entry), forgets it (Forget) on any other change, such as
//     a panic midway, and tests that promise (processors/contextgraph does).
//
// The cache is keyed on the content of the encoding, not on a key prefix or
// the identity of the slice: a codec need not lay out or parse its key
// first, and a hit does not depend on how the storage buffers writes
// (leveldb returns a fresh copy on every Get). A lookup hashes the
// encoding's length, head and tail to find a candidate and compares the
// whole encoding with the candidate's (one pass at memory speed, several
// times cheaper than a decode). Put keeps its own copy of the encoding, so
// no later write into a slice goka, the storage or the producer holds can
// change what a lookup compares with; PutOwned keeps the slice itself, for
// a codec's Encode that declares nobody writes into its output. A value is in at
// most one entry, the one of its latest Put: Put replaces it.
//
// Why a hit is the decoding of the bytes asked for: every entry {b, v} has
// Encode(v) == b when made, nothing changes v afterwards (the handlers
// store a state last; a taken value has left the cache), and the codec is
// deterministic, so decode(b) is v in every field that matters to the
// handlers (what the form does not keep, such as a time's location, must
// not matter). The encoding must name its state's key (tenant and key),
// so two keys never hold equal encodings: a value got is then never shared
// between keys, hence never between two partitions' goroutines.
//
// It is safe for concurrent use (goka runs one goroutine per partition
// with one codec) and bounded in entries and bytes of encodings; past a
// bound a random entry other than the newest leaves. A hot key stays (every
// write puts it again, and another key's put evicts it with a chance of one
// in the entries held), a hit costs no bookkeeping, and keys visited in a
// cycle longer than the bound still hit in proportion, where least recently
// used out first would keep none of them (BenchmarkLineageHandler/spread:
// 1000 datasets on 256 entries). Each entry also holds a note of type N,
// the codec's own bookkeeping about the encoding (processors/contextgraph
// keeps where its tail starts); use struct{} for none.
package statecache

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"unsafe"
)

// Cache maps encodings to the values they were encoded from or decoded to.
// Make one with New; a nil *Cache holds nothing: Put does nothing and
// every lookup misses.
type Cache[T, N any] struct {
	seed maphash.Seed

	mu      sync.Mutex
	bySig   map[uint64]*entry[T, N] // by sig of the encoding
	byValue map[*T]*entry[T, N]
	all     []*entry[T, N] // every entry, at its index at
	size    int            // bytes of the encodings held
	// maxEntries and maxBytes bound it.
	maxEntries, maxBytes int

	hits, misses int
}

type entry[T, N any] struct {
	at   int // index in all
	sig  uint64
	raw  string // a copy of the encoding: nobody can change it
	v    *T
	note N
}

// New returns a cache of at most entries values and bytes of encodings.
// An encoding over a quarter of bytes is not kept (one hot state must not
// push out all others).
func New[T, N any](entries, bytes int) *Cache[T, N] {
	return &Cache[T, N]{seed: maphash.MakeSeed(), bySig: map[uint64]*entry[T, N]{},
		byValue: map[*T]*entry[T, N]{}, maxEntries: entries, maxBytes: bytes}
}

// sigHead and sigTail are how much of an encoding its sig hashes: the
// head holds the state's key, the tail what changes most (offsets).
const sigHead, sigTail = 192, 64

func (c *Cache[T, N]) sig(b []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	var n [8]byte
	for i := range n {
		n[i] = byte(len(b) >> (8 * i))
	}
	h.Write(n[:])
	if len(b) <= sigHead+sigTail {
		h.Write(b)
	} else {
		h.Write(b[:sigHead])
		h.Write(b[len(b)-sigTail:])
	}
	return h.Sum64()
}

// Put records that v encodes to raw, with the codec's note about raw. It
// replaces v's previous entry (v has changed since), and any entry of the
// same encoding. raw is copied. A raw over the byte bound is not kept, and
// v's previous entry is dropped all the same.
func (c *Cache[T, N]) Put(raw []byte, v *T, note N) {
	if c.fits(raw, v) {
		c.put(raw, string(raw), v, note)
	}
}

// PutOwned is Put without the copy, for the bytes a codec's Encode has
// just made and hands to goka, which only reads them (storage.Set copies
// or keeps them, the producer sends them): nobody may write into raw
// afterwards.
func (c *Cache[T, N]) PutOwned(raw []byte, v *T, note N) {
	if c.fits(raw, v) {
		c.put(raw, unsafe.String(unsafe.SliceData(raw), len(raw)), v, note)
	}
}

// fits says whether raw may get an entry, and forgets v's if not.
func (c *Cache[T, N]) fits(raw []byte, v *T) bool {
	if c == nil || v == nil {
		return false
	}
	if len(raw) > c.maxBytes/4 || c.maxEntries <= 0 {
		c.Forget(v)
		return false
	}
	return true
}

// put makes {own, v} v's entry; own is raw or its copy.
func (c *Cache[T, N]) put(raw []byte, own string, v *T, note N) {
	s := c.sig(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byValue[v]; ok {
		c.remove(el)
	}
	if el, ok := c.bySig[s]; ok {
		c.remove(el)
	}
	e := &entry[T, N]{sig: s, raw: own, v: v, note: note}
	e.at = len(c.all)
	c.all = append(c.all, e)
	c.bySig[s], c.byValue[v] = e, e
	c.size += len(own)
	for len(c.all) > 1 && (len(c.all) > c.maxEntries || c.size > c.maxBytes) {
		c.remove(c.all[rand.IntN(len(c.all)-1)]) // not the newest, last
	}
}

// lookup returns the entry whose encoding is raw; c.mu is held.
func (c *Cache[T, N]) lookup(s uint64, raw []byte) *entry[T, N] {
	if el, ok := c.bySig[s]; ok && el.raw == string(raw) {
		c.hits++
		return el
	}
	c.misses++
	return nil
}

// Take returns the value whose entry's encoding is raw and removes the
// entry: the value is handed out once, and the caller may change it.
func (c *Cache[T, N]) Take(raw []byte) (*T, bool) {
	if c == nil {
		return nil, false
	}
	s := c.sig(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.lookup(s, raw)
	if el == nil {
		return nil, false
	}
	c.remove(el)
	return el.v, true
}

// Get returns the value whose entry's encoding is raw and keeps the entry;
// reset, if not nil, updates the entry's note
// under the cache's lock. The caller must not change the value except on a
// path that ends in Put, or Forget it (see the package doc).
func (c *Cache[T, N]) Get(raw []byte, reset func(*N)) (*T, bool) {
	if c == nil {
		return nil, false
	}
	s := c.sig(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.lookup(s, raw)
	if e == nil {
		return nil, false
	}
	if reset != nil {
		reset(&e.note)
	}
	return e.v, true
}

// Entry returns the encoding and note of v's entry, if it has one.
func (c *Cache[T, N]) Entry(v *T) (raw string, note N, ok bool) {
	if c == nil || v == nil {
		return "", note, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byValue[v]
	if !ok {
		return "", note, false
	}
	return el.raw, el.note, true
}

// Note updates the note of v's entry with f under the cache's lock, if v
// has an entry, and says whether it had.
func (c *Cache[T, N]) Note(v *T, f func(*N)) bool {
	if c == nil || v == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byValue[v]
	if ok {
		f(&el.note)
	}
	return ok
}

// Forget drops v's entry, if it has one: its holder may have changed v
// without encoding it.
func (c *Cache[T, N]) Forget(v *T) {
	if c == nil || v == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byValue[v]; ok {
		c.remove(el)
	}
}

// remove drops an entry; c.mu is held.
func (c *Cache[T, N]) remove(e *entry[T, N]) {
	last := c.all[len(c.all)-1]
	c.all[e.at], last.at = last, e.at
	c.all[len(c.all)-1] = nil
	c.all = c.all[:len(c.all)-1]
	delete(c.bySig, e.sig)
	delete(c.byValue, e.v)
	c.size -= len(e.raw)
}

// Len is the number of entries held.
func (c *Cache[T, N]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.all)
}

// Size is the bytes of encodings held.
func (c *Cache[T, N]) Size() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Stats returns how many Take and Get calls hit and missed.
func (c *Cache[T, N]) Stats() (hits, misses int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Each calls f with every entry's encoding and value, in no set order,
// under the cache's lock (tests check an invariant with it).
func (c *Cache[T, N]) Each(f func(raw string, v *T)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.all {
		f(e.raw, e.v)
	}
}
