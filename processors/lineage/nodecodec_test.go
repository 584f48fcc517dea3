package lineage_test

import (
	"bytes"
	"encoding/json"
	"github.com/aistream/aistream/internal/stream"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/lineage"
)

// richNode is a node at the bounds of c with every field set, an empty and
// a repeated string among its query references.
func richNode(c lineage.Config) *lineage.Node {
	n := fullNode(c, "wh.hot.t", codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 123456789, time.UTC)))
	n.Evicted = lineage.Evicted{Edges: 3, Columns: 2, ColumnLinks: 1}
	n.Applied = []uint64{1, 1 << 63, 42}
	n.Upstream["wh.src.table0"].Recent[0].TraceID = ""
	n.Upstream["wh.src.table1"].Recent[1].Status = "failed"
	return n
}

func TestNodeCodecRoundTrip(t *testing.T) {
	n := richNode(lineage.DefaultConfig())
	raw, err := lineage.NodeCodec{}.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	v, err := lineage.NodeCodec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(n)
	got, _ := json.Marshal(v)
	if string(got) != string(want) {
		t.Errorf("round trip changed the node:\n%.300s\n%.300s", want, got)
	}
	again, _ := lineage.NodeCodec{}.Encode(v)
	if string(again) != string(raw) {
		t.Error("re-encoding a decoded node changed its bytes")
	}
	if js, _ := json.Marshal(n); len(raw)*3 > len(js) {
		t.Errorf("binary node %d bytes, JSON %d: want under a third", len(raw), len(js))
	}
	// A damaged value is an error, never a panic or a partial node.
	for i := 0; i < len(raw); i += 1 + i/16 {
		if _, err := (lineage.NodeCodec{}).Decode(raw[:i]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", i, len(raw))
		}
	}
	if _, err := (lineage.NodeCodec{}).Decode([]byte(`{"tenant_id":"acme"}`)); err == nil {
		t.Error("a JSON value decoded as a node")
	}
}

// The table holds NodeCodec's bytes: a refactored codec must write exactly
// what the released one wrote, and read it back. Version 2 is the released
// version 1 bytes (node-v1.bin) with its version byte and a trailing count
// (no offsets); the released bytes still decode.
func TestNodeCodecWritesTheGoldenBytes(t *testing.T) {
	v1, err := os.ReadFile("testdata/golden/node-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	golden := append(append([]byte{2}, v1[1:]...), 0)
	// Small bounds keep the golden file small; the layout is the same.
	c := lineage.DefaultConfig()
	c.RecentQueries, c.MaxEdges, c.MaxColumns, c.RecentTraces = 3, 3, 4, 3
	n := richNode(c)
	raw, err := lineage.NodeCodec{}.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, golden) {
		i := 0
		for i < min(len(raw), len(golden)) && raw[i] == golden[i] {
			i++
		}
		t.Fatalf("encoded node (%d bytes) differs from testdata/golden/node-v1.bin as version 2 (%d bytes) from byte %d", len(raw), len(golden), i)
	}
	want, _ := json.Marshal(n)
	for _, b := range [][]byte{golden, v1} {
		v, err := lineage.NodeCodec{}.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(v); !bytes.Equal(got, want) {
			t.Errorf("golden node (version %d) decoded differently:\n got %.300s\nwant %.300s", b[0], got, want)
		}
	}
	n.Offsets = stream.Offsets{{Topic: "p-query-lineage-loop", Partition: 2, Offset: 99}}
	raw, err = lineage.NodeCodec{}.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	back, err := lineage.NodeCodec{}.Decode(raw)
	if err != nil || !reflect.DeepEqual(back.(*lineage.Node).Offsets, n.Offsets) {
		t.Errorf("offsets did not round-trip: %+v, %v", back, err)
	}
}

// BenchmarkNodeCodec encodes and decodes a node at the default bounds (the
// worst case of a node update) and a small one.
func BenchmarkNodeCodec(b *testing.B) {
	small := lineage.DefaultConfig()
	small.RecentQueries, small.MaxEdges, small.MaxColumns, small.RecentTraces = 3, 3, 4, 3
	for _, c := range []struct {
		name string
		cfg  lineage.Config
	}{{"at-bounds", lineage.DefaultConfig()}, {"small", small}} {
		n := richNode(c.cfg)
		raw, err := lineage.NodeCodec{}.Encode(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/Encode", func(b *testing.B) {
			for b.Loop() {
				if _, err := (lineage.NodeCodec{}).Encode(n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "bytes/node")
		})
		b.Run(c.name+"/Decode", func(b *testing.B) {
			for b.Loop() {
				if _, err := (lineage.NodeCodec{}).Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "bytes/node")
		})
	}
}

// FuzzNodeCodecDecode feeds damaged nodes to the decoder: an error, never a
// panic, and what it accepts encodes to a value it accepts again.
func FuzzNodeCodecDecode(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/node-v1.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := lineage.NodeCodec{}.Decode(b)
		if err != nil {
			return
		}
		again, err := lineage.NodeCodec{}.Encode(v)
		if err != nil {
			t.Fatalf("decoded node does not encode: %v", err)
		}
		if _, err := (lineage.NodeCodec{}).Decode(again); err != nil {
			t.Fatalf("re-encoded node does not decode: %v", err)
		}
	})
}
