// Package views serves the processor groups' state over HTTP: goka views over
// the group tables, one JSON API, health, readiness and metrics.
package views

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
)

// TenantHeader carries the caller's tenant scope. Every /v1 read is scoped to
// one tenant: an entity of another tenant is reported as not found. (The
// authorization issue replaces the header with credentials mapped to a
// tenant; handlers only ever call Tenant.)
const TenantHeader = "X-Tenant-ID"

// Opener opens a goka view over a table; the server runs it and waits for
// its recovery before reporting ready.
type Opener func(table goka.Table, c goka.Codec) (*goka.View, error)

// Mount adds one family of routes, opening the views it needs.
type Mount func(s *Server, open Opener) error

// Server is the HTTP API.
type Server struct {
	mux   *http.ServeMux
	log   zerolog.Logger
	m     *stream.Metrics
	mu    sync.Mutex
	views []*goka.View
	extra []func() bool // further readiness conditions (e.g. processors)
}

// NewServer returns a server with /healthz, /readyz and /metrics.
func NewServer(log zerolog.Logger, m *stream.Metrics) *Server {
	s := &Server{mux: http.NewServeMux(), log: log, m: m}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if m != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	}
	return s
}

// HandleFunc registers a route (Go 1.22 pattern, e.g. "GET /v1/traces/{id}").
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// ReadyWhen adds a readiness condition.
func (s *Server) ReadyWhen(f func() bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra = append(s.extra, f)
}

// Mount opens views with env and adds the routes.
func (s *Server) Mount(env *stream.Env, mounts ...Mount) error {
	open := func(table goka.Table, c goka.Codec) (*goka.View, error) {
		v, err := goka.NewView(env.Brokers, table, c, env.ViewOptions()...)
		if err != nil {
			return nil, fmt.Errorf("open view of %s: %w", table, err)
		}
		s.mu.Lock()
		s.views = append(s.views, v)
		s.mu.Unlock()
		return v, nil
	}
	for _, m := range mounts {
		if err := m(s, open); err != nil {
			return err
		}
	}
	return nil
}

// RunViews runs every opened view until ctx ends or one of them fails; a
// failure stops the others and is returned (so the process exits instead of
// staying alive and never ready). It returns once every view has stopped.
func (s *Server) RunViews(ctx context.Context) error {
	s.mu.Lock()
	views := append([]*goka.View(nil), s.views...)
	s.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	for _, v := range views {
		g.Go(func() error {
			if err := v.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	return g.Wait()
}

// Ready reports whether every view has recovered and every extra condition holds.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.views {
		if !v.Recovered() {
			return false
		}
	}
	for _, f := range s.extra {
		if !f() {
			return false
		}
	}
	return true
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.Ready() {
		WriteError(w, http.StatusServiceUnavailable, "not_ready", "views are still recovering their state")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
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

// Tenant returns the caller's tenant scope, or writes an error and returns false.
func Tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	t := r.Header.Get(TenantHeader)
	if t == "" {
		WriteError(w, http.StatusUnauthorized, "tenant_required", "send the "+TenantHeader+" header with your tenant id")
		return "", false
	}
	if !codecs.ValidTenant(t) {
		WriteError(w, http.StatusBadRequest, "bad_tenant", TenantHeader+" is not a valid tenant id")
		return "", false
	}
	return t, true
}

// Get reads key from v, writing 503 while the view recovers and 500 on
// failure; ok is false when a response was written.
func Get(w http.ResponseWriter, v *goka.View, key string) (value any, ok bool) {
	if !v.Recovered() {
		WriteError(w, http.StatusServiceUnavailable, "not_ready", "the view is still recovering its state; retry shortly")
		return nil, false
	}
	val, err := v.Get(key)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "view_error", "reading the view failed")
		return nil, false
	}
	return val, true
}

// Page reads limit (1..max, default def) and an opaque cursor from the query.
func Page(w http.ResponseWriter, r *http.Request, def, max int) (limit int, cursor string, ok bool) {
	limit = def
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			WriteError(w, http.StatusBadRequest, "bad_limit", fmt.Sprintf("limit must be an integer from 1 to %d", max))
			return 0, "", false
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), true
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

// WriteJSON writes v as JSON; a value that cannot be encoded is a 500, not
// a 200 with a broken body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error": "encode_failed", "message": "the state could not be rendered as JSON"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
