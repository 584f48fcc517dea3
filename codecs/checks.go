package codecs

import (
	"math"
	"strings"
)

// Field checks used by the payloads' Validate methods.

// MaxIDBytes bounds ids and names (trace_id, agent, model, dataset, …):
// everything aistream keeps in state is bounded, so a state always fits one
// Kafka record.
const MaxIDBytes = 256

// Longer text fields have limits of their own.
const (
	maxTextBytes    = 8 << 10  // comments, reasons, error messages
	maxContentBytes = 64 << 10 // thinking content, SQL
	maxCount        = 1e9      // token counts
)

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Reject(ReasonMissingField, field, "required and must not be empty")
	}
	return maxLen(field, v, MaxIDBytes)
}

// optional bounds an optional id or name.
func optional(field, v string) error { return maxLen(field, v, MaxIDBytes) }

func count(field string, v int) error {
	if v < 0 || v > maxCount {
		return Reject(ReasonInvalidValue, field, "must be from 0 to %d, got %d", int(maxCount), v)
	}
	return nil
}

func maxLen(field, v string, n int) error {
	if len(v) > n {
		return Reject(ReasonInvalidValue, field, "longer than %d bytes", n)
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	if v == "" {
		return Reject(ReasonMissingField, field, "required: one of %s", strings.Join(allowed, ", "))
	}
	return Reject(ReasonInvalidValue, field, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

func nonNegative(field string, v, max float64) error {
	if v < 0 || v > max || math.IsNaN(v) || math.IsInf(v, 0) {
		return Reject(ReasonInvalidValue, field, "must be a number from 0 to %g, got %v", max, v)
	}
	return nil
}

func inRange(field string, v, lo, hi float64) error {
	if v < lo || v > hi || math.IsNaN(v) {
		return Reject(ReasonInvalidValue, field, "must be between %v and %v, got %v", lo, hi, v)
	}
	return nil
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
