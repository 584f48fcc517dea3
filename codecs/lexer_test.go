package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The lexer's contract: where decodeFast takes a message, its event or
// rejection is exactly decodeSlow's (the reference: wellFormed, checkKeys,
// encoding/json); and Decode's result is always decodeSlow's.

func corpus(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, dir := range []string{"../testdata/events/valid", "../testdata/events/invalid"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// sameDecode fails t unless Decode and decodeFast (where it takes in)
// agree with decodeSlow.
func sameDecode(t *testing.T, in []byte) (fast bool) {
	t.Helper()
	want, wantErr := Decoder{}.decodeSlow(in)
	check := func(what string, got *Event, gotErr error) {
		t.Helper()
		if err := sameResult(want, wantErr, got, gotErr); err != nil {
			t.Fatalf("%s of %q: %v", what, in, err)
		}
	}
	got, gotErr := Decoder{}.Decode(in)
	check("Decode", got, gotErr)
	ev, err, ok := decodeFast(in)
	if ok {
		check("decodeFast", ev, err)
	}
	return ok
}

func sameResult(want *Event, wantErr error, got *Event, gotErr error) error {
	switch {
	case wantErr != nil || gotErr != nil:
		var w, g *DecodeError
		if !errors.As(wantErr, &w) || !errors.As(gotErr, &g) || *w != *g {
			return fmt.Errorf("rejected as %v, want %v", gotErr, wantErr)
		}
		if got != nil {
			return fmt.Errorf("rejected (%v) with an event", gotErr)
		}
	case !reflect.DeepEqual(want, got):
		return fmt.Errorf("decoded\n%#v\n%#v, want\n%#v\n%#v", got, got.Payload, want, want.Payload)
	}
	return nil
}

func TestLexerMatchesReferenceOnExamples(t *testing.T) {
	for _, in := range corpus(t) {
		sameDecode(t, in)
	}
	// Every valid example takes the fast path (else it is no faster).
	entries, _ := os.ReadDir("../testdata/events/valid")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			b, _ := os.ReadFile(filepath.Join("../testdata/events/valid", e.Name()))
			if !sameDecode(t, b) {
				t.Errorf("%s takes the slow path", e.Name())
			}
		}
	}
}

// Edge cases of each rule, on top of a valid event: the fast path either
// decodes them as the reference does or leaves them to it.
func TestLexerMatchesReferenceOnEdgeCases(t *testing.T) {
	base := `{"event_id":"e1","event_type":"agent.decision","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{%s}}`
	valid := `"trace_id":"t","decision_id":"d","agent":"router","decision_type":"route","chosen":"a","confidence":0.5`
	cases := []string{
		valid,
		valid + `,"alternatives":[]`,
		valid + `,"alternatives":null`,
		valid + `,"alternatives":[null,{"option":"x","score":-0}]`,
		valid + `,"alternatives":[{"option":"x","score":1e400}]`,
		valid + `,"alternatives":[{"option":"x","score":"1"}]`,
		valid + `,"alternatives":{}`,
		valid + `,"Alternatives":[]`,
		valid + `,"alternatives":[{"Option":"x"}]`,
		valid + `,"unknown":{"a":[1,2,{"b":null}],"c":"\ud83d\ude00"}`,
		valid + `,"unknown":{"a":1,"a":2}`,
		valid + `,"unknown":"\ud800"`,
		valid + `,"unknown":1,"unknown":2`,
		valid + `,"confidence":0.6`,
		valid + `,"reason":"a\"b\\c\/d\n\u00e9\ud83d\ude00 <&>"`,
		valid + `,"reason":null`,
		valid + `,"reason":"\udc00\udc00"`,
		valid + `,"reason":"\ud800\ud800"`,
		valid + `,"reason":"\ud800x"`,
		valid + `,"reason":"\ud800\u0041"`,
		valid + `,"reason":"\ud83d"`,
		valid + `,"reason":"\u00"`,
		valid + `,"reason":"\x"`,
		valid + `,"reason":"` + strings.Repeat("x", 9000) + `"`,
		valid + `,"reason":"\u0000"`,
		valid + `,"reason":"bad \xff byte"`,
		valid + `,"reason":"a` + "\x01" + `"`,
		valid + `,"reason":true`,
		valid + `,"tr\u0061ce_id":"t2"`,
		strings.Replace(valid, `0.5`, `5e-1`, 1),
		strings.Replace(valid, `0.5`, `-0.0`, 1),
		strings.Replace(valid, `0.5`, `1.5`, 1),
		strings.Replace(valid, `0.5`, `01`, 1),
		strings.Replace(valid, `0.5`, `null`, 1),
		strings.Replace(valid, `"chosen":"a"`, `"chosen":""`, 1),
		` ` + valid,
	}
	for _, c := range cases {
		sameDecode(t, []byte(fmt.Sprintf(base, c)))
	}
	for _, in := range []string{
		``, ` `, `null`, `[]`, `"x"`, `{}`, `{"data":{}}`, `{} x`, `{"event_id":"e"`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","agent":"a","step":1,"content":"c","tokens":12345678901234567890}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","agent":"a","step":1.0,"content":"c"}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","agent":"a","step":-9223372036854775808,"content":"c"}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","agent":"a","step":1e2,"content":"c"}}`,
		`{"data":{"trace_id":"t","agent":"a","step":1,"content":"c"},"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai"}`,
		`{"data":{"trace_id":"t","agent":"a","step":"1","content":"c"},"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai"}`,
		`{"data":{"x":1},"event_id":"e1","event_type":"nope","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai"}`,
		`{"data":{"x":1},"event_id":"e1","event_type":"nope","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","Source":"x"}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00+01:00","source":"ai","data":{"trace_id":"t","agent":"a","step":1,"content":"c"}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"1969-12-31T23:59:59Z","source":"ai","data":{"trace_id":"t","agent":"a","step":1,"content":"c"}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":null,"source":"ai","data":{"trace_id":"t","agent":"a","step":1,"content":"c"}}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":null}`,
		`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":[]}`,
		`{"event_id":"e1","event_type":"audit.recorded","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"actor":"a","action":"b","resource":"c","outcome":"success","details":{"k":"v","K":null}}}`,
		`{"event_id":"e1","event_type":"audit.recorded","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"actor":"a","action":"b","resource":"c","outcome":"success","details":{"k":"v","k":"w"}}}`,
		`{"event_id":"e1","event_type":"audit.recorded","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"actor":"a","action":"b","resource":"c","outcome":"success","details":{}}}`,
		`{"event_id":"e1","event_type":"agent.span","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","span_id":"s","agent":"a","name":"n","status":"error","start_time":"2025-03-15T10:00:00Z","end_time":"2025-03-15T10:00:01.5Z","error":{"type":"x","Message":"m"}}}`,
		`{"event_id":"e1","event_type":"agent.span","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","span_id":"s","agent":"a","name":"n","status":"ok","start_time":"2025-03-15T10:00:00Z","end_time":"2025-03-15T10:00:01.5Z","error":null}}`,
		`{"event_id":"e1","event_type":"query.lineage","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"query_id":"q","sql":"select 1","dialect":"d","sources":["a",null],"targets":[],"columns":[{"target":null,"sources":[]}],"user_id":"u","status":"success"}}`,
		`{"event_id":"e1","event_type":"agent.metrics","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"agent":"a","model":"m","latency_ms":1.5,"tokens_in":1,"tokens_out":2,"cost_usd":0.001,"status":"ok","quality_score":null}}`,
		`{"event_id":"e1","event_type":"agent.metrics","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"agent":"a","model":"m","latency_ms":1.5,"tokens_in":1,"tokens_out":2,"cost_usd":0.001,"status":"ok","quality_score":0.25}}`,
		`{"event_id":"e1","event_type":"feedback.submitted","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"response_id":"r","trace_id":"t","session_id":"s","user_id":"u","agent":"a","model":"m","score":3,"categories":["slow","other"]}}`,
		`{"event_id":"e1","event_type":"feedback.submitted","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"response_id":"r","trace_id":"t","session_id":"s","user_id":"u","agent":"a","model":"m","score":null,"thumbs":"up"}}`,
		`{"event_id":"e1","event_type":"feedback.submitted","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"response_id":"r","trace_id":"t","session_id":"s","user_id":"u","agent":"a","model":"m","score":3,"categories":"slow"}}`,
	} {
		sameDecode(t, []byte(in))
	}
	// Nesting is counted from the message's root.
	deep := func(n int) []byte {
		return []byte(`{"event_id":"e1","event_type":"agent.thinking","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai","data":{"trace_id":"t","agent":"a","step":1,"content":"c","x":` +
			strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`)
	}
	for _, n := range []int{maxDepth - 3, maxDepth - 2, maxDepth - 1} {
		sameDecode(t, deep(n))
	}
}

// FuzzLexer: on the corpus and its mutations, Decode's result is the
// reference's, and so is decodeFast's wherever it takes the message.
func FuzzLexer(f *testing.F) {
	for _, in := range corpus(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameDecode(t, in) })
}

// TestLexerMatchesReferenceOnRandomPayloads decodes random values of every
// payload type, written by encoding/json with random layout, both ways.
func TestLexerMatchesReferenceOnRandomPayloads(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	const n = 3000
	for i := 0; i < n; i++ {
		typ := registry[r.IntN(len(registry))]
		p := reflect.New(typ.Payload)
		fill(r, p.Elem(), 0)
		data, err := json.Marshal(p.Interface())
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]any{"event_id": "e", "event_type": typ.Name, "tenant_id": "acme", "timestamp": "2025-03-15T10:00:00Z", "source": "ai", "data": json.RawMessage(data)}
		if r.IntN(10) == 0 {
			env["extra"] = map[string]any{"a": []any{1, "x", nil}}
		}
		in, err := json.Marshal(env) // keys sorted: data before event_type
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(2) == 0 {
			in = spaced(r, in)
		}
		if sameDecode(t, in) {
			fast++
		}
	}
	t.Logf("%d of %d random events took the fast path", fast, n)
	if fast < n/4 {
		t.Errorf("only %d of %d random events took the fast path", fast, n)
	}
}

// TestDecodeSignalMatchesEncodingJSON decodes random learning signals both
// ways: json.Unmarshal of the envelope, then of its data.
func TestDecodeSignalMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fast := 0
	const n = 2000
	for i := 0; i < n; i++ {
		var s Signal
		fill(r, reflect.ValueOf(&s).Elem(), 0)
		in, err := json.Marshal(map[string]any{"event_id": "e", "event_type": "learning_signal.x", "tenant_id": "acme", "timestamp": "2025-03-15T10:00:00Z", "source": "aistream", "data": &s})
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(2) == 0 {
			in = spaced(r, in)
		}
		if checkSignal(t, in) {
			fast++
		}
	}
	t.Logf("%d of %d random signals took the fast path", fast, n)
	if fast < n/2 {
		t.Errorf("only %d of %d random signals took the fast path", fast, n)
	}
	for _, in := range []string{`{}`, `{"data":null}`, `{"data":{"weight":1e999}}`, `{"data":{"Signal_id":"x"}}`, `{"data":{"signal_id":"x","signal_id":"y"}}`,
		`{"data":{"feedback":{"timestamp":"bad"}}}`, `{"timestamp":"bad","data":{}}`, `{"data":{"context":{"missing":1}}}`, `{"data":{"revision":1.5}}`, `{"data":{}} x`} {
		checkSignal(t, []byte(in))
	}
}

func checkSignal(t *testing.T, in []byte) bool {
	t.Helper()
	env, s, ok := DecodeSignal(in)
	if !ok {
		return false
	}
	var wantEnv Envelope
	var want Signal
	if err := json.Unmarshal(in, &wantEnv); err != nil {
		t.Fatalf("DecodeSignal took %q, which encoding/json rejects: %v", in, err)
	}
	if err := json.Unmarshal(wantEnv.Data, &want); err != nil {
		t.Fatalf("DecodeSignal took %q, whose data encoding/json rejects: %v", in, err)
	}
	if !reflect.DeepEqual(*env, wantEnv) || !reflect.DeepEqual(*s, want) {
		t.Fatalf("DecodeSignal(%q) =\n%#v\n%#v, want\n%#v\n%#v", in, *env, *s, wantEnv, want)
	}
	return true
}

// spaced adds whitespace between the tokens of valid JSON.
func spaced(r *rand.Rand, in []byte) []byte {
	var out bytes.Buffer
	inString := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		out.WriteByte(c)
		switch {
		case inString && c == '\\':
			i++
			out.WriteByte(in[i])
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':' || c == '{' || c == '['):
			out.WriteString([]string{" ", "\n\t", "\r\n  "}[r.IntN(3)])
		}
	}
	return out.Bytes()
}

// fill sets v to a random value: strings of ASCII, escapes, non-ASCII and
// empties; numbers of every size and sign; nil or empty or long lists;
// times in and out of range.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	if v.Type() == reflect.TypeFor[Time]() {
		if r.IntN(8) == 0 {
			return
		}
		t := time.Unix(r.Int64N(7e9), r.Int64N(2)*r.Int64N(1e9)).UTC()
		if r.IntN(3) == 0 {
			t = t.In(time.FixedZone("", (r.IntN(48)-24)*1800))
		}
		v.Set(reflect.ValueOf(NewTime(t)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randString(r))
	case reflect.Int:
		switch r.IntN(4) {
		case 0:
			v.SetInt(0)
		case 1:
			v.SetInt(int64(r.IntN(10)))
		case 2:
			v.SetInt(r.Int64() - math.MaxInt64/2)
		default:
			v.SetInt(int64(r.IntN(2000) - 500))
		}
	case reflect.Float64:
		switch r.IntN(5) {
		case 0:
			v.SetFloat(0)
		case 1:
			v.SetFloat(r.Float64())
		case 2:
			v.SetFloat(math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7fe)+1)<<52))
		case 3:
			v.SetFloat(float64(r.IntN(100)) / 8)
		default:
			v.SetFloat(-r.Float64() * 1e-7)
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(r, v.Elem(), depth+1)
		}
	case reflect.Slice:
		switch k := r.IntN(4); {
		case k == 0:
		case k == 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := r.IntN(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := 0; i < n; i++ {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		if r.IntN(3) == 0 {
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := r.IntN(4); i > 0; i-- {
			k := reflect.New(v.Type().Key()).Elem()
			fill(r, k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(r, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	}
}

func randString(r *rand.Rand) string {
	parts := []string{"", "a", "acme", "x-1", `"`, `\`, "\n", "\t", "\x00", "\x1f", "é", "🙂", "<&>", "\u2028", "\ufffd", "/", "ſ", "K"}
	var b strings.Builder
	for n := r.IntN(5); n > 0; n-- {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// ValidTenant is the pattern ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$ (the
// envelope's documented rule), on every short string of interesting bytes
// and on lengths around the limit.
func TestValidTenantIsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	alphabet := []string{"a", "Z", "0", ".", "_", ":", "-", "|", " ", "\n", "é", "\x00", "/"}
	var walk func(s string, n int)
	walk = func(s string, n int) {
		if got, want := ValidTenant(s), pattern.MatchString(s); got != want {
			t.Fatalf("ValidTenant(%q) = %v, the pattern says %v", s, got, want)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			walk(s+c, n-1)
		}
	}
	walk("", 3)
	for _, n := range []int{127, 128, 129} {
		for _, s := range []string{strings.Repeat("a", n), "a" + strings.Repeat("-", n-1), strings.Repeat("a", n-1) + "\n"} {
			if got, want := ValidTenant(s), pattern.MatchString(s); got != want {
				t.Fatalf("ValidTenant(%d bytes %q…) = %v, the pattern says %v", len(s), s[:4], got, want)
			}
		}
	}
}

// FuzzDecodeSignal: wherever DecodeSignal takes a message, it decodes what
// encoding/json decodes.
func FuzzDecodeSignal(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 8 {
		var s Signal
		fill(r, reflect.ValueOf(&s).Elem(), 0)
		in, err := json.Marshal(map[string]any{"event_id": "e", "event_type": "learning_signal.x", "tenant_id": "acme", "timestamp": "2025-03-15T10:00:00Z", "source": "aistream", "data": &s})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSignal(t, in) })
}
