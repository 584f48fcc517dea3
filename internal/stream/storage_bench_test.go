package stream

import (
	"fmt"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
)

// BenchmarkStorageWrites is a processor's table writes as goka makes them
// (Set, then SetOffset once the changelog acknowledged it) on aistream's
// leveldb storage: a hot key whose value is a large graph, and spread keys
// with small values. It reports the bytes leveldb wrote per write
// (journal and tables), the figure the per-key merge lowers.
func BenchmarkStorageWrites(b *testing.B) {
	for _, c := range []struct {
		name  string
		keys  int
		value int
	}{{"hot-key-200KB", 1, 200_000}, {"spread-1KB", 100_000, 1_000}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := leveldbBuilder(b.TempDir())("table", 0)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.MarkRecovered(); err != nil {
				b.Fatal(err)
			}
			value := make([]byte, c.value)
			keys := make([]string, c.keys)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%06d", i)
			}
			db := st.(*leveldbStorage).db
			var before leveldb.DBStats
			if err := db.Stats(&before); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				value[i%len(value)]++
				if err := st.Set(keys[i%len(keys)], value); err != nil {
					b.Fatal(err)
				}
				if err := st.SetOffset(int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var after leveldb.DBStats
			if err := db.Stats(&after); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(after.IOWrite-before.IOWrite)/float64(b.N), "leveldb-B/write")
		})
	}
}
