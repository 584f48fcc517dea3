package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/internal/auth"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/views"
)

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
			if bytes.Contains(foreign, []byte(`"tenant_id":"`+a+`"`)) || foreignCode != http.StatusOK {
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
		// An admin token needs ?tenant= (except on /v1/audit: every
		// tenant's trail) and then reads A's like A.
		wantAdmin := http.StatusBadRequest
		if rt.Pattern == "/v1/audit" {
			wantAdmin = http.StatusOK
		}
		if code, _, _ := c.get(t, path, tokAdmin); code != wantAdmin {
			t.Errorf("%s with an admin token and no ?tenant=: %d, want %d", path, code, wantAdmin)
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
