package codecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aistream/aistream/codecs"
)

// FuzzDecode: Decode never panics, rejects only with a *DecodeError, and
// every accepted event re-encodes to something that decodes to the same
// event (and re-encodes to the same bytes).
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{validDir, invalidDir} {
		for _, b := range readDir(f, dir) {
			f.Add(b)
		}
	}
	// Earlier findings: empty map re-encoded as absent; a keys matched
	// without case; a zone offset taking the year out of RFC 3339.
	f.Add([]byte(`{"event_id":"0","event_tYpe":"audit.recorded","tenAnt_id":"0","timestAmp":"0000-01-01T00:00:00Z","sourCe":"0","dAtA":{"ACtor":"0","ACtion":"0","resourCe":"0","outCome":"success","detAils":{}}}`))
	f.Add([]byte(`{"event_id":"0","event_type":"audit.recorded","tenant_id":"0","timestamp":"2025-03-15T10:00:00Z","source":"0","data":{"actor":"0","action":"0","resource":"0","outcome":"success","details":{}}}`))
	f.Add([]byte(`{"event_id":"0","event_type":"audit.recorded","tenant_id":"0","timestamp":"0000-01-01T00:00:00+01:00","source":"0","data":{"actor":"0","action":"0","resource":"0","outcome":"success"}}`))
	// Seeds for the checks Python needs: a repeated key, one of them
	// escaped; a lone surrogate after an escaped backslash.
	f.Add([]byte(`{"event_id":"0","event_type":"audit.recorded","tenant_id":"0","timestamp":"2025-03-15T10:00:00Z","source":"0","data":{"actor":"0","action":"0","resource":"0","outcome":"success","details":{"a":"","\u0061":""}}}`))
	f.Add([]byte(`{"event_id":"0","event_type":"audit.recorded","tenant_id":"0","timestamp":"2025-03-15T10:00:00Z","source":"0","data":{"actor":"\\ufffd\ud800","action":"0","resource":"0","outcome":"success"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := codecs.Decoder{}.Decode(in)
		// What Python's json.loads(in.decode("utf-8")) reads as Go does:
		// UTF-8, JSON, no lone surrogate, no repeated key. Each is checked
		// here by other means than Decode's.
		isUTF8, isJSON := utf8.Valid(in), json.Valid(in)
		var lone, repeated bool
		if isUTF8 && isJSON {
			lone, repeated = readsLikePython(t, in)
		}
		if err != nil {
			var de *codecs.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("rejection %T (%v) is not a *codecs.DecodeError", err, err)
			}
			if de.Reason == "" {
				t.Fatalf("rejection without a reason: %v", err)
			}
			if ev != nil {
				t.Fatalf("rejected (%v) but returned an event", err)
			}
			var want codecs.Reason
			switch {
			case !isUTF8:
				want = codecs.ReasonInvalidUTF8
			case !isJSON:
				want = codecs.ReasonNotJSON
			case lone || repeated:
				if de.Reason != codecs.ReasonInvalidUTF8 && de.Reason != codecs.ReasonDuplicateKey ||
					de.Reason == codecs.ReasonInvalidUTF8 && !lone || de.Reason == codecs.ReasonDuplicateKey && !repeated {
					t.Fatalf("lone surrogate %v, repeated key %v, rejected as %v", lone, repeated, err)
				}
				return
			}
			if want != "" && de.Reason != want || want == "" && (de.Reason == codecs.ReasonInvalidUTF8 || de.Reason == codecs.ReasonNotJSON || de.Reason == codecs.ReasonDuplicateKey) {
				t.Fatalf("UTF-8 %v, JSON %v, no lone surrogate or repeated key: rejected as %v", isUTF8, isJSON, err)
			}
			return
		}
		if ev == nil || ev.Payload == nil {
			t.Fatalf("accepted without an event: %+v", ev)
		}
		if !isUTF8 || !isJSON || lone || repeated {
			t.Fatalf("accepted %q: UTF-8 %v, JSON %v, lone surrogate %v, repeated key %v", in, isUTF8, isJSON, lone, repeated)
		}
		// Keys are case-sensitive: no accepted envelope or payload object
		// has a key that matches a field only without case.
		var top map[string]any
		if err := json.Unmarshal(in, &top); err != nil {
			t.Fatalf("accepted %q, which is not an object: %v", in, err)
		}
		foldedKeys(t, top, reflect.TypeFor[codecs.Envelope]())
		foldedKeys(t, top["data"].(map[string]any), reflect.TypeOf(ev.Payload).Elem())

		out, err := codecs.Encode(ev.Envelope, ev.Payload)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", in, err)
		}
		again, err := codecs.Decoder{}.Decode(out)
		if err != nil {
			t.Fatalf("accepted %q, re-encoded as %s, which is rejected: %v", in, out, err)
		}
		if err := sameEvent(ev, again); err != nil {
			t.Fatalf("accepted %q, re-encoded as %s, decoded differently: %v", in, out, err)
		}
		out2, err := codecs.Encode(again.Envelope, again.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", out, out2)
		}
	})
}

// readsLikePython walks valid JSON with encoding/json's tokenizer and
// reports whether it has a \u escape of a lone surrogate (the tokenizer
// reads it as U+FFFD, which then outnumbers the U+FFFD written) and whether
// an object has a key twice.
func readsLikePython(t *testing.T, in []byte) (lone, repeated bool) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	type frame struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*frame
	read := 0 // U+FFFD in the strings read
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("json.Valid accepted %q, its tokenizer fails: %v", in, err)
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			read += strings.Count(tok, "\uFFFD")
			if top := len(stack) - 1; top >= 0 && stack[top].keys != nil && stack[top].expectKey {
				repeated = repeated || stack[top].keys[tok]
				stack[top].keys[tok] = true
				stack[top].expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
	return read > writtenReplacements(in), repeated
}

// writtenReplacements counts the U+FFFD a valid JSON text writes, as UTF-8
// or as \ufffd.
func writtenReplacements(in []byte) int {
	n := bytes.Count(in, []byte("\uFFFD"))
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' {
			continue
		}
		if in[i+1] == 'u' && strings.EqualFold(string(in[i+2:i+6]), "fffd") {
			n++
		}
		i++ // the escaped character; the digits of \u cannot hold a backslash
	}
	return n
}

func foldedKeys(t *testing.T, obj map[string]any, st reflect.Type) {
	t.Helper()
	for i := 0; i < st.NumField(); i++ {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		for key := range obj {
			if key != name && strings.EqualFold(key, name) {
				t.Fatalf("accepted key %q for field %q", key, name)
			}
		}
	}
}
