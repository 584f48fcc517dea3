package codecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

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
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := codecs.Decoder{}.Decode(in)
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
			return
		}
		if ev == nil || ev.Payload == nil {
			t.Fatalf("accepted without an event: %+v", ev)
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
