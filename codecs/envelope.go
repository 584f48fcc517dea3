// Package codecs holds the event envelope the AI Service publishes, the typed
// payload of every event type, and strict decoding with a reason for every
// rejection. What it encodes, Python's json.loads reads back unchanged; what
// it accepts, Python reads as the same event (no bytes that are not UTF-8,
// no repeated keys).
package codecs

import (
	"bytes"
	"encoding/json"
	"strings"
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

// Event is a decoded, validated event: the envelope and its typed payload.
type Event struct {
	Envelope
	Payload any
	// Raw is the message exactly as it arrived: what a re-key loops back and
	// what a later rejection dead-letters.
	Raw []byte
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

var nullLiteral = []byte("null")

// KeySeparator joins a tenant id with an entity id in state keys; tenant ids
// cannot contain it.
const KeySeparator = "|"

// TenantKey is the state key of an entity within a tenant.
func TenantKey(tenant, id string) string { return tenant + KeySeparator + id }

// SplitTenantKey is the inverse of TenantKey.
func SplitTenantKey(key string) (tenant, id string, ok bool) {
	return strings.Cut(key, KeySeparator)
}

// ValidTenant reports whether s is an acceptable tenant id: 1-128 of
// A-Z a-z 0-9 . _ : - starting with a letter or digit. Tenant ids become
// part of state keys ("tenant|entity"), so they are restricted to a safe
// alphabet.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 128 || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
