// Package codecs holds the event envelope the AI Service publishes, the typed
// payload of every event type, and strict decoding with a reason for every
// rejection. What it encodes, Python's json.loads reads back unchanged.
package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	fastjson "github.com/goccy/go-json"
)

// Envelope is the common metadata of every event (seed document):
//
//	{"event_id": "evt-abc123", "event_type": "feedback.submitted", "tenant_id": "acme-corp",
//	 "timestamp": "2025-03-15T10:00:00Z", "source": "ai-service", "data": {}}
type Envelope struct {
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	TenantID  string          `json:"tenant_id"`
	Timestamp Time            `json:"timestamp"`
	Source    string          `json:"source"`
	Data      json.RawMessage `json:"data"`
}

// Time is an RFC 3339 timestamp, written in UTC ("2025-03-15T10:00:00Z",
// with fractional seconds only when present). Unmarshalling never fails:
// a malformed value is kept and reported by CheckTime with its field name.
type Time struct {
	time.Time
	bad string
}

// MarshalJSON writes RFC 3339 in UTC. Like time.Time, it refuses a year
// outside 0000-9999, which RFC 3339 cannot express.
func (t Time) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("codecs.Time: year %d outside [0,9999]", y)
	}
	return []byte(`"` + u.Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON accepts an RFC 3339 string; anything else is remembered as bad.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	if bytes.Equal(b, nullLiteral) {
		return nil
	}
	var s string
	// Fast path: a timestamp has no escapes, so the quoted bytes are the
	// string (state decoding spends much of its time here).
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 && bytes.IndexByte(b[1:n-1], '"') < 0 {
		s = string(b[1 : n-1])
	} else if err := json.Unmarshal(b, &s); err != nil {
		t.bad = string(b)
		return nil
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	// Event times are bounded to years 1970-2200: nanosecond arithmetic on
	// them (windows, latencies) cannot overflow, and a zone offset cannot
	// carry a time out of RFC 3339's years in UTC.
	if y := p.UTC().Year(); err != nil || y < minYear || y > maxYear {
		t.bad = strconv.Quote(s)
		return nil
	}
	t.Time = p
	return nil
}

// Accepted years of event times.
const (
	minYear = 1970
	maxYear = 2200
)

// NewTime wraps a time.
func NewTime(t time.Time) Time { return Time{Time: t} }

// CheckTime validates a decoded timestamp field.
func CheckTime(field string, t Time, required bool) error {
	if t.bad != "" {
		return Reject(ReasonBadTimestamp, field, "%s is not an RFC 3339 timestamp from 1970 to 2200 (e.g. 2025-03-15T10:00:00Z)", abbreviate([]byte(t.bad)))
	}
	if required && t.IsZero() {
		return Reject(ReasonMissingField, field, "required (RFC 3339, e.g. 2025-03-15T10:00:00Z)")
	}
	return nil
}

// Reason classifies a rejection; it is the dead-letter header value and a
// metric label, so the set is small and fixed.
type Reason string

// Rejection reasons.
const (
	ReasonOversized      Reason = "oversized"
	ReasonNotJSON        Reason = "not_json"
	ReasonMissingField   Reason = "missing_field"
	ReasonWrongType      Reason = "wrong_type"
	ReasonBadTimestamp   Reason = "bad_timestamp"
	ReasonUnknownType    Reason = "unknown_event_type"
	ReasonInvalidValue   Reason = "invalid_value"
	ReasonWrongTopic     Reason = "wrong_topic"
	ReasonTenantConflict Reason = "tenant_conflict"
)

// DecodeError says why an event was rejected.
type DecodeError struct {
	Reason Reason
	Field  string // JSON path of the offending field, when there is one
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Reason, e.Field, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

// Reject builds a DecodeError.
func Reject(reason Reason, field, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// DefaultMaxBytes is the default limit of one event.
const DefaultMaxBytes = 1_000_000

var (
	// Tenant ids become part of state keys ("tenant|entity"), so they are
	// restricted to a safe alphabet.
	tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	nullLiteral   = []byte("null")
)

// KeySeparator joins a tenant id with an entity id in state keys; tenant ids
// cannot contain it.
const KeySeparator = "|"

// TenantKey is the state key of an entity within a tenant.
func TenantKey(tenant, id string) string { return tenant + KeySeparator + id }

// SplitTenantKey is the inverse of TenantKey.
func SplitTenantKey(key string) (tenant, id string, ok bool) {
	return strings.Cut(key, KeySeparator)
}

// ValidTenant reports whether s is an acceptable tenant id.
func ValidTenant(s string) bool { return tenantPattern.MatchString(s) }

// Event is a decoded, validated event: the envelope and its typed payload.
type Event struct {
	Envelope
	Payload any
	// Raw is the message exactly as it arrived: what a re-key loops back and
	// what a later rejection dead-letters.
	Raw []byte
}

// Decoder decodes events strictly.
type Decoder struct {
	MaxBytes int // 0 means DefaultMaxBytes
}

// Decode parses and validates one message value. Unknown fields are ignored
// (the AI Service may add fields before aistream knows them); everything
// aistream reads is checked.
func (d Decoder) Decode(value []byte) (*Event, error) {
	max := d.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if len(value) > max {
		return nil, Reject(ReasonOversized, "", "%d bytes exceed the limit of %d", len(value), max)
	}
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 {
		return nil, Reject(ReasonNotJSON, "", "empty message")
	}
	if !json.Valid(trimmed) {
		return nil, Reject(ReasonNotJSON, "", "not valid JSON: %s", abbreviate(trimmed))
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
	spec, ok := types[env.EventType]
	if !ok {
		return nil, Reject(ReasonUnknownType, "event_type", "%q is not a known event type (known: %s)", env.EventType, strings.Join(KnownTypes(), ", "))
	}
	payload := spec.new()
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

func (e *Envelope) validate() error {
	required := []struct{ name, value string }{
		{"event_id", e.EventID}, {"event_type", e.EventType}, {"tenant_id", e.TenantID}, {"source", e.Source},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return Reject(ReasonMissingField, f.name, "required and must not be empty")
		}
	}
	if len(e.EventID) > 256 {
		return Reject(ReasonInvalidValue, "event_id", "longer than 256 characters")
	}
	if !ValidTenant(e.TenantID) {
		return Reject(ReasonInvalidValue, "tenant_id", "%q must be 1-128 of A-Z a-z 0-9 . _ : - and start with a letter or digit", e.TenantID)
	}
	if err := CheckTime("timestamp", e.Timestamp, true); err != nil {
		return err
	}
	if len(e.Data) == 0 || bytes.Equal(e.Data, nullLiteral) {
		return Reject(ReasonMissingField, "data", "required: the event's payload object")
	}
	if e.Data[0] != '{' {
		return Reject(ReasonWrongType, "data", "must be a JSON object")
	}
	return nil
}

// checkKeys rejects an object key that names a field only when compared
// without case: encoding/json would fill the field from it ("TENANT_ID",
// "ſource" for "source"), while Python and every case-sensitive consumer of
// the same message see no such field, or another value where the exact key
// is also present. b must be valid JSON (json.Valid).
func checkKeys(b []byte, t reflect.Type, prefix string) error {
	k := keyScanner{b: b}
	return k.value(t, strings.TrimSuffix(prefix, "."))
}

// keyScanner walks valid JSON, looking only at the keys of objects that
// decode into structs.
type keyScanner struct {
	b []byte
	i int
}

func (k *keyScanner) ws() {
	for k.i < len(k.b) && (k.b[k.i] == ' ' || k.b[k.i] == '\t' || k.b[k.i] == '\n' || k.b[k.i] == '\r') {
		k.i++
	}
}

// value consumes one value that decodes into t; path names it in errors.
func (k *keyScanner) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	k.ws()
	switch {
	case k.b[k.i] == '{' && t.Kind() == reflect.Struct && t != reflect.TypeFor[Time]():
		fields := jsonFields(t)
		return k.members(func(key string) error {
			f, exact := fields[key]
			if !exact {
				for name := range fields {
					if strings.EqualFold(key, name) {
						return Reject(ReasonInvalidValue, joinPath(path, key), "key %q differs from %q only in case; keys are case-sensitive", key, name)
					}
				}
			}
			if !f.walk {
				k.skip()
				return nil
			}
			return k.value(f.typ, joinPath(path, key))
		})
	case k.b[k.i] == '{' && t.Kind() == reflect.Map && needsWalk(t.Elem()):
		return k.members(func(key string) error { return k.value(t.Elem(), joinPath(path, key)) })
	case k.b[k.i] == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && needsWalk(t.Elem()):
		k.i++ // [
		for n := 0; ; n++ {
			k.ws()
			if k.b[k.i] == ']' {
				k.i++
				return nil
			}
			if err := k.value(t.Elem(), path+"["+strconv.Itoa(n)+"]"); err != nil {
				return err
			}
			k.ws()
			if k.b[k.i] == ',' {
				k.i++
			}
		}
	}
	k.skip()
	return nil
}

// members consumes an object, calling f with each key, positioned at its
// value, which f must consume.
func (k *keyScanner) members(f func(key string) error) error {
	k.i++ // {
	for {
		k.ws()
		if k.b[k.i] == '}' {
			k.i++
			return nil
		}
		raw := k.str()
		key := string(raw[1 : len(raw)-1])
		if bytes.IndexByte(raw, '\\') >= 0 {
			key = ""
			_ = json.Unmarshal(raw, &key) // valid JSON: cannot fail
		}
		k.ws()
		k.i++ // :
		if err := f(key); err != nil {
			return err
		}
		k.ws()
		if k.b[k.i] == ',' {
			k.i++
		}
	}
}

// str consumes a string and returns it quoted, as written.
func (k *keyScanner) str() []byte {
	start := k.i
	for k.i++; k.b[k.i] != '"'; k.i++ {
		if k.b[k.i] == '\\' {
			k.i++
		}
	}
	k.i++
	return k.b[start:k.i]
}

// skip consumes one value of any kind.
func (k *keyScanner) skip() {
	k.ws()
	depth := 0
	for {
		switch c := k.b[k.i]; c {
		case '"':
			k.str()
		case '{', '[':
			depth++
			k.i++
		case '}', ']':
			depth--
			k.i++
		default: // a scalar, or separators within a container
			for k.i++; k.i < len(k.b); k.i++ {
				if c := k.b[k.i]; c == '"' || c == '{' || c == '[' || c == '}' || c == ']' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					break
				}
			}
		}
		if depth == 0 || k.i >= len(k.b) {
			return
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type jsonField struct {
	typ  reflect.Type
	walk bool // needsWalk(typ)
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]jsonField)
	}
	out := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{f.Type, needsWalk(f.Type)}
	}
	fieldCache.Store(t, out)
	return out
}

var fieldCache sync.Map // reflect.Type → map[string]jsonField

// needsWalk reports whether a value decoded into t can hold struct keys.
func needsWalk(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return t != reflect.TypeFor[Time]()
	case reflect.Slice, reflect.Array, reflect.Map:
		return needsWalk(t.Elem())
	}
	return false
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

// Encode writes an envelope around a payload. It never produces NaN or
// infinities (json.Marshal refuses them), so Python's json.loads reads back
// exactly what was written. '<', '>' and '&' are written as they are: HTML
// escaping would grow text six-fold (a record could outgrow the producer's
// limit) and no consumer of these topics renders HTML.
func Encode(env Envelope, payload any) ([]byte, error) {
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
