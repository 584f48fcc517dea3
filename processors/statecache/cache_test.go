package statecache

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

type state struct{ n int }

type none = struct{}

func TestTakeReturnsThePutValueOnceAndOnlyForTheSameBytes(t *testing.T) {
	c := New[state, none](4, 1<<10)
	v := &state{1}
	raw := []byte("k1|payload")
	c.Put(raw, v, none{})
	if got, ok := c.Take([]byte("k1|payloaX")); ok || got != nil {
		t.Fatal("other bytes hit")
	}
	if got, ok := c.Take([]byte("k1|payload")); !ok || got != v {
		t.Fatalf("Take = %v, %v; want the value put", got, ok)
	}
	if _, ok := c.Take(raw); ok {
		t.Fatal("a value was handed out twice")
	}
	if c.Len() != 0 || c.Size() != 0 {
		t.Fatalf("%d entries, %d bytes after the take", c.Len(), c.Size())
	}
	var nilCache *Cache[state, none]
	nilCache.Put(raw, v, none{})
	if _, ok := nilCache.Take(raw); ok {
		t.Fatal("a nil cache hit")
	}
	if _, ok := nilCache.Get(raw, nil); ok {
		t.Fatal("a nil cache hit")
	}
	nilCache.Forget(v)
}

// Get keeps the entry: the same bytes hit again, from a fresh slice too
// (the key is the content, not the slice).
func TestGetKeepsTheEntryAndResetsItsNote(t *testing.T) {
	c := New[state, int](4, 1<<10)
	v := &state{1}
	raw := []byte("k1|payload")
	c.Put(raw, v, 7)
	for range 3 {
		if got, ok := c.Get([]byte(string(raw)), func(n *int) { *n = 0 }); !ok || got != v {
			t.Fatalf("Get = %v, %v; want the value put", got, ok)
		}
	}
	if _, note, ok := c.Entry(v); !ok || note != 0 {
		t.Fatalf("note %d (%v) after the reset", note, ok)
	}
	if !c.Note(v, func(n *int) { *n = 9 }) {
		t.Fatal("Note missed v's entry")
	}
	if b, note, ok := c.Entry(v); !ok || note != 9 || b != string(raw) {
		t.Fatalf("Entry = %q, %d, %v", b, note, ok)
	}
	if hits, misses := c.Stats(); hits != 3 || misses != 0 {
		t.Fatalf("%d hits, %d misses", hits, misses)
	}
	// Whoever put raw cannot change what it compares with.
	raw[0] = 'X'
	if _, ok := c.Get([]byte("k1|payload"), nil); !ok {
		t.Fatal("a write into the put slice changed the entry")
	}
	// PutOwned keeps the slice: the same bytes hit, from another slice.
	w := &state{2}
	c.PutOwned([]byte("k2|owned"), w, 1)
	if got, ok := c.Take([]byte("k2|owned")); !ok || got != w {
		t.Fatalf("Take after PutOwned = %v, %v", got, ok)
	}
}

// Forget drops a value its holder may have changed; Put replaces the
// value's entry and any entry of the same bytes; the bounds hold.
func TestForgetReplacesAndStaysBounded(t *testing.T) {
	c := New[state, none](3, 160)
	v := &state{1}
	c.Put([]byte("k1-aaaa"), v, none{})
	v.n = 2
	c.Put([]byte("k1-bbbb"), v, none{})
	if c.Len() != 1 {
		t.Fatalf("%d entries after two puts of one value", c.Len())
	}
	if _, ok := c.Get([]byte("k1-aaaa"), nil); ok {
		t.Fatal("the replaced bytes hit")
	}
	w := &state{3}
	c.Put([]byte("k1-bbbb"), w, none{})
	if got, ok := c.Get([]byte("k1-bbbb"), nil); !ok || got != w || c.Len() != 1 {
		t.Fatal("a put of the same bytes did not replace their entry")
	}
	c.Forget(w)
	if _, ok := c.Get([]byte("k1-bbbb"), nil); ok || c.Len() != 0 {
		t.Fatal("a forgotten value was returned")
	}
	for i := range 10 {
		c.Put([]byte(fmt.Sprintf("k%d-cccc", i)), &state{i}, none{})
		if c.Len() > 3 || c.Size() > 160 {
			t.Fatalf("%d entries, %d bytes: over the bounds", c.Len(), c.Size())
		}
		// The newest put always gets in.
		if got, ok := c.Get([]byte(fmt.Sprintf("k%d-cccc", i)), nil); !ok || got.n != i {
			t.Fatalf("the newest entry k%d was evicted", i)
		}
	}
	// The byte bound evicts too: 3 entries of 40 bytes fit 160, 5 do not.
	for i := range 5 {
		c.Put([]byte(fmt.Sprintf("%040d", i)), &state{i}, none{})
		if c.Size() > 160 {
			t.Fatalf("%d bytes held, bound 160", c.Size())
		}
	}
	big := &state{}
	c.Put([]byte(strings.Repeat("x", 41)), big, none{})
	if _, _, ok := c.Entry(big); ok {
		t.Fatal("a value over a quarter of the byte bound was kept")
	}
	zero := New[state, none](0, 1<<10)
	zero.Put([]byte("k"), v, none{})
	if zero.Len() != 0 {
		t.Fatal("a cache of no entries kept one")
	}
	n := 0
	c.Each(func(raw string, v *state) {
		if got, ok := c.byValue[v]; !ok || got.raw != raw {
			t.Errorf("Each gave %q, not an entry", raw)
		}
		n++
	})
	if n != c.Len() || n == 0 {
		t.Fatalf("Each gave %d entries of %d", n, c.Len())
	}
}

// Partitions share a cache (-race).
func TestConcurrentUse(t *testing.T) {
	c := New[state, none](8, 1<<20)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				raw := []byte(fmt.Sprintf("%d|%d", g, i))
				v := &state{i}
				c.Put(raw, v, none{})
				if got, ok := c.Get(raw, nil); ok && got != v {
					t.Errorf("goroutine %d got another value for its bytes", g)
					return
				}
				c.Take(raw)
				c.Forget(v)
			}
		})
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Errorf("%d entries, bound 8", c.Len())
	}
}
