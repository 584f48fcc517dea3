package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/audit"
	"github.com/aistream/aistream/topology"
)

const prefix = "test"

type harness struct {
	t    *testing.T
	tt   *tester.Tester
	dead *tester.QueueTracker
	q    audit.Query
}

func newHarness(t *testing.T, c audit.Config) *harness {
	t.Helper()
	tt := tester.New(t)
	kafkatest.RunModuleOnTester(t, tt, prefix, audit.NewModule(c))
	h := &harness{t: t, tt: tt, dead: tt.NewQueueTracker(topology.DeadLetters)}
	h.q = audit.NewQuery(table{tt})
	return h
}

// table reads the tester's group table like a view.
type table struct{ tt *tester.Tester }

func (t table) Get(key string) (any, error) {
	v := t.tt.TableValue(stream.Prefix(prefix).Table(audit.Name), key)
	if v == nil {
		return nil, nil
	}
	return v, nil
}
func (table) Recovered() bool { return true }

var base = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

func rec(t *testing.T, id, tenant string, at time.Time, actor, outcome string) []byte {
	t.Helper()
	b, err := codecs.Encode(codecs.Envelope{EventID: id, EventType: codecs.TypeAudit, TenantID: tenant, Timestamp: codecs.NewTime(at), Source: "ai-service"},
		codecs.Audit{Actor: actor, Action: "read", Resource: "GET /v1/traces/" + id, Outcome: outcome})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) list(tenant string, f audit.Filter) *audit.List {
	h.t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	l, err := h.q.List(tenant, f)
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

func ids(l *audit.List) []string {
	var out []string
	for _, e := range l.Events {
		out = append(out, e.EventID)
	}
	return out
}

func TestAuditIndexesPerTenantNewestFirstAcrossBuckets(t *testing.T) {
	h := newHarness(t, audit.DefaultConfig())
	// Across three buckets, out of order, one redelivered, one foreign tenant.
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a2", "acme", base.Add(15*time.Minute), "tok1", "success"))
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a1", "acme", base, "tok1", "denied"))
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a3", "acme", base.Add(25*time.Minute), "tok2", "success"))
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a2", "acme", base.Add(15*time.Minute), "tok1", "success"))
	h.tt.Consume(topology.AuditEvents, "globex", rec(t, "g1", "globex", base.Add(time.Minute), "tok9", "success"))

	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{}))); got != "[a3 a2 a1]" {
		t.Errorf("acme: %s, want [a3 a2 a1] (newest first, the redelivery once, no globex)", got)
	}
	if got := fmt.Sprint(ids(h.list("globex", audit.Filter{}))); got != "[g1]" {
		t.Errorf("globex: %s", got)
	}
	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{Actor: "tok1"}))); got != "[a2 a1]" {
		t.Errorf("actor filter: %s", got)
	}
	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{Outcome: "denied"}))); got != "[a1]" {
		t.Errorf("outcome filter: %s", got)
	}
	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute)}))); got != "[a2]" {
		t.Errorf("since/until: %s", got)
	}
	// Pages of one: a3, a2, a1, then no cursor.
	var seen []string
	f := audit.Filter{Limit: 1}
	for range 5 {
		l := h.list("acme", f)
		seen = append(seen, ids(l)...)
		if l.NextCursor == "" {
			break
		}
		f.Cursor = l.NextCursor
	}
	if got := fmt.Sprint(seen); got != "[a3 a2 a1]" {
		t.Errorf("pages: %s", got)
	}
	if _, err := h.q.List("acme", audit.Filter{Limit: 1, Cursor: "!!"}); api.AsError(err).Kind != api.KindInvalid {
		t.Errorf("bad cursor: %v", err)
	}
	if h.dead.Hwm() != 0 {
		t.Errorf("%d dead letters from valid input", h.dead.Hwm())
	}
}

func TestAuditBoundsABucketAndDeadLettersBadRecords(t *testing.T) {
	h := newHarness(t, audit.Config{MaxPerKey: 2})
	// Four events of one key (same bucket and shard), one of another shard.
	var same []string
	for i := 0; len(same) < 4; i++ {
		if id := fmt.Sprintf("e%d", i); audit.ShardOf(id) == audit.ShardOf("e0") {
			same = append(same, id)
		}
	}
	other := "x0"
	for i := 0; audit.ShardOf(other) == audit.ShardOf("e0"); i++ {
		other = fmt.Sprintf("x%d", i)
	}
	for i, id := range same {
		h.tt.Consume(topology.AuditEvents, "acme", rec(t, id, "acme", base.Add(time.Duration(i)*time.Second), "tok", "success"))
	}
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, other, "acme", base.Add(-time.Second), "tok", "success"))
	l := h.list("acme", audit.Filter{})
	if got, want := fmt.Sprint(ids(l)), fmt.Sprint([]string{same[3], same[2], other}); got != want || l.Dropped != 2 {
		t.Errorf("bounded key: %s dropped %d, want %s dropped 2", got, l.Dropped, want)
	}
	bad := [][]byte{
		[]byte(`{"event_id": "x"`),
		rec(t, "bad-outcome", "acme", base, "tok", "success")[:0],
		[]byte(`{"event_id":"w","event_type":"feedback.submitted","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"s","data":{}}`),
	}
	for _, b := range bad {
		h.tt.Consume(topology.AuditEvents, "acme", b)
	}
	if n := h.dead.Hwm(); n != int64(len(bad)) {
		t.Errorf("%d dead letters, want %d", n, len(bad))
	}
	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{}))); got != fmt.Sprint(ids(l)) {
		t.Errorf("bad records changed the view: %s", got)
	}
}

func TestAuditAdminListsEveryTenantThroughTheTenantIndex(t *testing.T) {
	h := newHarness(t, audit.DefaultConfig())
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a1", "acme", base, "tok1", "success"))
	h.tt.Consume(topology.AuditEvents, "globex", rec(t, "g1", "globex", base.Add(time.Minute), "tok9", "denied"))
	h.tt.Consume(topology.AuditEvents, "acme", rec(t, "a2", "acme", base.Add(15*time.Minute), "tok1", "success"))
	h.tt.Consume(topology.AuditEvents, "initech", rec(t, "i1", "initech", base.Add(16*time.Minute), "tok5", "success"))
	h.tt.Consume(topology.AuditEvents, "globex", rec(t, "g1", "globex", base.Add(time.Minute), "tok9", "denied")) // redelivery

	all := h.list("", audit.Filter{})
	var got []string
	for _, e := range all.Events {
		got = append(got, e.TenantID+":"+e.EventID)
	}
	if fmt.Sprint(got) != "[initech:i1 acme:a2 globex:g1 acme:a1]" {
		t.Errorf("admin list: %v, want every tenant's newest first, each once", got)
	}
	if got := fmt.Sprint(ids(h.list("", audit.Filter{Outcome: "denied"}))); got != "[g1]" {
		t.Errorf("admin outcome filter: %s", got)
	}
	var seen []string
	f := audit.Filter{Limit: 1}
	for range 6 {
		l := h.list("", f)
		seen = append(seen, ids(l)...)
		if l.NextCursor == "" {
			break
		}
		f.Cursor = l.NextCursor
	}
	if fmt.Sprint(seen) != "[i1 a2 g1 a1]" {
		t.Errorf("admin pages: %v", seen)
	}
	// A tenant's list never holds another tenant's events, nor the index.
	if got := fmt.Sprint(ids(h.list("acme", audit.Filter{}))); got != "[a2 a1]" {
		t.Errorf("acme: %s", got)
	}
	want := "[acme globex]"
	if base.Truncate(audit.BucketWidth) != base.Add(time.Minute).Truncate(audit.BucketWidth) {
		want = "[acme]"
	}
	ix, _ := h.tt.TableValue(stream.Prefix(prefix).Table(audit.Name), audit.IndexKey(base)).(*audit.Bucket)
	if ix == nil || fmt.Sprint(ix.Tenants) != want || len(ix.Events) != 0 {
		t.Errorf("tenant index of the first bucket: %+v, want %s and no events", ix, want)
	}
	if h.dead.Hwm() != 0 {
		t.Errorf("%d dead letters from valid input", h.dead.Hwm())
	}
}

func TestAuditTenantIndexIsBounded(t *testing.T) {
	h := newHarness(t, audit.DefaultConfig())
	at := base.Truncate(audit.BucketWidth)
	for i := range audit.MaxTenantsPerBucket + 2 {
		tenant := fmt.Sprintf("t%05d", i)
		h.tt.Consume(topology.AuditEvents, tenant, rec(t, "e-"+tenant, tenant, at, "tok", "success"))
	}
	ix, _ := h.tt.TableValue(stream.Prefix(prefix).Table(audit.Name), audit.IndexKey(at)).(*audit.Bucket)
	if ix == nil {
		t.Fatal("no tenant index")
	}
	if len(ix.Tenants) != audit.MaxTenantsPerBucket || ix.Dropped != 2 {
		t.Fatalf("tenant index: %d tenants, %d dropped; want %d and 2", len(ix.Tenants), ix.Dropped, audit.MaxTenantsPerBucket)
	}
	l := h.list("", audit.Filter{Since: at, Until: at.Add(audit.BucketWidth), Limit: 1000})
	if len(l.Events) != 1000 || l.NextCursor == "" || l.Dropped != 2 {
		t.Errorf("admin page: %d events, cursor %q, dropped %d; want 1000, a cursor, 2", len(l.Events), l.NextCursor, l.Dropped)
	}
	last := fmt.Sprintf("t%05d", audit.MaxTenantsPerBucket+1)
	if got := fmt.Sprint(ids(h.list(last, audit.Filter{}))); got != "[e-"+last+"]" {
		t.Errorf("a tenant past the index bound, with ?tenant=: %s", got)
	}
}
