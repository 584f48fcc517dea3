package codecs

import (
	"fmt"
	json "github.com/goccy/go-json"
)

// JSON is a goka codec for a state or internal message type T, stored as
// JSON (readable with any Kafka tool). Decode returns *T. It uses goccy/go-json,
// an encoding/json-compatible implementation: every event decodes and
// re-encodes its key's state, and this cut that cost about threefold
// (agent-quality handler: 6.7k → 19.9k events/s).
type JSON[T any] struct{}

// Encode implements goka.Codec.
func (JSON[T]) Encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case *T, T:
		return json.MarshalWithOption(x, json.DisableHTMLEscape())
	default:
		return nil, fmt.Errorf("codec for %T got %T", new(T), v)
	}
}

// Decode implements goka.Codec.
func (JSON[T]) Decode(b []byte) (any, error) {
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// EncodedLen is the length of v as JSON[T] encodes it: the one measure the
// state byte budgets count with. Only a time outside years 0-9999 fails to
// encode, which decoding refuses, so a failure is a bug and panics (the
// handler's guard dead-letters the event that triggered it).
func EncodedLen[T any](v T) int {
	b, err := JSON[T]{}.Encode(v)
	if err != nil {
		panic(err)
	}
	return len(b)
}
