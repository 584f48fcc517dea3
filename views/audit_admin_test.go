package views_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/audit"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/views"
)

// An admin token lists every tenant's audit events without ?tenant= (and
// one tenant's with it); a tenant's token lists its own only, ?tenant=
// ignored; other routes still need ?tenant= from an admin. Every answer
// conforms to views/openapi.yaml.
func TestAuditAdminSeesEveryTenant(t *testing.T) {
	_, router := loadOpenAPI(t)
	tt := tester.New(t)
	mods := []*stream.Module{contextgraph.Module(), audit.Module()}
	for _, m := range mods {
		kafkatest.RunModuleOnTester(t, tt, "adm", m)
	}
	s := views.NewServer(zerolog.Nop(), stream.NewMetrics(), views.Bearer(verifier{}))
	if err := s.MountModules(stream.Prefix("adm"), kafkatest.ViewsOnTester(t, tt), mods...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	now := time.Now().UTC()
	table := stream.Prefix("adm").Table(audit.Name)
	for i, tenant := range []string{"acme", "globex"} {
		at := now.Add(-time.Duration(i+1) * time.Minute)
		tt.SetTableValue(table, audit.Key(tenant, at, 0), &audit.Bucket{Events: []audit.Entry{{EventID: "ev-" + tenant, Time: at,
			Source: "aistream", Actor: "tok", Action: "read", Resource: "GET /v1/traces/x", Outcome: "success"}}})
		ix, _ := tt.TableValue(table, audit.IndexKey(at)).(*audit.Bucket)
		if ix == nil {
			ix = &audit.Bucket{}
		}
		ix.Tenants = append(ix.Tenants, tenant)
		tt.SetTableValue(table, audit.IndexKey(at), ix)
	}
	get := func(path, token string) (int, []string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := validateResponse(router, req, resp, body); err != nil {
			t.Errorf("GET %s: does not conform to views/openapi.yaml: %v\n%s", path, err, body)
		}
		var l audit.List
		_ = json.Unmarshal(body, &l)
		var got []string
		for _, e := range l.Events {
			got = append(got, e.TenantID+":"+e.EventID)
		}
		return resp.StatusCode, got
	}
	for _, c := range []struct {
		path, token string
		status      int
		want        []string
	}{
		{"/v1/audit", "tok-admin", 200, []string{"acme:ev-acme", "globex:ev-globex"}},
		{"/v1/audit?tenant=globex", "tok-admin", 200, []string{"globex:ev-globex"}},
		{"/v1/audit?limit=1", "tok-admin", 200, []string{"acme:ev-acme"}},
		{"/v1/audit", "tok-acme", 200, []string{"acme:ev-acme"}},
		{"/v1/audit?tenant=globex", "tok-acme", 200, []string{"acme:ev-acme"}},
		{"/v1/traces", "tok-admin", 400, nil},
		{"/v1/traces?tenant=acme", "tok-admin", 200, nil},
	} {
		status, got := get(c.path, c.token)
		if status != c.status || len(got) != len(c.want) {
			t.Errorf("GET %s with %s: %d %v, want %d %v", c.path, c.token, status, got, c.status, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("GET %s with %s: %v, want %v", c.path, c.token, got, c.want)
				break
			}
		}
	}
}
