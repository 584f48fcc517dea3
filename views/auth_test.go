package views_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/views"
)

// verifier knows two tokens: "tok-acme" (tenant acme) and "tok-admin".
type verifier struct{}

func (verifier) Verify(tok string) (api.Scope, bool) {
	switch tok {
	case "tok-acme":
		return api.Scope{Tenant: "acme", Actor: "id-acme"}, true
	case "tok-admin":
		return api.Scope{Admin: true, Actor: "id-admin"}, true
	}
	return api.Scope{}, false
}

type recorder struct {
	mu sync.Mutex
	ev []audit.Event
}

func (r *recorder) Record(e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

// echoServer mounts one route that answers the scope it was given, and one
// that is not found for everyone.
func echoServer(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	s := views.NewServer(zerolog.Nop(), nil, views.Bearer(verifier{}))
	rec := &recorder{}
	s.AuditTo(rec, nil)
	s.Mount(api.Route{Method: "GET", Pattern: "/v1/things/{id}", Handle: func(r *api.Request) (any, error) {
		if r.Path("id") == "missing" {
			return nil, api.NotFound("no such thing")
		}
		return map[string]any{"tenant": r.Scope.Tenant, "admin": r.Scope.Admin, "actor": r.Scope.Actor}, nil
	}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestBearerScopesComeFromTheTokenOnly(t *testing.T) {
	srv, rec := echoServer(t)
	for _, c := range []struct {
		name, path, auth, header string
		status                   int
		body, outcome, tenant    string
	}{
		{"no token", "/v1/things/1", "", "", 401, `"unauthorized"`, audit.Denied, ""},
		{"X-Tenant-ID is no credential", "/v1/things/1", "", "acme", 401, `"unauthorized"`, audit.Denied, ""},
		{"basic auth", "/v1/things/1", "Basic dG9rLWFjbWU=", "", 401, `"unauthorized"`, audit.Denied, ""},
		{"unknown token", "/v1/things/1", "Bearer nope", "", 401, `"unauthorized"`, audit.Denied, ""},
		{"tenant token", "/v1/things/1", "Bearer tok-acme", "", 200, `"tenant":"acme"`, audit.Success, "acme"},
		{"tenant token, header names another", "/v1/things/1", "Bearer tok-acme", "globex", 200, `"tenant":"acme"`, audit.Success, "acme"},
		{"tenant token, ?tenant names another", "/v1/things/1?tenant=globex", "Bearer tok-acme", "", 200, `"tenant":"acme"`, audit.Success, "acme"},
		{"scheme is case-insensitive", "/v1/things/1", "bearer tok-acme", "", 200, `"tenant":"acme"`, audit.Success, "acme"},
		{"admin without tenant", "/v1/things/1", "Bearer tok-admin", "", 400, `"tenant_required"`, audit.Error, ""},
		{"admin names a tenant", "/v1/things/1?tenant=globex", "Bearer tok-admin", "", 200, `"tenant":"globex"`, audit.Success, "globex"},
		{"admin names a bad tenant", "/v1/things/1?tenant=a%7Cb", "Bearer tok-admin", "", 400, `"bad_tenant"`, audit.Error, ""},
		{"not found", "/v1/things/missing", "Bearer tok-acme", "", 404, `"not_found"`, audit.Error, "acme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.ev)
			req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			if c.header != "" {
				req.Header.Set(views.TenantHeader, c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			sb.Write(buf[:n])
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(sb.String(), c.body) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, sb.String(), c.status, c.body)
			}
			if (c.status == 401) != strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q on %d", resp.Header.Get("WWW-Authenticate"), c.status)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.ev) != before+1 {
				t.Fatalf("%d audit events, want exactly 1", len(rec.ev)-before)
			}
			e := rec.ev[before]
			if e.Outcome != c.outcome || e.Tenant != c.tenant || e.Action != "read" || !strings.HasPrefix(e.Resource, "GET /v1/things/") {
				t.Errorf("audit event %+v, want outcome %s tenant %q", e, c.outcome, c.tenant)
			}
			if c.status == 401 && e.Actor != "anonymous" || c.status == 200 && !strings.HasPrefix(e.Actor, "id-") {
				t.Errorf("actor %q", e.Actor)
			}
			if strings.Contains(e.Actor+e.Resource, "tok-") {
				t.Error("a token in the audit event")
			}
		})
	}
}

func TestUnauthenticatedAuditIsRateLimited(t *testing.T) {
	srv, rec := echoServer(t)
	for range views.UnauthenticatedPerSecond * 3 {
		resp, err := http.Get(srv.URL + "/v1/things/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rec.mu.Lock()
	n := len(rec.ev)
	rec.mu.Unlock()
	// Within one second at most the bound; the requests may straddle seconds.
	if n < views.UnauthenticatedPerSecond || n >= views.UnauthenticatedPerSecond*3 {
		t.Errorf("%d audit events of %d 401s, want the per-second bound to cut some", n, views.UnauthenticatedPerSecond*3)
	}
}

// --insecure-no-auth scopes by X-Tenant-ID and warns once per interval
// with the number of requests, not once per request.
func TestInsecureHeaderScopeWarnsPerBatch(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	log := zerolog.New(zerolog.SyncWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})))
	s := views.NewServer(zerolog.Nop(), nil, views.InsecureHeaderScope(log, time.Hour))
	s.Mount(api.Route{Method: "GET", Pattern: "/v1/me", Handle: func(r *api.Request) (any, error) { return r.Scope.Tenant, nil }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for range 5 {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/me", nil)
		req.Header.Set(views.TenantHeader, "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "WITHOUT authentication"); n != 1 {
		t.Errorf("%d warnings for 5 requests in one interval, want 1:\n%s", n, buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
