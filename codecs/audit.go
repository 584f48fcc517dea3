package codecs

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
	return first(required("actor", a.Actor), required("action", a.Action), required("resource", a.Resource),
		oneOf("outcome", a.Outcome, "success", "denied", "error"))
}
