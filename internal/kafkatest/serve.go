package kafkatest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/views"
)

// Serve runs every group of the modules and their read models on the test
// cluster, like "aistream run", behind an HTTP server; it returns once the
// processors run and the views have recovered.
func Serve(t testing.TB, env *stream.Env, o stream.Options, mods ...*stream.Module) *httptest.Server {
	t.Helper()
	return serve(t, env, o, true, mods)
}

// ServeRead serves only the modules' read models (no processors).
func ServeRead(t testing.TB, env *stream.Env, prefix string, mods ...*stream.Module) *httptest.Server {
	t.Helper()
	return serve(t, env, stream.Options{Prefix: stream.Prefix(prefix), Metrics: env.Metrics}, false, mods)
}

func serve(t testing.TB, env *stream.Env, o stream.Options, groups bool, mods []*stream.Module) *httptest.Server {
	t.Helper()
	r := stream.NewRunner(env)
	for _, m := range mods {
		for _, g := range m.Groups {
			if !groups {
				break
			}
			if _, err := r.AddGroup(g, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := views.NewServer(zerolog.Nop(), env.Metrics, views.HeaderScope)
	s.ReadyWhen(r.Ready)
	if err := s.MountModules(o.Prefix, r.Open, mods...); err != nil {
		t.Fatal(err)
	}
	start(t, r)
	Eventually(t, 90*time.Second, "views recovered", s.Ready)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// ServeOnTester runs the modules' groups and read models on goka's tester
// behind an HTTP server.
func ServeOnTester(t testing.TB, tt *tester.Tester, prefix string, mods ...*stream.Module) *httptest.Server {
	t.Helper()
	for _, m := range mods {
		RunModuleOnTester(t, tt, prefix, m)
	}
	s := views.NewServer(zerolog.Nop(), nil, views.HeaderScope)
	if err := s.MountModules(stream.Prefix(prefix), ViewsOnTester(t, tt), mods...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// ReadOnTester mounts only the modules' read models (no processors) on the
// tester, for tests that set table values directly.
func ReadOnTester(t testing.TB, tt *tester.Tester, prefix string, mods ...*stream.Module) *httptest.Server {
	t.Helper()
	s := views.NewServer(zerolog.Nop(), nil, views.HeaderScope)
	if err := s.MountModules(stream.Prefix(prefix), ViewsOnTester(t, tt), mods...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}
