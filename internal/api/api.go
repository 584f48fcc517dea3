// Package api is the contract between a processor's read model and the HTTP
// layer: a read model declares routes whose handlers take a scoped request
// and return a response value or a typed error; package views routes,
// authenticates, encodes and maps errors to HTTP, and nothing more. Read
// models therefore never see an http.ResponseWriter, and their response
// types are public, documented and never a storage struct.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/lovoo/goka"
)

// Scope is who is asking: every read is scoped to one tenant. It comes from
// the request's credentials, never from the route's parameters; only an
// admin may name the tenant (views takes it from ?tenant=).
type Scope struct {
	Tenant string
	// Admin is the admin scope: every tenant's data, one named per request
	// (?tenant=), or all at once on a route that sets Route.AnyTenant.
	Admin bool
	// Actor is who asks, for the audit trail: the token's public id, never
	// the token.
	Actor string
}

// Route is one read of a read model, e.g. Method "GET" and Pattern
// "/v1/traces/{trace_id}" (net/http pattern syntax).
type Route struct {
	Method  string
	Pattern string
	// Summary is a one-line description for the route index and docs.
	Summary string
	// AnyTenant marks a route an admin may call without naming a tenant
	// (Scope.Tenant empty then means every tenant's).
	AnyTenant bool
	Handle    func(*Request) (any, error)
}

// Request is one scoped read.
type Request struct {
	Ctx   context.Context
	Scope Scope
	Query url.Values
	path  func(string) string
}

// NewRequest builds a request; path resolves the route's {wildcards}.
func NewRequest(ctx context.Context, scope Scope, query url.Values, path func(string) string) *Request {
	if query == nil {
		query = url.Values{}
	}
	return &Request{Ctx: ctx, Scope: scope, Query: query, path: path}
}

// Path returns the value of the route's wildcard name.
func (r *Request) Path(name string) string { return r.path(name) }

// Int reads query parameter name as an integer from lo to hi; def when absent.
func (r *Request) Int(name string, def, lo, hi int) (int, error) {
	s := r.Query.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, Invalid("bad_"+name, fmt.Sprintf("%s must be an integer from %d to %d", name, lo, hi))
	}
	return n, nil
}

// Time reads query parameter name as an RFC 3339 time; zero when absent.
func (r *Request) Time(name string) (time.Time, error) {
	s := r.Query.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Invalid("bad_"+name, name+" must be an RFC 3339 timestamp, e.g. 2025-03-15T10:00:00Z")
	}
	return t, nil
}

// OneOf reads query parameter name, which must be one of accepted; def when absent.
func (r *Request) OneOf(name, def string, accepted ...string) (string, error) {
	s := r.Query.Get(name)
	if s == "" {
		return def, nil
	}
	for _, a := range accepted {
		if s == a {
			return s, nil
		}
	}
	return "", Invalid("bad_"+name, fmt.Sprintf("%s must be one of %v", name, accepted))
}

// Kind classifies a read's failure; the HTTP layer maps it to a status.
type Kind int

// The kinds of failure.
const (
	KindNotFound Kind = iota + 1 // 404: unknown, or another tenant's (never told apart)
	KindInvalid                  // 400: a parameter is not acceptable
	KindNotReady                 // 503: the state is still recovering
	KindInternal                 // 500
)

// Error is a read's failure: a machine-readable code and a message that
// says what to do.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NotFound reports an entity that does not exist in the caller's scope.
func NotFound(message string) error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: message}
}

// Invalid reports an unacceptable parameter.
func Invalid(code, message string) error {
	return &Error{Kind: KindInvalid, Code: code, Message: message}
}

// ErrNotReady is returned while a table is still recovering.
var ErrNotReady = &Error{Kind: KindNotReady, Code: "not_ready", Message: "the view is still recovering its state; retry shortly"}

// AsError returns err as an *Error; an untyped error is internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: "view_error", Message: "reading the state failed"}
}

// Table is the read side of a group table (a goka view).
type Table interface {
	Get(key string) (any, error)
	Recovered() bool
}

// Lookup reads key, with ErrNotReady while the table recovers.
func Lookup[T any](t Table, key string) (*T, error) {
	if !t.Recovered() {
		return nil, ErrNotReady
	}
	v, err := t.Get(key)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	out, _ := v.(*T)
	return out, nil
}

// Opener opens a table of the cluster for a read model; the runner runs it
// and readiness waits for its recovery.
type Opener func(table goka.Table, c goka.Codec) (Table, error)

// List returns s, or an empty list for nil: a response's lists are [] in
// JSON, never null.
func List[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
