package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/internal/auth"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/views"
)

// insecureWarnEvery is how often --insecure-no-auth repeats its warning
// (with the number of unauthenticated requests) while requests come in.
const insecureWarnEvery = 10 * time.Second

// devTokenFileName is the token file "aistream dev" writes in its data
// directory when no --token-file is given.
const devTokenFileName = "dev-tokens.json"

// apiAuth is the serving commands' Authenticator: the token file's bearer
// tokens (reloaded while ctx lasts), or with --insecure-no-auth the
// X-Tenant-ID header. In dev without a token file it writes one with a
// token per demo tenant and returns them (tenant → token) for the banner.
func apiAuth(ctx context.Context, log zerolog.Logger, sv config.Serve, dev bool, reg prometheus.Registerer) (views.Authenticator, map[string]string, error) {
	if sv.InsecureNoAuth {
		return views.InsecureHeaderScope(log, insecureWarnEvery), nil, nil
	}
	path, created := sv.TokenFile, map[string]string(nil)
	if path == "" && dev {
		path = filepath.Join(sv.DataDir, devTokenFileName)
		f := &auth.File{}
		created = map[string]string{}
		for _, t := range demo.Tenants() {
			tok, entry, err := auth.New(t, false, "aistream dev", time.Now())
			if err != nil {
				return nil, nil, err
			}
			f.Tokens = append(f.Tokens, entry)
			created[t] = tok
		}
		if err := f.Save(path); err != nil {
			return nil, nil, err
		}
	}
	if path == "" { // --views=false: no /v1 route; config.Resolve requires a file otherwise
		return views.Bearer(noTokens{}), nil, nil
	}
	store, err := auth.Open(path, log)
	if err != nil {
		return nil, nil, configError(err)
	}
	if err := store.Register(reg); err != nil {
		return nil, nil, err
	}
	go store.Watch(ctx, auth.ReloadInterval)
	log.Info().Str("token_file", path).Msg("API authentication: bearer tokens")
	return views.Bearer(store), created, nil
}

// warnInsecure is the start-up warning of --insecure-no-auth, logged once
// every setting has been checked (a bad one is the only line then).
func warnInsecure(log zerolog.Logger, sv config.Serve) {
	if sv.InsecureNoAuth {
		log.Warn().Msg("--insecure-no-auth: /v1 is served WITHOUT authentication; any client reads any tenant's data with " + views.TenantHeader)
	}
}

// devTokenLines are the banner's lines for the tokens dev created: one per
// tenant (the ready request follows once the first demo trace is served).
func devTokenLines(tokens map[string]string) []string {
	if len(tokens) == 0 {
		return []string{"tokens: from --token-file (make more with \"aistream tokens create --tenant T --token-file F\")"}
	}
	tenants := demo.Tenants()
	lines := []string{fmt.Sprintf("tokens: (written hashed to %s; printed only now)", devTokenFileName)}
	for _, t := range tenants {
		if tok, ok := tokens[t]; ok {
			lines = append(lines, fmt.Sprintf("  %-10s %s", t, tok))
		}
	}
	return lines
}

// noTokens verifies no token.
type noTokens struct{}

func (noTokens) Verify(string) (api.Scope, bool) { return api.Scope{}, false }

// startAudit starts the writer of the API's audit events (its own
// producer) and has srv record every /v1 read with it.
func startAudit(kc config.Kafka, log zerolog.Logger, m *stream.Metrics, srv *views.Server) (*audit.Writer, error) {
	opts, err := kc.Franz()
	if err != nil {
		return nil, configError(err)
	}
	w, err := audit.NewWriter(opts, audit.DefaultOptions(), audit.NewMetrics(m.Registry), log)
	if err != nil {
		return nil, err
	}
	srv.AuditTo(w, m.Registry)
	return w, nil
}

// closeAudit writes what is queued (at most 5s) at shutdown.
func closeAudit(w *audit.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Close(ctx)
}
