// Package views serves the processors' read models over HTTP: it routes,
// scopes each request to a tenant, encodes, and maps read errors to status
// codes, and nothing more. What a route returns is decided by the module
// that owns the table (its query.go); see internal/api for the contract.
package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
)

// TenantHeader carries the caller's tenant scope until credentials replace
// it: HeaderScope is the one Authenticator that reads it.
const TenantHeader = "X-Tenant-ID"

// Authenticator turns a request's credentials into its scope, or an error
// (401 or 400) when there are none or they are not acceptable. It is the
// one seam where authentication plugs in.
type Authenticator func(r *http.Request) (api.Scope, *ErrorBody, int)

// HeaderScope scopes a request to the tenant named in X-Tenant-ID.
func HeaderScope(r *http.Request) (api.Scope, *ErrorBody, int) {
	t := r.Header.Get(TenantHeader)
	if t == "" {
		return api.Scope{}, &ErrorBody{Error: "tenant_required", Message: "send the " + TenantHeader + " header with your tenant id"}, http.StatusUnauthorized
	}
	if !codecs.ValidTenant(t) {
		return api.Scope{}, &ErrorBody{Error: "bad_tenant", Message: TenantHeader + " is not a valid tenant id"}, http.StatusBadRequest
	}
	return api.Scope{Tenant: t}, nil, 0
}

// Server is the HTTP API: /v1 read routes, /healthz, /readyz, /metrics.
type Server struct {
	mux  *http.ServeMux
	log  zerolog.Logger
	auth Authenticator
	mu   sync.Mutex
	// ready are the readiness conditions (processors running, views recovered).
	ready []func() bool
	// methods lists the methods of every mounted path pattern.
	methods map[string][]string
	// partitions are the processor groups' partition states /readyz lists.
	partitions *stream.Partitions
	// metrics count requests and latency per route; nil without metrics.
	metrics *stream.Metrics
	// routes are the mounted read routes, in mount order.
	routes []api.Route
	// audit records every /v1 read (nil: none).
	audit *readAudit
	// index lists every mounted route in mount order; GET / serves it.
	index []IndexRoute
}

// NewServer returns a server with /healthz, /readyz and /metrics (when m is
// set); every request outside the mounted routes answers the JSON error
// shape (404, or 405 with Allow for a known path).
func NewServer(log zerolog.Logger, m *stream.Metrics, auth Authenticator) *Server {
	s := &Server{mux: http.NewServeMux(), log: log, auth: auth, methods: map[string][]string{}}
	if m != nil {
		s.partitions, s.metrics = m.Partitions, m
	}
	s.route("GET", "/{$}", "the index of every route of the API with its summary", s.serveIndex)
	s.route("GET", OpenAPIPath, "this API's OpenAPI 3.1 document", serveOpenAPI)
	s.route("GET", "/healthz", "liveness, 200 while the process serves HTTP", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.route("GET", "/readyz", "readiness, 200 once the processors run and the views have recovered", s.readyz)
	if m != nil {
		s.route("GET", "/metrics", "Prometheus metrics of this replica", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP)
	}
	s.mux.HandleFunc("/", s.instrument("unmatched", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path+"; the API's routes are under /v1")
	}))
	return s
}

// ReadyWhen adds a readiness condition.
func (s *Server) ReadyWhen(f func() bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = append(s.ready, f)
}

// Mount serves read routes, each scoped by the server's Authenticator.
func (s *Server) Mount(routes ...api.Route) {
	for _, rt := range routes {
		s.route(rt.Method, rt.Pattern, rt.Summary, s.read(rt))
		s.mu.Lock()
		s.routes = append(s.routes, rt)
		s.mu.Unlock()
	}
}

// ReadRoutes returns the mounted read routes (the /v1 API), in mount order.
func (s *Server) ReadRoutes() []api.Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.routes)
}

// route registers a handler like handle and lists it in the index.
func (s *Server) route(method, path, summary string, h http.HandlerFunc) {
	s.handle(method, path, h)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index = append(s.index, IndexRoute{Method: method, Path: strings.TrimSuffix(path, "{$}"), Summary: summary})
}

// handle registers a handler for method and path; other methods on the
// path answer 405. A GET route answers HEAD too.
func (s *Server) handle(method, path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	known, registered := s.methods[path]
	s.methods[path] = append(known, method)
	if registered {
		panic("views: two handlers for " + path + "; register every method of a path in one place")
	}
	s.mux.HandleFunc(path, s.instrument(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
			h(w, r)
			return
		}
		s.mu.Lock()
		allowed := slices.Clone(s.methods[path])
		s.mu.Unlock()
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allowed, " or "))
	}))
}

// read adapts a read route: scope, call, encode, then audit (after the
// response is written: the audit never delays a read).
func (s *Server) read(rt api.Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scope, e, status := s.auth(r)
		if e == nil && scope.Tenant == "" && !rt.AnyTenant {
			e, status = &ErrorBody{Error: "tenant_required", Message: "an admin token names the tenant of this route with ?" + TenantParam + "=<tenant>"}, http.StatusBadRequest
		}
		defer func() { s.auditRead(rt, r, scope, status) }()
		if e != nil {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aistream"`)
			}
			WriteJSON(w, status, e)
			return
		}
		v, err := rt.Handle(api.NewRequest(r.Context(), scope, r.URL.Query(), r.PathValue))
		if err != nil {
			ae := api.AsError(err)
			if ae.Kind == api.KindInternal {
				s.log.Error().Err(err).Str("path", r.URL.Path).Msg("read failed")
			}
			status = statusOf(ae.Kind)
			WriteError(w, status, ae.Code, ae.Message)
			return
		}
		status = http.StatusOK
		WriteJSON(w, status, v)
	}
}

func statusOf(k api.Kind) int {
	switch k {
	case api.KindNotFound:
		return http.StatusNotFound
	case api.KindInvalid:
		return http.StatusBadRequest
	case api.KindNotReady:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Ready reports whether every readiness condition holds.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.ready {
		if !f() {
			return false
		}
	}
	return true
}

// ReadyBody is /readyz's answer: {"status": "ready"} with 200, or the error
// shape with 503; both list the partitions of every processor group this
// replica holds and their state (recovering, standby, running).
type ReadyBody struct {
	Status  string                              `json:"status,omitempty"`
	Error   string                              `json:"error,omitempty"`
	Message string                              `json:"message,omitempty"`
	Groups  map[string][]stream.PartitionStatus `json:"groups,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	groups := s.partitions.Snapshot()
	if !s.Ready() {
		WriteJSON(w, http.StatusServiceUnavailable, ReadyBody{Error: "not_ready", Message: "processors or views are still recovering their state", Groups: groups})
		return
	}
	WriteJSON(w, http.StatusOK, ReadyBody{Status: "ready", Groups: groups})
}

// Handler is the server's HTTP handler, with access logging.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.status).
			Dur("took", time.Since(start)).Msg("http")
	})
}

// ErrorBody is every error response.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// WriteError writes an error response.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, ErrorBody{Error: code, Message: msg})
}

// bufs are WriteJSON's encode buffers, reused across requests.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuf is the largest buffer put back in bufs: one huge response
// must not pin its memory for good.
const maxPooledBuf = 1 << 20

// WriteJSON writes v as compact JSON (indenting cost the read path as much
// as encoding did: pipe through jq to read it); a value that cannot be
// encoded is a 500, not a 200 with a broken body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuf {
			bufs.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error": "encode_failed", "message": "the state could not be rendered as JSON"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// instrument counts a route's requests and observes their latency under
// its pattern (never the raw path, which is unbounded); h must be the only
// handler of the pattern.
func (s *Server) instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	if s.metrics == nil {
		return h
	}
	reqs := s.metrics.HTTPRequests.MustCurryWith(map[string]string{"route": route})
	dur := s.metrics.HTTPDuration.MustCurryWith(map[string]string{"route": route})
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		}
		h(rec, r)
		method := stream.MethodLabel(r.Method)
		dur.WithLabelValues(method).Observe(time.Since(start).Seconds())
		reqs.WithLabelValues(method, stream.StatusClass(rec.status)).Inc()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// MountModules opens the read model of every module (its views run by
// whoever runs open's tables) and mounts its routes.
func (s *Server) MountModules(p stream.Prefix, open api.Opener, mods ...*stream.Module) error {
	for _, m := range mods {
		if m.Read == nil {
			continue
		}
		routes, err := m.Read(p, open)
		if err != nil {
			return fmt.Errorf("read model of %s: %w", m.Name, err)
		}
		s.Mount(routes...)
	}
	return nil
}
