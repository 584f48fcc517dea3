// Package httpserve serves an http.Handler so that clients cannot take the
// process down: every phase of a request has a timeout, headers are bounded,
// and the number of open connections is bounded below the process's file
// descriptor limit, so the Kafka clients and the local state always keep
// descriptors.
//
// Past the connection bound a new connection takes the place of the
// connection that has been idle (keep-alive, between requests) the longest;
// when no connection is idle the new one is closed at once. Connections are
// always accepted, so the kernel's accept queue never holds a client waiting.
// A keep-alive connection closed this way may be about to carry a request;
// HTTP clients retry idempotent requests on a fresh connection when that
// happens.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Limits bounds what clients may hold. A zero field takes its default.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	// Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that carries no request for
	// this long. Default 30s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers; larger ones get 431.
	// Default 64 KiB.
	MaxHeaderBytes int
	// MaxConns bounds the open connections. Default MaxConnsFor the file
	// descriptor limit after RaiseFileLimit.
	MaxConns int
	// ShutdownTimeout bounds the graceful shutdown in Run: requests still
	// running after it are cut off. Default 10s.
	ShutdownTimeout time.Duration
}

// MaxConnsFor is the default connection bound for a soft RLIMIT_NOFILE of
// nofile: half the descriptors, at most 4096 and at least 16. The other half
// is for the Kafka clients (a connection per broker per client) and goka's
// LevelDB tables (up to a few hundred files each). nofile 0 (unknown) gives
// 512.
func MaxConnsFor(nofile uint64) int {
	if nofile == 0 {
		return 512
	}
	return int(min(max(nofile/2, 16), 4096))
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 5*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 30*time.Second)
	def(&l.ShutdownTimeout, 10*time.Second)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	if l.MaxConns <= 0 {
		// Without a known limit MaxConnsFor(0) is still a safe bound.
		nofile, _ := RaiseFileLimit()
		l.MaxConns = MaxConnsFor(nofile)
	}
	return l
}

// Server serves one handler on one listener within Limits.
type Server struct {
	srv    *http.Server
	ln     *listener
	limits Limits
}

// New prepares h to be served on ln (bind ln early, e.g. with
// config.Runtime.Listen, so a bad address stops start-up before any other
// side effect). Zero fields of l take their defaults; Limits returns the
// values in use. Nothing is served until Run.
func New(h http.Handler, ln net.Listener, l Limits) *Server {
	l = l.withDefaults()
	t := newTracker(l.MaxConns)
	return &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: l.ReadHeaderTimeout,
			ReadTimeout:       l.ReadTimeout,
			WriteTimeout:      l.WriteTimeout,
			IdleTimeout:       l.IdleTimeout,
			MaxHeaderBytes:    l.MaxHeaderBytes,
			ConnState:         t.state,
		},
		ln:     &listener{Listener: ln, t: t},
		limits: l,
	}
}

// Limits returns the limits in use, defaults filled in.
func (s *Server) Limits() Limits { return s.limits }

// Addr is the address served.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the connection counters.
func (s *Server) Stats() Stats { return s.ln.t.stats() }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// closes idle connections and waits up to ShutdownTimeout for running
// requests before closing their connections. It returns nil after a clean
// shutdown, so it fits an errgroup; an error if serving fails or the
// shutdown timed out. Run closes the listener and may be called once.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP on %s: %w", s.ln.Addr(), err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), s.limits.ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(shutCtx)
	if err != nil {
		_ = s.srv.Close()
		err = fmt.Errorf("HTTP shutdown: requests still running after %s were cut off: %w", s.limits.ShutdownTimeout, err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve HTTP on %s: %w", s.ln.Addr(), serr)
	}
	return err
}
