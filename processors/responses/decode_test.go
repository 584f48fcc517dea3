package responses

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aistream/aistream/codecs"
)

// referenceDecode is decode as it was before codecs.DecodeSignal: the
// oracle decode must match, result and rejection.
func referenceDecode(raw []byte) (*codecs.Envelope, *codecs.Signal, error) {
	var env codecs.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, nil, codecs.Reject(codecs.ReasonNotJSON, "", "not a learning signal envelope: %v", err)
	}
	if !strings.HasPrefix(env.EventType, codecs.SignalTypePrefix) {
		return nil, nil, codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q is not a learning signal (%s*)", env.EventType, codecs.SignalTypePrefix)
	}
	if !codecs.ValidTenant(env.TenantID) {
		return nil, nil, codecs.Reject(codecs.ReasonInvalidValue, "tenant_id", "%q is not a valid tenant id", env.TenantID)
	}
	var s codecs.Signal
	if err := json.Unmarshal(env.Data, &s); err != nil {
		return nil, nil, codecs.Reject(codecs.ReasonWrongType, "data", "not a learning signal: %v", err)
	}
	switch {
	case s.SignalID == "":
		return nil, nil, codecs.Reject(codecs.ReasonMissingField, "data.signal_id", "required")
	case s.ResponseID == "":
		return nil, nil, codecs.Reject(codecs.ReasonMissingField, "data.response_id", "required")
	case s.Revision < 1:
		return nil, nil, codecs.Reject(codecs.ReasonInvalidValue, "data.revision", "must be >= 1, got %d", s.Revision)
	}
	return &env, &s, nil
}

func sameAsReference(t *testing.T, raw []byte) {
	t.Helper()
	env, s, err := decode(raw)
	wantEnv, wantS, wantErr := referenceDecode(raw)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("decode(%q): error %v, want %v", raw, err, wantErr)
	}
	if !reflect.DeepEqual(env, wantEnv) || !reflect.DeepEqual(s, wantS) {
		t.Fatalf("decode(%q) =\n%#v\n%#v, want\n%#v\n%#v", raw, env, s, wantEnv, wantS)
	}
}

// Signals as the context-graph group writes them, their mutations and what
// the dead-letter test sends: decode's result is the reference's.
func TestDecodeMatchesReference(t *testing.T) {
	ins := [][]byte{
		[]byte(`nope`), []byte(`{"event_type":"feedback.submitted","tenant_id":"acme","data":{}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s"}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","response_id":"r","revision":1}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"ac|me","data":{"signal_id":"s","response_id":"r","revision":1}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","response_id":"r","revision":1.5}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","Response_ID":"r","revision":1}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","response_id":"r","response_id":"q","revision":1}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","response_id":"r\xff","revision":1}}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":null}`),
		[]byte(`{"event_type":"learning_signal.x","tenant_id":"acme"}`),
	}
	for n := range 40 {
		in := benchSignal(t, n, "resp-1")
		if _, _, ok := codecs.DecodeSignal(in); !ok {
			t.Errorf("a signal as the context graph writes it takes the slow path: %s", in)
		}
		ins = append(ins, in)
	}
	for _, in := range ins {
		sameAsReference(t, in)
		// Every cut of it too.
		for i := 0; i < len(in); i += 7 {
			sameAsReference(t, in[:i])
		}
	}
}

func FuzzDecode(f *testing.F) {
	for n := range 4 {
		f.Add(benchSignal(f, n, "resp-1"))
	}
	f.Add([]byte(`{"event_type":"learning_signal.x","tenant_id":"acme","data":{"signal_id":"s","response_id":"r","revision":1}}`))
	f.Fuzz(func(t *testing.T, in []byte) { sameAsReference(t, in) })
}
