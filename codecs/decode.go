package codecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	fastjson "github.com/goccy/go-json"
)

// DefaultMaxBytes is the default limit of one event.
const DefaultMaxBytes = 1_000_000

// Decoder decodes events strictly.
type Decoder struct {
	MaxBytes int // 0 means DefaultMaxBytes
}

// Decode parses and validates one message value. Unknown fields are ignored
// (the AI Service may add fields before aistream knows them); everything
// aistream reads is checked, and the whole message, unknown fields too, must
// be UTF-8 without a repeated key (wellFormed). A nil value is a Kafka
// record with a null value (a tombstone), told apart from an empty one.
func (d Decoder) Decode(value []byte) (*Event, error) {
	if value == nil {
		return nil, Reject(ReasonNullValue, "", "the record has a null value; an event is a JSON object")
	}
	max := d.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if len(value) > max {
		return nil, Reject(ReasonOversized, "", "%d bytes exceed the limit of %d", len(value), max)
	}
	start, end, err := wellFormed(value)
	if err != nil {
		return nil, err
	}
	trimmed := value[start:end]
	if len(trimmed) == 0 {
		return nil, Reject(ReasonNotJSON, "", "empty message")
	}
	if trimmed[0] != '{' {
		return nil, Reject(ReasonWrongType, "", "the event must be a JSON object")
	}
	if err := checkKeys(trimmed, reflect.TypeFor[Envelope](), ""); err != nil {
		return nil, err
	}
	var env Envelope
	if err := strictUnmarshal(trimmed, &env, ""); err != nil {
		return nil, err
	}
	if err := env.validate(); err != nil {
		return nil, err
	}
	typ, ok := LookupType(env.EventType)
	if !ok {
		return nil, Reject(ReasonUnknownType, "event_type", "%q is not a known event type (known: %s)", env.EventType, strings.Join(KnownTypes(), ", "))
	}
	payload := typ.NewPayload()
	if err := checkKeys(env.Data, reflect.TypeOf(payload), "data."); err != nil {
		return nil, err
	}
	if err := strictUnmarshal(env.Data, payload, "data."); err != nil {
		return nil, err
	}
	if err := payload.Validate(); err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Field != "" && !strings.HasPrefix(de.Field, "data.") {
			de.Field = "data." + de.Field
		}
		return nil, err
	}
	return &Event{Envelope: env, Payload: payload, Raw: value}, nil
}

// strictUnmarshal decodes and turns encoding/json's errors into reasons.
// Valid input, the common case, is decoded by goccy/go-json (several times
// faster); a failure is decoded again by encoding/json, whose errors name
// the offending field the way the rejection reasons are specified.
func strictUnmarshal(b []byte, v any, prefix string) error {
	if fastjson.Unmarshal(b, v) == nil {
		return nil
	}
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Reject(ReasonWrongType, prefix+te.Field, "want %s, got JSON %s", te.Type, te.Value)
	}
	msg := err.Error()
	return Reject(ReasonWrongType, strings.TrimSuffix(prefix, "."), "%s", stripJSONPrefix(msg))
}

func stripJSONPrefix(s string) string { return strings.TrimPrefix(s, "json: ") }

func abbreviate(b []byte) string {
	const n = 40
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
