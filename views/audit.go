package views

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/audit"
)

// Recorder takes audit events without blocking (audit.Writer).
type Recorder interface {
	Record(audit.Event)
}

// UnauthenticatedPerSecond bounds the audit events of 401 answers: past it
// in one second they are counted (aistream_audit_unauthenticated_suppressed_total
// and the next event's "suppressed" detail), so a flood of bad tokens
// cannot flood audit-events.
const UnauthenticatedPerSecond = 20

type readAudit struct {
	rec        Recorder
	suppressed prometheus.Counter

	mu        sync.Mutex
	second    int64
	inSecond  int
	suppressN int
}

// AuditTo records an audit event for every /v1 read to rec; the counter of
// rate-limited 401 events is registered on reg (nil: not registered).
func (s *Server) AuditTo(rec Recorder, reg prometheus.Registerer) {
	a := &readAudit{rec: rec, suppressed: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "aistream_audit_unauthenticated_suppressed_total",
		Help: "Audit events of 401 answers not written past the per-second bound (their count is in the next one's details).",
	})}
	if reg != nil {
		reg.MustRegister(a.suppressed)
	}
	s.mu.Lock()
	s.audit = a
	s.mu.Unlock()
}

var wildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// Resource names what a read touched: the route pattern with its wildcards
// filled in, e.g. "GET /v1/traces/tr-1".
func Resource(rt api.Route, r *http.Request) string {
	res := rt.Method + " " + wildcard.ReplaceAllStringFunc(rt.Pattern, func(m string) string {
		name := wildcard.FindStringSubmatch(m)[1]
		return r.PathValue(name)
	})
	return res // audit.Event bounds it
}

// OutcomeOf maps a status to an audit outcome: 2xx success, 401/403
// denied, anything else error (the status is in the event's details).
func OutcomeOf(status int) string {
	switch {
	case status >= 200 && status < 300:
		return audit.Success
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.Denied
	}
	return audit.Error
}

func (s *Server) auditRead(rt api.Route, r *http.Request, scope api.Scope, status int) {
	s.mu.Lock()
	a := s.audit
	s.mu.Unlock()
	if a == nil {
		return
	}
	now := time.Now()
	details := map[string]string{"status": strconv.Itoa(status), "route": rt.Pattern}
	actor := scope.Actor
	if status == http.StatusUnauthorized {
		actor = "anonymous"
		n, ok := a.allow(now)
		if !ok {
			return
		}
		if n > 0 {
			details["suppressed"] = strconv.Itoa(n)
		}
	}
	if actor == "" {
		actor = "anonymous"
	}
	if scope.Admin {
		details["admin"] = "true"
	}
	a.rec.Record(audit.Event{Tenant: scope.Tenant, Actor: actor, Action: "read", Resource: Resource(rt, r),
		Outcome: OutcomeOf(status), Time: now, Details: details})
}

// allow reports whether a 401 event may be written this second, with the
// number suppressed since the last one written.
func (a *readAudit) allow(now time.Time) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if sec := now.Unix(); sec != a.second {
		a.second, a.inSecond = sec, 0
	}
	if a.inSecond >= UnauthenticatedPerSecond {
		a.suppressN++
		a.suppressed.Inc()
		return 0, false
	}
	a.inSecond++
	n := a.suppressN
	a.suppressN = 0
	return n, true
}
