package codecs

import (
	"fmt"
	"slices"
)

// Reason classifies a rejection; it is the dead-letter header value and a
// metric label, so the set is small and closed: the reasons table below.
type Reason string

// Rejection reasons. Each is in the reasons table, which says what it means.
const (
	ReasonNullValue      Reason = "null_value"
	ReasonOversized      Reason = "oversized"
	ReasonNotJSON        Reason = "not_json"
	ReasonInvalidUTF8    Reason = "invalid_utf8"
	ReasonDuplicateKey   Reason = "duplicate_key"
	ReasonMissingField   Reason = "missing_field"
	ReasonWrongType      Reason = "wrong_type"
	ReasonBadTimestamp   Reason = "bad_timestamp"
	ReasonUnknownType    Reason = "unknown_event_type"
	ReasonInvalidValue   Reason = "invalid_value"
	ReasonWrongTopic     Reason = "wrong_topic"
	ReasonTenantConflict Reason = "tenant_conflict"
	ReasonProcessing     Reason = "processing_failed"
)

// ReasonInfo is a rejection reason and what it means.
type ReasonInfo struct {
	Reason  Reason
	Meaning string
}

// reasons is the closed list, from the message's bytes to its meaning, then
// the reasons processors give after decoding.
var reasons = []ReasonInfo{
	{ReasonNullValue, "the record has a null value (a tombstone), not an event"},
	{ReasonOversized, "the message is larger than the decoder's limit (--max-message-bytes)"},
	{ReasonInvalidUTF8, "the message has bytes that are not UTF-8, or a \\u escape of half a surrogate pair (Field is where, Detail the byte offset)"},
	{ReasonNotJSON, "the message is empty or not one JSON value"},
	{ReasonDuplicateKey, "an object, at any depth, has the same key twice (Field is its path)"},
	{ReasonWrongType, "a value has the wrong JSON type (the message or data is not an object, a string where a number belongs, …)"},
	{ReasonMissingField, "a required field is absent or empty"},
	{ReasonInvalidValue, "a value is out of its range or set, too long, or its key differs from a known one only in case"},
	{ReasonBadTimestamp, "a timestamp is not RFC 3339 or not from 1970 to 2200"},
	{ReasonUnknownType, "event_type is not one aistream knows"},
	{ReasonWrongTopic, "the event type does not belong on the topic it arrived on"},
	{ReasonTenantConflict, "the event names another tenant than the state it updates belongs to"},
	{ReasonProcessing, "the handler failed on the message (a bug; the partition carries on)"},
}

// Reasons lists every rejection reason with a one-line meaning: what the
// docs, the dead-letter metric's labels and the tests enumerate.
func Reasons() []ReasonInfo { return slices.Clone(reasons) }

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
