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
//
// The common message is decoded in one pass by the lexer; anything it does
// not take — every malformed message among them — is decoded again by
// decodeSlow, the reference, whose rejection reasons and messages are the
// contract.
func (d Decoder) Decode(value []byte) (*Event, error) {
	if value != nil && len(value) <= d.max() {
		if ev, err, ok := decodeFast(value); ok {
			return ev, err
		}
	}
	return d.decodeSlow(value)
}

func (d Decoder) max() int {
	if d.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return d.MaxBytes
}

// decodeFast decodes a message the lexer takes; ok is false for any other.
// A message it takes passes every check of decodeSlow up to the
// envelope's and the payload's validation, which both share, so its
// rejections are decodeSlow's.
func decodeFast(value []byte) (ev *Event, err error, ok bool) {
	l := newLexer(value)
	defer l.release()
	var env Envelope
	var payload Payload
	dataAt := -1
	lexed := env.lexWith(&l, func() bool {
		dataAt = l.i
		if typ, known := LookupType(env.EventType); known {
			payload = typ.NewPayload()
			return payload.(lexable).lex(&l)
		}
		return l.skip() // event_type comes later, or is unknown
	})
	if !lexed || !l.end() || dataAt < 0 {
		return nil, nil, false
	}
	if err := env.validate(); err != nil {
		return nil, err, true
	}
	typ, known := LookupType(env.EventType)
	if !known {
		return nil, unknownType(env.EventType), true
	}
	if payload == nil {
		payload = typ.NewPayload()
		l.i, l.depth = dataAt, 1
		if !payload.(lexable).lex(&l) {
			return nil, nil, false
		}
	}
	ev, err = finish(env, payload, value)
	return ev, err, true
}

// decodeSlow is the reference decoder: wellFormed, then encoding/json
// (goccy/go-json first) with checkKeys, then validation.
func (d Decoder) decodeSlow(value []byte) (*Event, error) {
	if value == nil {
		return nil, Reject(ReasonNullValue, "", "the record has a null value; an event is a JSON object")
	}
	if max := d.max(); len(value) > max {
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
		return nil, unknownType(env.EventType)
	}
	payload := typ.NewPayload()
	if err := checkKeys(env.Data, reflect.TypeOf(payload), "data."); err != nil {
		return nil, err
	}
	if err := strictUnmarshal(env.Data, payload, "data."); err != nil {
		return nil, err
	}
	return finish(env, payload, value)
}

func unknownType(name string) error {
	return Reject(ReasonUnknownType, "event_type", "%q is not a known event type (known: %s)", name, strings.Join(KnownTypes(), ", "))
}

// finish validates the payload and makes the event.
func finish(env Envelope, payload Payload, value []byte) (*Event, error) {
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
