package views_test

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/views"
)

// A replica running a group alone answers /readyz with every partition of
// the group running, and /metrics says so in aistream_partition_state,
// with the generation it joined counted.
func TestIntegrationReadyzListsPartitionStates(t *testing.T) {
	m := contextgraph.Module()
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(m))
	p := stream.Prefix(prefix)
	srv := kafkatest.Serve(t, env, stream.Options{Prefix: p, Metrics: env.Metrics}, m)
	group := string(p.Group(contextgraph.Name))

	var body views.ReadyBody
	if code := kafkatest.GetJSON(t, srv.URL+"/readyz", &body); code != http.StatusOK || body.Status != "ready" {
		t.Fatalf("/readyz: %d %+v", code, body)
	}
	var want []stream.PartitionStatus
	for n := range int32(6) {
		want = append(want, stream.PartitionStatus{Partition: n, State: stream.PartitionRunning})
	}
	if got := body.Groups[group]; !reflect.DeepEqual(got, want) {
		t.Errorf("/readyz lists %s as %+v, want its 6 partitions running", group, got)
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	metrics := string(b)
	for _, line := range []string{
		`aistream_partition_state{group="` + group + `",partition="5",state="running"} 1`,
		`aistream_partition_state{group="` + group + `",partition="5",state="recovering"} 0`,
		`aistream_rebalances_total{group="` + group + `"} 1`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
