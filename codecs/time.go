package codecs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

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
