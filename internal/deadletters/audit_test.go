package deadletters_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/topology"
)

func TestAuditRecordIsAnAuditEventWithAnIDFromTheSelection(t *testing.T) {
	f := deadletters.Filter{Reason: codecs.ReasonProcessing, Limit: 100}
	p := deadletters.NewPlan([]deadletters.DeadLetter{
		deadletters.FromRecord(deadRecord(1, 5, []byte("t"), []byte(feedback), codecs.ReasonProcessing)),
		deadletters.FromRecord(deadRecord(2, 9, []byte("t"), []byte(feedback[:40]), codecs.ReasonProcessing)),
	})
	ok := deadletters.Result{Redriven: 2}
	at := time.Date(2025, 3, 16, 8, 0, 0, 0, time.UTC)
	rec, eventID, err := deadletters.AuditRecord(f, p, "ops-anna", ok, at)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != topology.AuditEvents {
		t.Errorf("topic %s", rec.Topic)
	}
	// It passes aistream's own strict decoding, as the AI Service's audit
	// events do.
	ev, err := codecs.Decoder{}.Decode(rec.Value)
	if err != nil {
		t.Fatalf("decode %s: %v", rec.Value, err)
	}
	a := ev.Payload.(*codecs.Audit)
	if ev.EventID != eventID || ev.EventType != codecs.TypeAudit || ev.TenantID != deadletters.AuditTenant || a.Actor != "ops-anna" || a.Action != deadletters.AuditAction ||
		a.Outcome != "success" || a.Resource != f.String() || a.Details["redriven"] != "2" || a.Details["first"] != "aistream-dead-letters/1/5" {
		t.Errorf("audit event %s", rec.Value)
	}

	id := func(f deadletters.Filter, res deadletters.Result, at time.Time) string {
		t.Helper()
		_, id, err := deadletters.AuditRecord(f, p, "ops-anna", res, at)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if id(f, ok, at.Add(time.Hour)) != ev.EventID {
		t.Error("the same re-drive retried later has another event_id")
	}
	failed := deadletters.Result{Redriven: 1, Failed: 1, Err: errors.New("broker down")}
	if id(f, failed, at) == ev.EventID {
		t.Error("a failed re-drive has the event_id of a successful one")
	}
	if id(deadletters.Filter{Limit: 100}, ok, at) == ev.EventID {
		t.Error("another filter has the same event_id")
	}
	if _, _, err := deadletters.AuditRecord(f, p, "", ok, at); err == nil {
		t.Error("an audit event without an actor was accepted")
	}
}
