package lineage

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// compareDotted is the comparison of the joined strings, prefixes, dots
// inside names and empty parts included.
func TestCompareDottedIsTheJoinedComparison(t *testing.T) {
	parts := []string{"", "a", "a.b", "ab", "a.", ".a", "b", "aa", "a.a", "-", "/", "é"}
	for _, d1 := range parts {
		for _, c1 := range parts {
			for _, d2 := range parts {
				for _, c2 := range parts {
					if got, want := compareDotted(d1, c1, d2, c2), cmp.Compare(d1+"."+c1, d2+"."+c2); got != want {
						t.Fatalf("compareDotted(%q, %q, %q, %q) = %d, want %d", d1, c1, d2, c2, got, want)
					}
				}
			}
		}
	}
}

// insertSorted, replaceSorted and resort give exactly what the handler's
// former append (or assignment) and slices.SortFunc gave, on lists in
// order, out of order and with ties (equal times and ids, different
// content).
func TestSortedUpdatesMatchSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	ref := func() QueryRef {
		return QueryRef{QueryID: []string{"q1", "q2", "q3"}[r.IntN(3)], EventID: []string{"e1", "e2", "e3", "e4", "e5"}[r.IntN(5)],
			At: codecs.NewTime(at.Add(time.Duration(r.IntN(6)) * time.Second))}
	}
	for i := 0; i < 20000; i++ {
		n := r.IntN(24)
		list := make([]QueryRef, n)
		for j := range list {
			list[j] = ref()
		}
		if r.IntN(2) == 0 {
			slices.SortFunc(list, newerQuery)
		}
		x := ref()
		want := append(slices.Clone(list), x)
		slices.SortFunc(want, newerQuery)
		if got := insertSorted(slices.Clone(list), x, newerQuery); !reflect.DeepEqual(got, want) {
			t.Fatalf("insertSorted(%v, %v) = %v, want %v", list, x, got, want)
		}
		if n == 0 {
			continue
		}
		k := r.IntN(n)
		want = slices.Clone(list)
		want[k] = x
		slices.SortFunc(want, newerQuery)
		if got := replaceSorted(slices.Clone(list), k, x, newerQuery); !reflect.DeepEqual(got, want) {
			t.Fatalf("replaceSorted(%v, %d, %v) = %v, want %v", list, k, x, got, want)
		}
		want = slices.Clone(list)
		slices.SortFunc(want, newerQuery)
		if got := resort(slices.Clone(list), newerQuery); !reflect.DeepEqual(got, want) {
			t.Fatalf("resort(%v) = %v, want %v", list, got, want)
		}
	}
}
