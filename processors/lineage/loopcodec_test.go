package lineage_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/topology"
)

func randUpdate(r *rand.Rand) *lineage.Update {
	s := func() string {
		return []string{"", "acme", "default.wh.orders", "id", `"quoted"`, "é🙂", "\x00\n"}[r.IntN(7)]
	}
	list := func() []string {
		if r.IntN(3) == 0 {
			return nil
		}
		l := make([]string, 1+r.IntN(4))
		for i := range l {
			l[i] = s()
		}
		return l
	}
	u := &lineage.Update{TenantID: s(), Dataset: s(), Upstream: list(), Downstream: list(),
		Query: lineage.QueryRef{QueryID: s(), SQLHash: s(), Dialect: s(), UserID: s(), TraceID: s(), Status: s(), EventID: s(),
			At: codecs.NewTime(time.Unix(r.Int64N(7e9), r.Int64N(1e9)).UTC())}}
	for n := r.IntN(3); n > 0; n-- {
		u.Columns = append(u.Columns, lineage.ColumnEdge{From: codecs.ColumnRef{Dataset: s(), Column: s()}, To: codecs.ColumnRef{Dataset: s(), Column: s()}})
	}
	return u
}

// A node update reads back as written, and its earlier JSON form (loop
// records written before the binary form) reads back the same.
func TestUpdateCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		u := randUpdate(r)
		b, err := lineage.UpdateCodec{}.Encode(u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lineage.UpdateCodec{}.Decode(b)
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("binary: got %+v (%v), want %+v", got, err, u)
		}
		j, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := lineage.UpdateCodec{}.Decode(j)
		if err != nil {
			t.Fatal(err)
		}
		// JSON keeps the time's location apart; the handler makes it UTC.
		fj := fromJSON.(*lineage.Update)
		if !fj.Query.At.Equal(u.Query.At.Time) {
			t.Fatalf("JSON: at %v, want %v", fj.Query.At, u.Query.At)
		}
		fj.Query.At = u.Query.At
		if !reflect.DeepEqual(fj, u) {
			t.Fatalf("JSON: got %+v, want %+v", fj, u)
		}
	}
	// Every cut of a valid value is refused, never a panic.
	b, _ := lineage.UpdateCodec{}.Encode(randUpdate(r))
	for n := 0; n < len(b); n++ {
		if _, err := (lineage.UpdateCodec{}).Decode(b[:n]); err == nil {
			t.Fatalf("a value cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// A loop record in no form aistream writes is dead-lettered with its bytes
// and the group goes on (it used to stop the group); a JSON one written
// before the binary form is applied.
func TestBadLoopRecordIsDeadLettered(t *testing.T) {
	h := newHarness(t, lineage.DefaultConfig())
	loop := topology.GroupLoop(string(stream.Prefix(prefix).Group(lineage.Name)))
	for _, bad := range [][]byte{[]byte("\x07junk"), []byte("{not json"), {}} {
		h.tt.Consume(loop, "acme|default.default.x", bad)
		_, dl, ok := h.dead.NextRaw()
		if !ok || string(dl) != string(bad) {
			t.Fatalf("loop record %q: dead letter %q, %v", bad, dl, ok)
		}
	}
	old, _ := json.Marshal(lineage.Update{TenantID: "acme", Dataset: "default.default.x",
		Query:    lineage.QueryRef{QueryID: "q", EventID: "e-1", Status: "success", At: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC))},
		Upstream: []string{"default.default.s"}})
	h.tt.Consume(loop, "acme|default.default.x", old)
	if n := h.mustNode("acme", "default.default.x"); n.Events != 1 || n.Upstream["default.default.s"] == nil {
		t.Fatalf("JSON update not applied: %+v", n)
	}
	h.send(ev{id: "e-2", data: codecs.Lineage{Sources: []string{"s"}, Targets: []string{"x"}}})
	if n := h.mustNode("acme", "default.default.x"); n.Events != 2 {
		t.Fatalf("the group stopped after bad loop records: %d events", n.Events)
	}
}
