package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/topology"
)

func dropped(m *audit.Metrics) float64 {
	n := 0.0
	for _, r := range []string{"queue_full", "produce_failed", "encode_failed"} {
		n += testutil.ToFloat64(m.Dropped.WithLabelValues(r))
	}
	return n
}

// Events reach audit-events in the seed's envelope (the strict decoder
// accepts them), keyed by tenant, each counted as written.
func TestIntegrationWriterWritesEnvelopes(t *testing.T) {
	kafkatest.Setup(t, nil)
	m := audit.NewMetrics(nil)
	w, err := audit.NewWriter([]kgo.Opt{kgo.SeedBrokers(kafkatest.Brokers(t)...)}, audit.DefaultOptions(), m, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	actor := fmt.Sprintf("test-%d", time.Now().UnixNano())
	const n = 50
	for i := range n {
		w.Record(audit.Event{Tenant: "acme", Actor: actor, Action: "read", Resource: fmt.Sprintf("GET /v1/traces/%d", i), Outcome: audit.Success})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.Close(ctx)
	recs := kafkatest.ReadUntil(t, topology.AuditEvents, 30*time.Second, func(r *kgo.Record) bool {
		ev, err := codecs.Decoder{}.Decode(r.Value)
		return err == nil && ev.Payload.(*codecs.Audit).Actor == actor
	}, func(rs []*kgo.Record) bool { return len(rs) >= n })
	ids := map[string]bool{}
	for _, r := range recs {
		ev, _ := codecs.Decoder{}.Decode(r.Value)
		if string(r.Key) != "acme" || ev.TenantID != "acme" || ev.Source != audit.Source || ev.EventType != codecs.TypeAudit {
			t.Errorf("record %s: key %q tenant %q source %q", ev.EventID, r.Key, ev.TenantID, ev.Source)
		}
		ids[ev.EventID] = true
	}
	if len(recs) != n || len(ids) != n || testutil.ToFloat64(m.Written) != n || dropped(m) != 0 {
		t.Errorf("%d records, %d ids, written %v, dropped %v; want %d each and none dropped", len(recs), len(ids), testutil.ToFloat64(m.Written), dropped(m), n)
	}
}

// With audit-events unreachable no event is lost silently: every one is
// counted as dropped (queue full, or the producer gave up), none as written.
func TestWriterCountsEveryEventItCannotWrite(t *testing.T) {
	m := audit.NewMetrics(nil)
	o := audit.Options{Queue: 4, Linger: time.Millisecond, Timeout: time.Hour} // Close, not the timeout, ends them
	w, err := audit.NewWriter([]kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, o, m, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		w.Record(audit.Event{Actor: "a", Action: "read", Resource: fmt.Sprint(i), Outcome: audit.Success})
	}
	w.Record(audit.Event{Actor: "", Action: "read", Resource: "x", Outcome: audit.Success}) // no actor: not encodable
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	w.Close(ctx)
	kafkatest.Eventually(t, 10*time.Second, "every event counted", func() bool { return dropped(m) == n+1 })
	if testutil.ToFloat64(m.Dropped.WithLabelValues("queue_full")) == 0 || testutil.ToFloat64(m.Written) != 0 {
		t.Errorf("queue_full %v written %v", testutil.ToFloat64(m.Dropped.WithLabelValues("queue_full")), testutil.ToFloat64(m.Written))
	}
}

// Event ids of operations are derived from their inputs.
func TestDerivedID(t *testing.T) {
	if audit.DerivedID("tokens.create", "ab") != audit.DerivedID("tokens.create", "ab") ||
		audit.DerivedID("tokens.create", "ab") == audit.DerivedID("tokens.createa", "b") || audit.NewID() == audit.NewID() {
		t.Error("ids")
	}
}

// A resource the client names (long, not UTF-8) still makes an event the
// strict decoder accepts.
func TestRecordClipsHostileResources(t *testing.T) {
	for _, res := range []string{strings.Repeat("é", 500), "GET /v1/traces/\xff\xfe" + strings.Repeat("x", 300)} {
		r, err := audit.Event{Actor: "a", Action: "read", Resource: res, Outcome: audit.Success}.Record()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (codecs.Decoder{}).Decode(r.Value); err != nil {
			t.Errorf("%.20q: %v", res, err)
		}
	}
}
