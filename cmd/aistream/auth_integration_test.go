package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/aistream/aistream/internal/audit"
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
	rs := srv.Routes()
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

// The API's authentication, tenant isolation and audit trail against the
// real binary: every mounted /v1 route refuses a request without a valid
// token; tenant B's token obtains nothing of tenant A's on any route (its
// answer on A's ids is its answer on unknown ids); every access is exactly
// one audit event, served by GET /v1/audit; token create/revoke are audited
// and a revoked token stops working without a restart.
func TestIntegrationAuthTenantScopeAndAudit(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.json")
	tenants := demo.Tenants()
	a, b := tenants[0], tenants[1]
	tokA := createToken(t, bin, file, nil, "--tenant", a)
	tokB := createToken(t, bin, file, nil, "--tenant", b)
	tokAdmin := createToken(t, bin, file, nil, "--admin", "--name", "ops")
	idA, _ := auth.ParseID(tokA)

	broker, apiAddr := freePort(t), freePort(t)
	p := startDev(t, bin, filepath.Join(dir, "data"), broker, apiAddr, "--token-file", file)
	p.waitReady(t, 90*time.Second)
	c := &client{base: p.api, n: map[string]int{}}

	// Both tenants' traffic, from different seeds: trace ids (and the
	// response ids made of them) are A's alone; agents and dataset names are
	// shared, as tenants share names in real life.
	vals, secretsA := produceTenant(t, broker, a, 42)
	valsB, _ := produceTenant(t, broker, b, 4242)
	routes := mountedRoutes(t)

	// 1. No token, a malformed one, a well-formed unknown one: 401 on every route.
	unknown := "ast_0123456789abcdef_" + strings.Repeat("ab", 32)
	for _, rt := range routes {
		path := fill(rt.Pattern, vals, "x")
		for _, tok := range []string{"", "not-a-token", unknown, tokA + "x"} {
			code, body, h := c.get(t, path, tok)
			if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("%s with token %.12q: %d %q (WWW-Authenticate %q), want 401 with Bearer challenge", path, tok, code, body, h.Get("WWW-Authenticate"))
			}
		}
	}
	// X-Tenant-ID is ignored when authentication is on.
	req, _ := http.NewRequest(http.MethodGet, p.api+fill(routes[0].Pattern, vals, "x"), nil)
	req.Header.Set(views.TenantHeader, a)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("X-Tenant-ID without a token: %v %v, want 401", resp.StatusCode, err)
	}

	// 2. A's data is served to A (trace first: it proves the data arrived).
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, _ := c.get(t, "/v1/traces/"+vals["trace_id"], tokA)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant A's trace %s not served within 60s (last %d)", vals["trace_id"], code)
		}
		time.Sleep(300 * time.Millisecond)
	}
	waitStatus(t, c, "/v1/traces/"+valsB["trace_id"], tokB, http.StatusOK)
	time.Sleep(2 * time.Second) // the other views catch up
	served := 0
	var holding []string     // shared-name routes whose answer to A holds A's trace ids
	var variants []api.Route // lineage traversal at its deepest, both ways
	for _, rt := range routes {
		if rt.Pattern == "/v1/lineage/{dataset}" {
			rt.Pattern += "?direction=both&depth=10"
			variants = append(variants, rt)
		}
	}
	for _, rt := range append(routes, variants...) {
		path := fill(rt.Pattern, vals, "x")
		codeA, bodyA, _ := c.get(t, path, tokA)
		if codeA == http.StatusOK && !strings.Contains(rt.Pattern, "/v1/audit") && bytes.Contains(bodyA, []byte(a)) {
			served++
		}
		if !tenantOwned(rt.Pattern) {
			for id := range secretsA {
				if bytes.Contains(bodyA, []byte(id)) {
					holding = append(holding, rt.Pattern)
					break
				}
			}
		}
		// B on A's ids answers exactly as B on unknown ids.
		foreignCode, foreign, _ := c.get(t, path, tokB)
		unk := map[string]string{}
		for k := range vals {
			unk[k] = "zz.unknown." + k // qualified: dataset names are echoed qualified
		}
		unkCode, unknownBody, _ := c.get(t, fill(rt.Pattern, unk, "x"), tokB)
		if rt.Pattern == "/v1/audit" {
			// B's own trail grows with every read: only B's events, never A's.
			if bytes.Contains(foreign, []byte(`"tenant_id": "`+a+`"`)) || foreignCode != http.StatusOK {
				t.Errorf("tenant B's audit trail: %.400s", foreign)
			}
		} else if tenantOwned(rt.Pattern) && !sameAnswer(foreignCode, foreign, unkCode, unknownBody, vals, unk) {
			t.Errorf("%s: tenant B on A's ids answers %d %s\nbut on unknown ids %d %s", rt.Pattern, foreignCode, foreign, unkCode, unknownBody)
		}
		if bytes.Contains(foreign, []byte(`"`+a+`"`)) {
			t.Errorf("%s: tenant B's answer names tenant A", rt.Pattern)
		}
		var echo []string // the ids the request named may be echoed
		for _, v := range vals {
			echo = append(echo, v, "")
		}
		stripped := strings.NewReplacer(echo...).Replace(string(foreign))
		for id := range secretsA {
			if strings.Contains(stripped, id) {
				t.Errorf("%s: tenant B's answer holds A's trace %s: %.300s", rt.Pattern, id, foreign)
				break
			}
		}
		// An admin token needs ?tenant= and then reads A's like A.
		if code, _, _ := c.get(t, path, tokAdmin); code != http.StatusBadRequest {
			t.Errorf("%s with an admin token and no ?tenant=: %d, want 400", path, code)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if code, _, _ := c.get(t, path+sep+"tenant="+a, tokAdmin); code != codeA && !strings.Contains(rt.Pattern, "/v1/audit") {
			t.Errorf("%s as admin for %s: %d, tenant A got %d", path, a, code, codeA)
		}
		// A tenant token cannot name another tenant.
		if code, body, _ := c.get(t, path+sep+"tenant="+a, tokB); bytes.Contains(body, []byte(`"`+a+`"`)) {
			t.Errorf("%s?tenant=%s with B's token: %d names tenant A", path, a, code)
		}
	}
	t.Logf("routes of shared names whose answer to A holds A's trace ids (B's must not): %v", holding)
	if len(holding) == 0 {
		t.Error("no shared-name route's answer holds A's trace ids: the lineage isolation check proves nothing")
	}
	if served < 3 {
		t.Errorf("only %d routes served tenant A's data to A: the isolation check proves little", served)
	}

	// 3. Token create and revoke (with a cluster given) are audited; the
	// revoked token stops working without a restart.
	env := []string{"KAFKA_BOOTSTRAP_SERVERS=" + broker}
	tokC := createToken(t, bin, file, env, "--tenant", a, "--name", "short-lived")
	idC, _ := auth.ParseID(tokC)
	waitStatus(t, c, "/v1/insights", tokC, http.StatusOK)
	out, err := exec.Command(bin, "tokens", "revoke", idC, "--token-file", file, "--bootstrap-servers", broker).CombinedOutput()
	if err != nil {
		t.Fatalf("tokens revoke: %v\n%s", err, out)
	}
	waitStatus(t, c, "/v1/insights", tokC, http.StatusUnauthorized)
	if list, _ := exec.Command(bin, "tokens", "list", "--token-file", file).Output(); bytes.Contains(list, []byte(tokA)) || bytes.Contains(list, []byte(idC)) || !bytes.Contains(list, []byte(idA)) {
		t.Errorf("tokens list: %s", list)
	}

	if out, err := exec.Command(bin, "topics", "apply", "--bootstrap-servers", broker, "--consumer-group", "devtest", "--actor", "it-ops").CombinedOutput(); err != nil {
		t.Fatalf("topics apply: %v\n%s", err, out)
	}

	// 4. Every access is exactly one audit event of its tenant, served by
	// GET /v1/audit; the admin operations are there too.
	want := map[string]int{}
	c.mu.Lock()
	for k, n := range c.n {
		if strings.HasPrefix(k, idA+" ") && !strings.HasSuffix(k, " GET /v1/audit") {
			want[strings.TrimPrefix(k, idA+" ")] = n
		}
	}
	c.mu.Unlock()
	var got map[string]int
	var actions map[string]bool
	deadline = time.Now().Add(45 * time.Second)
	for {
		got, actions = auditOf(t, c, tokA, "")
		if mapsEqualFor(want, got) && actions["tokens.create"] && actions["tokens.revoke"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit of tenant A's token %s:\n got  %v\n want %v\n actions %v", idA, got, want, actions)
		}
		time.Sleep(time.Second)
	}
	// Nothing of A's in B's audit trail; 401s are in the system tenant's, for admins.
	_, actionsB := auditOf(t, c, tokB, "")
	if actionsB["tokens.create"] {
		t.Error("tenant B's audit trail shows A's token creation")
	}
	code, body, _ := c.get(t, "/v1/audit?outcome=denied&limit=1000&tenant="+audit.SystemTenant, tokAdmin)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"anonymous"`)) {
		t.Errorf("admin's view of the system tenant's denied reads: %d %.300s", code, body)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, body, _ := c.get(t, "/v1/audit?action=topics.apply&actor=cli:it-ops&tenant="+audit.SystemTenant, tokAdmin)
		if code == http.StatusOK && bytes.Count(body, []byte(`"topics.apply"`)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics apply not in the system tenant's audit trail: %d %.400s", code, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if code, _, _ := c.get(t, "/v1/audit?tenant="+audit.SystemTenant, tokA); code != http.StatusOK {
		t.Errorf("tenant A's own audit with ?tenant=: %d", code)
	}
	if bytes.Contains([]byte(p.out.String()), []byte(strings.SplitN(tokA, "_", 3)[2])) {
		t.Error("a token's secret is in the server's log")
	}
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

// tenantOwned reports whether every wildcard of the pattern names an id
// only one tenant has in this test (trace and response ids).
func tenantOwned(pattern string) bool {
	for _, m := range wildcardRe.FindAllStringSubmatch(pattern, -1) {
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
