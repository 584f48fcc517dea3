// Package statecache lets a goka table codec skip decoding a state it has
// just encoded. goka decodes a key's stored bytes on every ctx.Value and
// encodes the value again on every ctx.SetValue; for a hot key the next
// event reads back exactly the bytes the last one wrote, and decoding them
// (the whole state, its dedupe window and sketches) was the largest part of
// a hot key's cost per event.
//
// A codec Puts the value with the bytes it encoded it to; its Decode first
// Takes: when the bytes are byte for byte the ones Put under the same key,
// the value itself comes back instead of a decoded copy. Take removes the
// entry, so a value is never handed out twice: whoever took it may change
// it freely, and if it then never reaches Encode again (a handler that
// changes a state and does not store it) the next Decode decodes the
// stored bytes. Byte equality makes a hit exactly as good as decoding, on
// three conditions the codec must keep:
//   - the value behaves like its decoded form (what the codec does not
//     keep, such as a time's location, must not matter to the handlers);
//   - nothing changes the value after Encode (the handlers store it last);
//   - the key identifies the state (the encoding starts with it), so two
//     keys never share an entry.
//
// The cache is bounded in entries and bytes; past the bounds an arbitrary
// entry leaves (a hot key comes back with its next write).
package statecache

import (
	"bytes"
	"sync"
)

// Cache maps a state's key to its last encoded bytes and the value they
// were encoded from. It is safe for concurrent use (goka runs one
// goroutine per partition with one codec).
type Cache[T any] struct {
	mu         sync.Mutex
	m          map[string]entry[T]
	size       int // bytes held
	maxEntries int
	maxBytes   int
}

type entry[T any] struct {
	raw []byte
	v   *T
}

// New returns a cache of at most entries values and bytes encoded bytes.
func New[T any](entries, bytes int) *Cache[T] {
	return &Cache[T]{m: make(map[string]entry[T]), maxEntries: entries, maxBytes: bytes}
}

// Put records that v was encoded to raw, whose first keyLen bytes
// identify the state. raw must not change afterwards. A raw over the byte
// bound is not kept.
func (c *Cache[T]) Put(keyLen int, raw []byte, v *T) {
	if c == nil || keyLen <= 0 || keyLen > len(raw) || len(raw) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[string(raw[:keyLen])]; ok {
		c.size -= len(old.raw)
		delete(c.m, string(raw[:keyLen]))
	}
	for k, e := range c.m {
		if len(c.m) < c.maxEntries && c.size+len(raw) <= c.maxBytes {
			break
		}
		c.size -= len(e.raw)
		delete(c.m, k)
	}
	c.m[string(raw[:keyLen])] = entry[T]{raw: raw, v: v}
	c.size += len(raw)
}

// Take returns the value raw was encoded from, if raw is exactly the
// bytes last Put under its key (its first keyLen bytes), and forgets it.
func (c *Cache[T]) Take(keyLen int, raw []byte) (*T, bool) {
	if c == nil || keyLen <= 0 || keyLen > len(raw) {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(raw[:keyLen])]
	if !ok {
		return nil, false
	}
	// Whether it matches or not the entry is spent: bytes that differ
	// mean the key was written since by someone else (a restore).
	delete(c.m, string(raw[:keyLen]))
	c.size -= len(e.raw)
	if !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.v, true
}

// Len is the number of values held.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
