package codecs_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/aistream/aistream/codecs"
)

// BenchmarkDecode decodes each valid example: the path every consumed event
// takes.
func BenchmarkDecode(b *testing.B) {
	files := readDir(b, validDir)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		in := files[name]
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := (codecs.Decoder{}).Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
