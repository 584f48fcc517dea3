package codecs

import (
	"maps"
	"slices"
)

// Audit is the payload of audit.recorded on audit-events: who did what to
// which resource, with what outcome. aistream writes these for view reads and
// admin operations and accepts the AI Service's own.
type Audit struct {
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Resource string            `json:"resource"`
	Outcome  string            `json:"outcome"` // success, denied or error
	Details  map[string]string `json:"details,omitempty"`
}

// Validate implements Payload.
func (a *Audit) Validate() error {
	if err := first(required("actor", a.Actor), required("action", a.Action), required("resource", a.Resource),
		oneOf("outcome", a.Outcome, "success", "denied", "error")); err != nil {
		return err
	}
	if len(a.Details) > 64 {
		return Reject(ReasonInvalidValue, "details", "at most 64 entries, got %d", len(a.Details))
	}
	valid := true
	for k, v := range a.Details {
		valid = valid && len(k) <= MaxIDBytes && len(v) <= maxTextBytes
	}
	if valid {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(a.Details)) { // the first error, deterministically
		if err := first(optional("details key", k), maxLen("details."+k, a.Details[k], maxTextBytes)); err != nil {
			return err
		}
	}
	return nil
}
