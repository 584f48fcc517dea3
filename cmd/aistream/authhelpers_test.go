package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/auth"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/views"
)

// mountedRoutes are the /v1 routes the binary mounts, read off a server
// built from the same modules (no hand-kept list).
func mountedRoutes(t *testing.T) []api.Route {
	t.Helper()
	srv := views.NewServer(zerolog.Nop(), nil, views.HeaderScope)
	open := func(goka.Table, goka.Codec) (api.Table, error) { return nopTable{}, nil }
	if err := srv.MountModules(stream.Prefix("routes"), open, modules()...); err != nil {
		t.Fatal(err)
	}
	rs := srv.ReadRoutes()
	if len(rs) < 5 {
		t.Fatalf("only %d routes mounted", len(rs))
	}
	return rs
}

type nopTable struct{}

func (nopTable) Get(string) (any, error) { return nil, nil }
func (nopTable) Recovered() bool         { return true }

var wildcardRe = regexp.MustCompile(`\{([a-z_]+)\}`)

// fill substitutes the route's wildcards from vals (fallback for missing ones).
func fill(pattern string, vals map[string]string, fallback string) string {
	return wildcardRe.ReplaceAllStringFunc(pattern, func(m string) string {
		if v, ok := vals[m[1:len(m)-1]]; ok {
			return v
		}
		return fallback
	})
}

// createToken runs "aistream tokens create" and returns the token: the one
// line on stdout.
func createToken(t *testing.T, bin, file string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"tokens", "create", "--token-file", file}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokens create %v: %v\n%s", args, err, stderr.String())
	}
	tok := strings.TrimSuffix(stdout.String(), "\n")
	if _, ok := auth.ParseID(tok); !ok || strings.Contains(tok, "\n") {
		t.Fatalf("tokens create printed %q on stdout, want the token alone", stdout.String())
	}
	if strings.Contains(stderr.String(), tok) {
		t.Fatal("the token is on stderr too")
	}
	return tok
}

// client GETs with a token and counts every /v1 access per (actor, resource).
type client struct {
	base string
	mu   sync.Mutex
	n    map[string]int // actor + " " + resource
}

func (c *client) get(t *testing.T, path, token string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if id, ok := auth.ParseID(token); ok && resp.StatusCode != http.StatusUnauthorized {
		p, _, _ := strings.Cut(path, "?")
		c.mu.Lock()
		c.n[id+" GET "+p]++
		c.mu.Unlock()
	}
	return resp.StatusCode, b, resp.Header
}

// auditOf reads every audit event of tok's tenant (pages of 100): the
// read events of tok counted per resource, and the set of actions.
func auditOf(t *testing.T, c *client, tok, tenant string) (map[string]int, map[string]bool) {
	t.Helper()
	id, _ := auth.ParseID(tok)
	reads, actions := map[string]int{}, map[string]bool{}
	cursor := ""
	for range 100 {
		path := "/v1/audit?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, body, _ := c.get(t, path, tok)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var l struct {
			Events []struct {
				TenantID, Actor, Action, Resource string
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Events {
			actions[e.Action] = true
			if e.Action == "read" && e.Actor == id && e.Resource != "GET /v1/audit" {
				reads[e.Resource]++
			}
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	return reads, actions
}

func mapsEqualFor(want, got map[string]int) bool {
	if len(want) != len(got) {
		return false
	}
	for k, n := range want {
		if got[k] != n {
			return false
		}
	}
	return true
}

func waitStatus(t *testing.T, c *client, path, tok string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, _ := c.get(t, path, tok)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d within 20s", path, code, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tenantOwned reports whether the pattern has wildcards and every one names
// an id only one tenant has in this test (trace and response ids). A list
// route (no wildcard) names no id to compare: B's list is checked for A's
// ids and tenant name instead.
func tenantOwned(pattern string) bool {
	ms := wildcardRe.FindAllStringSubmatch(pattern, -1)
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if m[1] != "trace_id" && m[1] != "response_id" {
			return false
		}
	}
	return true
}

// produceTenant produces the demo traffic of one tenant into the broker and
// returns ids of it for the routes' wildcards, and all its trace ids.
func produceTenant(t *testing.T, broker, tenant string, seed uint64) (map[string]string, map[string]bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	gen := demo.New(seed)
	traces := map[string]bool{}
	gen.MalformedShare = 0
	vals := map[string]string{"agent": ""}
	now := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 60 {
		for _, r := range gen.Trace(now.Add(time.Duration(i-60) * time.Second)) {
			ev, err := codecs.Decoder{}.Decode(r.Value)
			if err != nil || ev.TenantID != tenant {
				continue
			}
			learn(vals, ev)
			if sp, ok := ev.Payload.(*codecs.Span); ok {
				traces[sp.TraceID] = true
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, v := range vals {
		if v == "" {
			delete(vals, k)
		}
	}
	if vals["trace_id"] == "" {
		t.Fatalf("no trace of %s in the demo traffic", tenant)
	}
	t.Logf("tenant %s ids: %v (%d traces)", tenant, vals, len(traces))
	return vals, traces
}

// learn keeps the first id of each kind the routes name.
func learn(vals map[string]string, ev *codecs.Event) {
	set := func(k, v string) {
		if vals[k] == "" && v != "" {
			vals[k] = v
		}
	}
	switch p := ev.Payload.(type) {
	case *codecs.Span:
		set("trace_id", p.TraceID)
	case *codecs.Feedback:
		set("response_id", p.ResponseID)
	case *codecs.Lineage:
		if len(p.Sources) > 0 && len(p.Targets) > 0 && vals["dataset"] == "" {
			vals["dataset"], vals["other"] = p.Targets[0], p.Sources[0]
		}
		for _, m := range p.Columns {
			if m.Target.Dataset == vals["dataset"] {
				set("column", m.Target.Column)
			}
		}
	}
	set("agent", demo.Agents()[0])
}

// sameAnswer reports whether two answers are the same up to the ids in the
// request: error answers by status and error code (their messages echo the
// ids), others byte for byte once A's ids are replaced by the unknown ones.
func sameAnswer(code1 int, body1 []byte, code2 int, body2 []byte, vals, unk map[string]string) bool {
	if code1 != code2 {
		return false
	}
	var e1, e2 views.ErrorBody
	if json.Unmarshal(body1, &e1) == nil && json.Unmarshal(body2, &e2) == nil && e1.Error != "" {
		return e1.Error == e2.Error
	}
	var pairs []string
	for k, v := range vals {
		pairs = append(pairs, v, unk[k])
	}
	return strings.NewReplacer(pairs...).Replace(string(body1)) == string(body2)
}
