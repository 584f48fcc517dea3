package statecache

import (
	"fmt"
	"sync"
	"testing"
)

type state struct{ n int }

func TestTakeReturnsThePutValueOnceAndOnlyForTheSameBytes(t *testing.T) {
	c := New[state](4, 1<<10)
	v := &state{1}
	raw := []byte("k1|payload")
	c.Put(3, raw, v)
	if got, ok := c.Take(3, []byte("k1|payloaX")); ok || got != nil {
		t.Fatal("other bytes under the same key hit")
	}
	// The mismatch spent the entry: the stored bytes moved on.
	if _, ok := c.Take(3, []byte("k1|payload")); ok {
		t.Fatal("an entry hit after a mismatch")
	}
	c.Put(3, raw, v)
	if got, ok := c.Take(3, []byte("k1|payload")); !ok || got != v {
		t.Fatalf("Take = %v, %v; want the value put", got, ok)
	}
	if _, ok := c.Take(3, raw); ok {
		t.Fatal("a value was handed out twice")
	}
	if _, ok := c.Take(0, raw); ok {
		t.Fatal("a zero key length hit")
	}
	var nilCache *Cache[state]
	nilCache.Put(3, raw, v)
	if _, ok := nilCache.Take(3, raw); ok {
		t.Fatal("a nil cache hit")
	}
}

func TestPutReplacesTheKeysEntryAndKeepsTheBounds(t *testing.T) {
	c := New[state](3, 40)
	c.Put(2, []byte("k1-aaaa"), &state{1})
	c.Put(2, []byte("k1-bbbb"), &state{2})
	if c.Len() != 1 {
		t.Fatalf("%d entries after two puts of one key", c.Len())
	}
	if _, ok := c.Take(2, []byte("k1-aaaa")); ok {
		t.Fatal("the replaced bytes hit")
	}
	for i := range 10 {
		c.Put(2, []byte(fmt.Sprintf("k%d-cccc", i)), &state{i})
		if c.Len() > 3 || c.size > 40 {
			t.Fatalf("%d entries, %d bytes: over the bounds", c.Len(), c.size)
		}
	}
	// The newest put always gets in.
	if got, ok := c.Take(2, []byte("k9-cccc")); !ok || got.n != 9 {
		t.Fatal("the newest entry was evicted")
	}
	c.Put(2, make([]byte, 41), &state{})
	if c.Len() > 2 {
		t.Fatal("a value over the byte bound was kept")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New[state](8, 1<<20)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				raw := []byte(fmt.Sprintf("%d|%d", g, i))
				c.Put(1, raw, &state{i})
				if v, ok := c.Take(1, raw); !ok || v.n != i {
					t.Errorf("goroutine %d lost its own entry %d", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
}
