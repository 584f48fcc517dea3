package responses

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
)

// TableCodec writes what codecs.JSON[Response] (goccy/go-json) writes, byte
// for byte, and reads it back, on random responses.
func TestTableCodecMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	parts := []string{"", "a", "acme", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", "é", "🙂", "<&>", "\u2028", "\u2029", "\ufffd", "\xff", "/"}
	str := func() string {
		var b strings.Builder
		for n := r.IntN(5); n > 0; n-- {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	strs := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	num := func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7fe)+1)<<52)
		case 2:
			return r.Float64() * 1e-8
		}
		return float64(r.IntN(1e6)) / 1000
	}
	lexed := 0
	for i := 0; i < 3000; i++ {
		resp := Response{TenantID: str(), ResponseID: str(), Dropped: r.IntN(3) * r.IntN(100)}
		if r.IntN(4) > 0 {
			resp.Signals = []Entry{}
		}
		for n := r.IntN(4); n > 0 && resp.Signals != nil; n-- {
			var score *int
			if r.IntN(2) == 0 {
				s := r.IntN(7) - 1
				score = &s
			}
			resp.Signals = append(resp.Signals, Entry{
				SignalID: str(), EventID: str(), SignalType: str(), Revision: r.IntN(5) - 1, Weight: num(),
				TraceID: str(), SessionID: str(), UserID: str(), Agent: str(), Model: str(),
				Feedback: codecs.SignalFeedback{EventID: str(), Timestamp: codecs.NewTime(time.Unix(r.Int64N(7e9), r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(48)-24)*1800))),
					Thumbs: str(), Score: score, Categories: strs(), Comment: str()},
				Supersedes: str(), SupersededBy: str(), Current: r.IntN(2) == 0,
				Context: Summary{Missing: r.IntN(2) == 0, Agents: strs(), Models: strs(), Decisions: r.IntN(3), SpanErrors: r.IntN(3),
					LatencyMS: num(), TokensIn: r.IntN(1e6), TokensOut: r.Int() - math.MaxInt/2, Truncated: r.IntN(2) == 0},
			})
		}
		for n := r.IntN(3); n > 0; n-- {
			resp.Offsets = append(resp.Offsets, stream.Offset{Topic: str(), Partition: r.Int32(), Offset: r.Int64() - math.MaxInt64/2})
		}
		if r.IntN(5) == 0 {
			resp.Offsets = stream.Offsets{}
		}
		want, err := codecs.JSON[Response]{}.Encode(&resp)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []any{&resp, resp} {
			got, err := TableCodec{}.Encode(v)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("TableCodec wrote (%v)\n%s\ncodecs.JSON writes\n%s", err, got, want)
			}
		}
		// overBudget's measure is the encoded length.
		head := resp
		head.Signals = nil
		size := len(must(TableCodec{}.Encode(head)))
		for _, e := range resp.Signals {
			size += codecs.EncodedLen(e) + 1
		}
		// The head has "signals":null where the response has its entries
		// in brackets, and the sum counts a comma per entry: 3 bytes more.
		if len(resp.Signals) > 0 && size != len(want)+3 {
			t.Fatalf("size sum %d for %d bytes", size, len(want))
		}
		if got := overBudget(&resp); len(want) < maxResponseBytes && got != 0 {
			t.Fatalf("overBudget = %d for %d bytes", got, len(want))
		}
		back, err := TableCodec{}.Decode(want)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := codecs.JSON[Response]{}.Decode(want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, ref) {
			t.Fatalf("read\n%#v\ncodecs.JSON reads\n%#v", back, ref)
		}
		if _, ok := lexResponse(want); ok {
			lexed++
		}
		again := must(TableCodec{}.Encode(back))
		if !bytes.Equal(again, want) && utf8Clean(want) {
			t.Fatalf("read back and written again:\n%s\nwant\n%s", again, want)
		}
	}
	t.Logf("%d of 3000 states read by the lexer", lexed)
	if lexed < 1000 {
		t.Errorf("only %d of 3000 states read by the lexer", lexed)
	}
	if _, err := (TableCodec{}).Encode(&Response{Signals: []Entry{{Weight: math.NaN()}}}); err == nil {
		t.Error("NaN encoded")
	}
	if _, err := (TableCodec{}).Encode("x"); err == nil {
		t.Error("a string encoded")
	}
}

func utf8Clean(b []byte) bool { return !bytes.Contains(b, []byte(`\ufffd`)) }

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// States the lexer does not take are read by the reference, unchanged.
func TestTableCodecUnusualStates(t *testing.T) {
	for _, in := range []string{
		`null`, `{}`, `{"signals":null}`, `{"signals":[]}`, `{"signals":[null]}`,
		`{"signals":[{"feedback":{"timestamp":"1900-01-01T00:00:00Z"}}]}`,
		`{"signals":[{"Signal_ID":"x"}]}`, `{"tenant_\u0069d":"x"}`, `{"dropped":1.5}`,
		`{"offsets":[{"topic":"t","partition":4294967296,"offset":1}]}`,
		`{"signals":[{"signal_id":"a","signal_id":"b"}]}`, `{"unknown":[1,{"a":"b"}],"tenant_id":"t"}`,
	} {
		got, err := TableCodec{}.Decode([]byte(in))
		want, wantErr := codecs.JSON[Response]{}.Decode([]byte(in))
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(%s) = %#v, %v; codecs.JSON reads %#v, %v", in, got, err, want, wantErr)
		}
	}
}
