package codecs

import (
	"encoding/json"
	"fmt"
)

// JSON is a goka codec for a state or internal message type T, stored as
// JSON. Decode returns *T.
type JSON[T any] struct{}

// Encode implements goka.Codec.
func (JSON[T]) Encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case *T, T:
		return json.Marshal(x)
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
