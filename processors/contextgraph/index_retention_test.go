package contextgraph

import (
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// The trace index deletes, as newer traces arrive, the entries of a tenant
// started more than the retention before its newest start (event time),
// files late ones past retention not at all, leaves other tenants alone,
// and the list stays newest first.
func TestTraceIndexRetentionDeletesOldEntriesInEventTime(t *testing.T) {
	tt := tester.New(t)
	const retention = time.Hour
	kafkatest.RunOnTester(t, tt, indexGraph(stream.Options{Prefix: prefix}, retention))
	dead := tt.NewQueueTracker(topology.DeadLetters)
	view, err := kafkatest.ViewsOnTester(t, tt)(stream.Prefix(prefix).Table(IndexName), new(indexCodec))
	if err != nil {
		t.Fatal(err)
	}
	in := string(stream.Prefix(prefix).Stream(IndexStream))
	put := func(tenant, trace string, at time.Duration) {
		s := &TraceSummary{TenantID: tenant, TraceID: trace, Started: codecs.NewTime(t0.Add(at)), Agents: []string{"a"}, Status: "ok"}
		b, _ := codecs.JSON[IndexUpdate]{}.Encode(&IndexUpdate{Summary: s})
		tt.Consume(in, IndexKey(tenant, s.Started.Time, trace), b)
	}
	list := func(tenant string) string {
		t.Helper()
		l, err := Traces(view, tenant, TraceFilter{}, api.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range l.Traces {
			ids = append(ids, s.TraceID)
		}
		return fmt.Sprint(ids)
	}
	put("acme", "t1", 0)
	put("acme", "t2", 30*time.Minute)
	put("globex", "g1", 0)
	put("acme", "t3", 50*time.Minute)
	if got := list("acme"); got != "[t3 t2 t1]" {
		t.Fatalf("within retention: %s, want [t3 t2 t1]", got)
	}
	// t4 moves acme's newest to 1h25m: t1's bucket (10:00-10:10) ends
	// before the cutoff 10:25 and is swept; t2 (10:30) stays.
	put("acme", "t4", 85*time.Minute)
	if got := list("acme"); got != "[t4 t3 t2]" {
		t.Errorf("after t4: %s, want [t4 t3 t2] (t1 past retention)", got)
	}
	// A late trace older than the cutoff is deleted at once; a redelivery
	// of an expired one too.
	put("acme", "late", 5*time.Minute)
	put("acme", "t1", 0)
	if got := list("acme"); got != "[t4 t3 t2]" {
		t.Errorf("after late ones: %s, want [t4 t3 t2]", got)
	}
	// A jump of days sweeps everything before it, in bounded steps.
	put("acme", "t5", 72*time.Hour)
	if got := list("acme"); got != "[t5]" {
		t.Errorf("after a jump: %s, want [t5]", got)
	}
	if got := list("globex"); got != "[g1]" {
		t.Errorf("globex: %s, want [g1] (its own newest decides)", got)
	}
	if tt.TableValue(stream.Prefix(prefix).Table(IndexName), IndexKey("acme", t0, "t1")) != nil {
		t.Error("t1's key is still in the table")
	}
	// The swept expiry lists are gone; t5's is the only one of acme's.
	for _, at := range []time.Duration{0, 30 * time.Minute, 50 * time.Minute, 85 * time.Minute} {
		for shard := range expiryShards {
			if v := tt.TableValue(stream.Prefix(prefix).Table(IndexName), expiryKey("acme", t0.Add(at), shard)); v != nil {
				t.Errorf("expiry list of %s shard %d survived its sweep: %+v", at, shard, v)
			}
		}
	}
	if dead.Hwm() != 0 {
		t.Errorf("%d dead letters", dead.Hwm())
	}
}
