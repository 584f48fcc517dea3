package codecs

import (
	"fmt"
)

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
