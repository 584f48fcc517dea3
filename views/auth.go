package views

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
)

// TenantParam is the query parameter an admin token names a tenant with.
const TenantParam = "tenant"

// Verifier checks a presented bearer token (auth.Store in production).
type Verifier interface {
	Verify(token string) (api.Scope, bool)
}

// Bearer authenticates "Authorization: Bearer <token>" against v. The
// scope comes from the token only; an admin token may name the tenant of
// its request with ?tenant=. No or a bad token is a 401 with
// WWW-Authenticate: Bearer (set by the server's read adapter).
func Bearer(v Verifier) Authenticator {
	return func(r *http.Request) (api.Scope, *ErrorBody, int) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if h == "" {
			return api.Scope{}, &ErrorBody{Error: "unauthorized", Message: "send Authorization: Bearer <token>; create a token with \"aistream tokens create --tenant T\""}, http.StatusUnauthorized
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return api.Scope{}, &ErrorBody{Error: "unauthorized", Message: "the Authorization header must be \"Bearer <token>\""}, http.StatusUnauthorized
		}
		scope, ok := v.Verify(strings.TrimSpace(tok))
		if !ok {
			return api.Scope{}, &ErrorBody{Error: "unauthorized", Message: "the token is not valid or was revoked"}, http.StatusUnauthorized
		}
		if scope.Admin {
			t := r.URL.Query().Get(TenantParam)
			if t != "" && !codecs.ValidTenant(t) {
				return api.Scope{}, &ErrorBody{Error: "bad_tenant", Message: "?" + TenantParam + "= is not a valid tenant id"}, http.StatusBadRequest
			}
			scope.Tenant = t
		}
		return scope, nil, 0
	}
}

// InsecureHeaderScope is HeaderScope for --insecure-no-auth: it logs a
// warning with the number of requests served without authentication at
// most every interval.
func InsecureHeaderScope(log zerolog.Logger, interval time.Duration) Authenticator {
	var (
		mu   sync.Mutex
		n    int
		last time.Time
	)
	return func(r *http.Request) (api.Scope, *ErrorBody, int) {
		mu.Lock()
		n++
		if now := time.Now(); now.Sub(last) >= interval {
			log.Warn().Int("requests", n).Msg("serving /v1 WITHOUT authentication (--insecure-no-auth): any client reads any tenant's data with " + TenantHeader)
			n, last = 0, now
		}
		mu.Unlock()
		scope, e, status := HeaderScope(r)
		scope.Actor = "unauthenticated"
		return scope, e, status
	}
}
