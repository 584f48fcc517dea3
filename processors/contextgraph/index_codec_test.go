package contextgraph

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// Every index value, stream record and loop record round-trips through
// its binary form, and their earlier JSON forms still decode to the same.
func TestIndexCodecsRoundTripAndReadJSON(t *testing.T) {
	at := time.Date(2025, 3, 15, 10, 0, 0, 123456789, time.UTC)
	sum := &TraceSummary{TenantID: "acme", TraceID: "tr-1", Started: codecs.NewTime(at), Agents: []string{"planner", "sql é"}, Status: "error"}
	empty := &TraceSummary{TenantID: "acme", TraceID: "tr-2", Started: codecs.NewTime(at), Agents: []string{}, Status: "ok"}
	for _, v := range []any{
		sum, empty,
		&indexMeta{M: 1, Newest: at, Swept: at.Add(-time.Hour).Truncate(indexBucket)},
		&indexMeta{M: 1, Keys: []string{"acme|a|b", "acme|c|d"}, Dropped: 3},
	} {
		b, err := indexCodec{}.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := indexCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("%+v: %v", v, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("binary: got %+v, want %+v", got, v)
		}
		j, _ := json.Marshal(v)
		got, err = indexCodec{}.Decode(j)
		if err != nil {
			t.Fatalf("JSON %s: %v", j, err)
		}
		jj, _ := json.Marshal(got)
		if string(jj) != string(j) {
			t.Errorf("JSON: got %s, want %s", jj, j)
		}
	}
	for _, u := range []*IndexUpdate{{Summary: sum}, {Summary: empty}, {Delete: true}} {
		got, err := decodeUpdate(encodeUpdate(u))
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Errorf("update: got %+v (%v), want %+v", got, err, u)
		}
		j, _ := json.Marshal(u)
		got, err = decodeUpdate(j)
		if jj, _ := json.Marshal(got); err != nil || string(jj) != string(j) {
			t.Errorf("JSON update: got %s (%v), want %s", jj, err, j)
		}
	}
	for _, m := range []*retentionMsg{{Key: "acme|k", Tenant: "acme", Start: at}, {Key: "k", Add: true}, {Sweep: true}, {Delete: true}} {
		b, _ := retentionCodec{}.Encode(m)
		got, err := retentionCodec{}.Decode(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("loop: got %+v (%v), want %+v", got, err, m)
		}
		j, _ := json.Marshal(m)
		got, err = retentionCodec{}.Decode(j)
		if err != nil || !got.(*retentionMsg).Start.Equal(m.Start) || got.(*retentionMsg).Key != m.Key {
			t.Errorf("JSON loop: got %+v (%v), want %+v", got, err, m)
		}
	}
}

// Truncated, unknown and trailing input is an error, never a value.
func TestIndexCodecsRejectCorruptInput(t *testing.T) {
	b, _ := indexCodec{}.Encode(&indexMeta{Keys: []string{"acme|a|b"}})
	s, _ := indexCodec{}.Encode(&TraceSummary{TenantID: "acme", TraceID: "t", Agents: []string{"a"}})
	u := encodeUpdate(&IndexUpdate{Summary: &TraceSummary{TenantID: "acme", TraceID: "t"}})
	l, _ := retentionCodec{}.Encode(&retentionMsg{Key: "k", Tenant: "acme"})
	for _, in := range [][]byte{b, s} {
		for i := range len(in) {
			if _, err := (indexCodec{}).Decode(in[:i]); err == nil {
				t.Errorf("index value cut at %d of %d decoded", i, len(in))
			}
		}
		if _, err := (indexCodec{}).Decode(append(append([]byte(nil), in...), 0)); err == nil {
			t.Error("trailing byte accepted")
		}
	}
	for i := range len(u) {
		if _, err := decodeUpdate(u[:i]); err == nil {
			t.Errorf("update cut at %d of %d decoded", i, len(u))
		}
	}
	for i := range len(l) {
		if _, err := (retentionCodec{}).Decode(l[:i]); err == nil {
			t.Errorf("loop record cut at %d of %d decoded", i, len(l))
		}
	}
	if _, err := (indexCodec{}).Decode([]byte{9, 1, 2}); err == nil {
		t.Error("unknown version decoded")
	}
}

// Index keys are stored: hex16 must write exactly what %016x wrote.
func TestHex16IsPaddedHex(t *testing.T) {
	for _, n := range []uint64{0, 1, 0xf, 0x10, 0xdeadbeef, 1<<63 - 1, 1 << 63, 1<<64 - 1, uint64(math.MaxInt64 - 1742032800000)} {
		if got, want := hex16(n), fmt.Sprintf("%016x", n); got != want {
			t.Errorf("hex16(%d) = %q, want %q", n, got, want)
		}
	}
}
