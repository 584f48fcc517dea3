package api

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/lovoo/goka"
)

// Pagination bounds of every list route: limit defaults to DefaultLimit and
// may go up to MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Ranger is a Table that iterates a key range, as goka's View does (one
// leveldb range per partition, merged in key order). PrefixPage needs it.
type Ranger interface {
	IteratorWithRange(start, limit string) (goka.Iterator, error)
}

// UnsortedRanger is a Ranger whose ranges are not in key order: goka's
// tester keeps tables in memory in insertion order. PrefixPage then reads
// the whole range instead of stopping after the page.
type UnsortedRanger interface {
	Ranger
	UnsortedRanges()
}

// Page is the pagination of one list request: Limit items after Cursor.
type Page struct {
	Limit int
	// After is the position the decoded cursor names; "" for the first page.
	After string
}

// PageOf reads limit and cursor. A cursor is opaque to clients: it is the
// next_cursor of the previous page of the same route and tenant; anything
// else is 400 bad_cursor.
func (r *Request) PageOf() (Page, error) {
	limit, err := r.Int("limit", DefaultLimit, 1, MaxLimit)
	if err != nil {
		return Page{}, err
	}
	p := Page{Limit: limit}
	if c := r.Query.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 {
			return Page{}, Invalid("bad_cursor", "cursor is not a next_cursor of this endpoint; omit it for the first page")
		}
		p.After = string(b)
	}
	return p, nil
}

// Cursor encodes position as an opaque next_cursor.
func Cursor(position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(position))
}

// KeyValue is one entry of a key range.
type KeyValue[T any] struct {
	Key   string
	Value *T
}

// PrefixPage returns up to p.Limit entries of t whose keys start with prefix
// and sort after p.After, in key order, and the next_cursor ("" on the last
// page). goka's views merge their partitions' leveldb ranges in key order,
// so it reads p.Limit+1 keys of the range (never the table, nor the rest of
// the tenant) and decodes only the page's values. A cursor outside the
// prefix (another route's or another tenant's) is 400 bad_cursor.
func PrefixPage[T any](t Table, prefix string, p Page) ([]KeyValue[T], string, error) {
	return RangePage[T](t, Range{Prefix: prefix}, p)
}

// Range is the part of a table a list reads: keys with Prefix, below End
// when set (End itself excluded), those Keep accepts when set.
type Range struct {
	Prefix string
	End    string
	Keep   func(key string, value any) bool
	// MaxScan bounds the entries Keep may reject in one page (0: 10,000);
	// a page that reaches it ends early, with a next_cursor to go on from.
	MaxScan int
}

// RangePage is PrefixPage over r: with Keep, it decodes the entries it
// scans and stops after p.Limit+1 kept or r.MaxScan scanned.
func RangePage[T any](t Table, r Range, p Page) ([]KeyValue[T], string, error) {
	if !t.Recovered() {
		return nil, "", ErrNotReady
	}
	rg, ok := t.(Ranger)
	if !ok {
		return nil, "", &Error{Kind: KindInternal, Code: "view_error", Message: "this table cannot be listed"}
	}
	start := r.Prefix
	if p.After != "" {
		if !strings.HasPrefix(p.After, r.Prefix) {
			return nil, "", Invalid("bad_cursor", "cursor is not a next_cursor of this list; omit it for the first page")
		}
		start = p.After + "\x00"
	}
	end := prefixEnd(r.Prefix)
	if r.End != "" && (end == "" || r.End < end) {
		end = r.End
	}
	if end != "" && start >= end {
		return []KeyValue[T]{}, "", nil
	}
	maxScan := r.MaxScan
	if maxScan <= 0 {
		maxScan = 10000
	}
	it, err := rg.IteratorWithRange(start, end)
	if err != nil {
		return nil, "", err
	}
	defer it.Release()
	_, unsorted := t.(UnsortedRanger)
	// Keep the smallest Limit+1 keys (sorted, bounded); a sorted range ends
	// there, or where the scan bound stops it.
	keys := make([]string, 0, p.Limit+1)
	scanned, stoppedAt := 0, ""
	for (unsorted || len(keys) <= p.Limit) && it.Next() {
		k := it.Key()
		if k <= p.After || !strings.HasPrefix(k, r.Prefix) || (end != "" && k >= end) {
			continue
		}
		if len(keys) == p.Limit+1 && k >= keys[p.Limit] {
			continue
		}
		if r.Keep != nil {
			v, err := it.Value()
			if err != nil {
				return nil, "", fmt.Errorf("read %q: %w", k, err)
			}
			if !r.Keep(k, v) {
				if scanned++; !unsorted && scanned >= maxScan {
					stoppedAt = k
					break
				}
				continue
			}
		}
		i, _ := slices.BinarySearch(keys, k)
		if len(keys) == p.Limit+1 {
			keys = keys[:p.Limit]
		}
		keys = slices.Insert(keys, i, k)
	}
	if err := it.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	switch {
	case len(keys) > p.Limit:
		keys = keys[:p.Limit]
		next = Cursor(keys[len(keys)-1])
	case stoppedAt != "":
		next = Cursor(stoppedAt)
	}
	out := make([]KeyValue[T], 0, len(keys))
	for _, k := range keys {
		v, err := Lookup[T](t, k)
		if err != nil {
			return nil, "", err
		}
		if v != nil { // deleted between the range and the read
			out = append(out, KeyValue[T]{Key: k, Value: v})
		}
	}
	return out, next, nil
}

// prefixEnd is the smallest key after every key with prefix ("" when none).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
