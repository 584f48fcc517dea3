package auth

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/api"
)

// ReloadInterval is how often a Store looks at its file's mtime and size.
const ReloadInterval = 2 * time.Second

// Store verifies presented tokens against a token file and reloads it when
// it changes; a file that no longer loads keeps the last good set (logged
// and counted in aistream_auth_token_file_reloads_total{result="error"}).
type Store struct {
	path    string
	log     zerolog.Logger
	tokens  atomic.Pointer[map[string]Token]
	mu      sync.Mutex // serialises reloads
	stamp   fileStamp
	reloads *prometheus.CounterVec
	count   prometheus.GaugeFunc
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// Open loads the token file at path; an error here stops start-up.
func Open(path string, log zerolog.Logger) (*Store, error) {
	s := &Store{path: path, log: log,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_auth_token_file_reloads_total",
			Help: "Reloads of the token file after it changed, by result (ok, or error: the last good tokens stay in use).",
		}, []string{"result"}),
	}
	// Both results are series from the start: an alert on an increase of
	// errors needs the zero before the first one.
	for _, r := range []string{"ok", "error"} {
		s.reloads.WithLabelValues(r)
	}
	s.count = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "aistream_auth_tokens",
		Help: "Tokens in use from the token file.",
	}, func() float64 { return float64(len(*s.tokens.Load())) })
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Register adds the store's metrics to reg.
func (s *Store) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.reloads, s.count} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) load() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		_, err = Load(s.path) // Load's error says what to do
		return err
	}
	f, err := Load(s.path)
	if err != nil {
		return err
	}
	m := make(map[string]Token, len(f.Tokens))
	for _, t := range f.Tokens {
		m[t.ID] = t
	}
	s.tokens.Store(&m)
	s.stamp = fileStamp{fi.ModTime(), fi.Size()}
	return nil
}

// Reload loads the file again when its mtime or size changed.
func (s *Store) Reload() { s.reload(false) }

func (s *Store) reload(force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if !force && err == nil && (fileStamp{fi.ModTime(), fi.Size()}) == s.stamp {
		return
	}
	if err := s.load(); err != nil {
		s.reloads.WithLabelValues("error").Inc()
		s.log.Error().Err(err).Int("tokens_in_use", len(*s.tokens.Load())).Msg("token file reload failed; the last good tokens stay in use")
		if fi != nil {
			s.stamp = fileStamp{fi.ModTime(), fi.Size()} // log once per change, not every poll
		}
		return
	}
	s.reloads.WithLabelValues("ok").Inc()
	s.log.Info().Int("tokens", len(*s.tokens.Load())).Msg("token file reloaded")
}

// Watch reloads the file when it changed, checked every interval, and on
// SIGHUP unconditionally, until ctx ends.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.reload(true)
		case <-t.C:
			s.Reload()
		}
	}
}

// Verify returns the scope of a presented token, or false when it is not
// one of the file's. The scope's Actor is the token's public id.
func (s *Store) Verify(tok string) (api.Scope, bool) {
	id, ok := ParseID(tok)
	if !ok {
		return api.Scope{}, false
	}
	t, ok := (*s.tokens.Load())[id]
	if !ok || !t.matches(tok) {
		return api.Scope{}, false
	}
	return api.Scope{Tenant: t.Tenant, Admin: t.Admin, Actor: t.ID}, true
}
