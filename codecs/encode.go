package codecs

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Encode writes an envelope around a payload. It never produces NaN or
// infinities (json.Marshal refuses them), so Python's json.loads reads back
// exactly what was written. '<', '>' and '&' are written as they are: HTML
// escaping would grow text six-fold (a record could outgrow the producer's
// limit) and no consumer of these topics renders HTML.
//
// A payload that writes its own JSON (JSONAppender; Signal) is written
// without reflection, byte for byte what the reflection path writes.
func Encode(env Envelope, payload any) ([]byte, error) {
	if a := appenderOf(payload); a != nil {
		if out, ok := appendEvent(env, a); ok {
			return out, nil
		}
	}
	return encodeReflect(env, payload)
}

// encodeReflect is Encode by encoding/json: the reference, and the path of
// every error.
func encodeReflect(env Envelope, payload any) ([]byte, error) {
	data, err := Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", env.EventType, err)
	}
	env.Data = data
	out, err := Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode %s envelope: %w", env.EventType, err)
	}
	return out, nil
}

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
