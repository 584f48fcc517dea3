package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofEnv names the address of an opt-in profiling listener (e.g.
// 127.0.0.1:6060): Go's net/http/pprof handlers, on their own listener so
// that they are never reachable through the API's address. Off when unset.
const pprofEnv = "AISTREAM_PPROF_ADDR"

// listenPprof binds addr for the profiling handlers; "" binds nothing.
func listenPprof(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, configError(fmt.Errorf("%s=%q: %w (use a free local host:port, or unset it)", pprofEnv, addr, err))
	}
	return ln, nil
}

// servePprof serves the profiling handlers on ln until ctx ends.
func servePprof(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("pprof listener: %w", err)
	}
	return nil
}
