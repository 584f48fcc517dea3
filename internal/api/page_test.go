package api

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/lovoo/goka"
)

// fakeTable is a table of string values with ranges in key order (as
// goka's leveldb views) or shuffled (as the tester's memory); it counts the
// keys its iterators yield.
type fakeTable struct {
	kv       map[string]string
	shuffled bool
	read     int
}

func (f *fakeTable) Get(k string) (any, error) {
	v, ok := f.kv[k]
	if !ok {
		return nil, nil
	}
	return &v, nil
}
func (f *fakeTable) Recovered() bool { return true }
func (f *fakeTable) IteratorWithRange(start, limit string) (goka.Iterator, error) {
	var keys []string
	for k := range f.kv {
		if k >= start && (limit == "" || k < limit) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if f.shuffled {
		rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	}
	return &fakeIter{f: f, keys: keys, i: -1}, nil
}

type fakeIter struct {
	f    *fakeTable
	keys []string
	i    int
}

func (it *fakeIter) Next() bool {
	it.i++
	if it.i < len(it.keys) {
		it.f.read++
		return true
	}
	return false
}
func (it *fakeIter) Err() error                  { return nil }
func (it *fakeIter) Key() string                 { return it.keys[it.i] }
func (it *fakeIter) Value() (interface{}, error) { return it.f.kv[it.keys[it.i]], nil }
func (it *fakeIter) Release()                    {}
func (it *fakeIter) Seek(string) bool            { return false }

type unsortedTable struct{ *fakeTable }

func (unsortedTable) UnsortedRanges() {}

func table(shuffled bool) *fakeTable {
	f := &fakeTable{kv: map[string]string{}, shuffled: shuffled}
	for _, k := range []string{"a|x1", "a|x2", "a|x3", "a|y1", "a|y2", "ab|x9", "b|x1", "b|x4"} {
		f.kv[k] = "v-" + k
	}
	return f
}

// pages walks every page of prefix with page size limit.
func pages(t *testing.T, tb Table, prefix string, limit int) []string {
	t.Helper()
	var got []string
	cursor := ""
	for n := 0; ; n++ {
		if n > 10 {
			t.Fatal("no last page")
		}
		r := NewRequest(t.Context(), Scope{}, url.Values{"limit": {itoa(limit)}, "cursor": {cursor}}, nil)
		p, err := r.PageOf()
		if err != nil {
			t.Fatal(err)
		}
		page, next, err := PrefixPage[string](tb, prefix, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		for _, kv := range page {
			if *kv.Value != "v-"+kv.Key {
				t.Fatalf("%s: value %q", kv.Key, *kv.Value)
			}
			got = append(got, kv.Key)
		}
		if next == "" {
			return got
		}
		cursor = next
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every page walk returns exactly the prefix's keys, in order, once each,
// whatever the page size and whether the ranges come sorted; another
// prefix's keys never appear.
func TestPrefixPageWalksTheRangeOnce(t *testing.T) {
	want := []string{"a|x1", "a|x2", "a|x3", "a|y1", "a|y2"}
	for _, limit := range []int{1, 2, 3, 5, 7} {
		if got := pages(t, table(false), "a|", limit); !slices.Equal(got, want) {
			t.Errorf("sorted, limit %d: %v, want %v", limit, got, want)
		}
		if got := pages(t, unsortedTable{table(true)}, "a|", limit); !slices.Equal(got, want) {
			t.Errorf("unsorted, limit %d: %v, want %v", limit, got, want)
		}
	}
	if got := pages(t, table(false), "a|y", 1); !slices.Equal(got, []string{"a|y1", "a|y2"}) {
		t.Errorf("prefix a|y: %v", got)
	}
	if got := pages(t, table(false), "c|", 3); len(got) != 0 {
		t.Errorf("prefix c|: %v", got)
	}
}

// A sorted range stops after the page: reading the first page of 2 reads
// 3 keys, not the range.
func TestPrefixPageReadsOnlyThePage(t *testing.T) {
	f := table(false)
	if _, _, err := PrefixPage[string](f, "a|", Page{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	if f.read != 3 {
		t.Errorf("read %d keys for a page of 2, want 3", f.read)
	}
}

// A cursor of another prefix (another tenant's) or garbage is 400.
func TestPrefixPageRejectsForeignCursors(t *testing.T) {
	_, next, err := PrefixPage[string](table(false), "b|", Page{Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("next %q, %v", next, err)
	}
	r := NewRequest(t.Context(), Scope{}, url.Values{"cursor": {next}}, nil)
	p, err := r.PageOf()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := PrefixPage[string](table(false), "a|", p); AsError(err).Kind != KindInvalid {
		t.Errorf("b's cursor on a: %v, want 400", err)
	}
	for _, c := range []string{"!!", "%"} {
		r := NewRequest(t.Context(), Scope{}, url.Values{"cursor": {c}}, nil)
		if _, err := r.PageOf(); err == nil || AsError(err).Kind != KindInvalid {
			t.Errorf("cursor %q: %v, want 400", c, err)
		}
	}
}
