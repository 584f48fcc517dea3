package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/internal/kafkatest"
	processoraudit "github.com/aistream/aistream/processors/audit"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// The writer's events and the AI Service's (keyed by tenant, any
// partition) reach GET /v1/audit through the real broker, each once, in its
// tenant only; a malformed record is dead-lettered and the group goes on.
func TestIntegrationAuditPipeline(t *testing.T) {
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(processoraudit.Module()))
	kafkatest.StartAtEnd(t, prefix, processoraudit.Module())
	kafkatest.RunModules(t, env, prefix, processoraudit.Module())
	srv := kafkatest.ServeRead(t, env, prefix, processoraudit.Module())

	a, b := "ita-"+prefix, "itb-"+prefix // topics are shared between runs; tenants are not
	w, err := audit.NewWriter([]kgo.Opt{kgo.SeedBrokers(kafkatest.Brokers(t)...)}, audit.DefaultOptions(), audit.NewMetrics(nil), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 30 {
		tenant := a
		if i%3 == 0 {
			tenant = b
		}
		w.Record(audit.Event{Tenant: tenant, Actor: "tok", Action: "read", Resource: fmt.Sprintf("GET /v1/traces/t%d", i), Outcome: audit.Success, Time: now.Add(time.Duration(i) * time.Millisecond)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.Close(ctx)
	cl := kafkatest.Client(t)
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.AuditEvents, Key: []byte(a), Value: []byte(`{"event_id": "broken"`)})

	var l processoraudit.List
	kafkatest.Eventually(t, 60*time.Second, "20 events of tenant A", func() bool {
		l = processoraudit.List{}
		return kafkatest.GetJSON(t, srv.URL+"/v1/audit?limit=1000", &l, views.TenantHeader, a) == http.StatusOK && len(l.Events) >= 20
	})
	if len(l.Events) != 20 {
		t.Errorf("%d events of A, want 20", len(l.Events))
	}
	for i, e := range l.Events {
		if e.TenantID != a || e.Source != audit.Source || (i > 0 && e.Time.After(l.Events[i-1].Time)) {
			t.Errorf("event %d: %+v (tenant A, newest first)", i, e)
		}
	}
	var lb processoraudit.List
	kafkatest.Eventually(t, 30*time.Second, "10 events of tenant B", func() bool {
		lb = processoraudit.List{}
		return kafkatest.GetJSON(t, srv.URL+"/v1/audit?limit=1000", &lb, views.TenantHeader, b) == http.StatusOK && len(lb.Events) == 10
	})
}
