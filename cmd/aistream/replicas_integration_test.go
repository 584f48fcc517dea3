package main

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/topology"
)

// The deployment shape of docker-compose.yml: two processor replicas
// ("run --views=false") share the partitions of one group, and a separate
// API process ("run --processors=none") serves what either of them wrote.
func TestIntegrationReplicasShareWorkAndTheAPIServesIt(t *testing.T) {
	bin := buildBinary(t)
	brokers := strings.Join(kafkatest.Brokers(t), ",")
	group := fmt.Sprintf("replicas%d", time.Now().UnixNano()%1e9)
	env := []string{"KAFKA_BOOTSTRAP_SERVERS=" + brokers, "KAFKA_CONSUMER_GROUP=" + group}
	var replicas []*devProcess
	for range 2 {
		replicas = append(replicas, startAistream(t, bin, freePort(t), env,
			"run", "--views=false", "--processors=context-graph", "--state-dir", t.TempDir()))
	}
	api := startAistream(t, bin, freePort(t), env, "run", "--processors=none", "--state-dir", t.TempDir())
	for _, p := range append(replicas, api) {
		p.waitReady(t, 120*time.Second)
	}
	// Ready means "every partition this replica holds is running"; a replica
	// that has not joined yet holds none and is ready too. Produce only once
	// the two replicas between them run all partitions, each at least one,
	// or the first may process everything before the rebalance.
	partitions, ok := topology.PartitionsOf(topology.ThinkingEvents)
	if !ok {
		t.Fatalf("%s is not a contract topic", topology.ThinkingEvents)
	}
	runningRe := regexp.MustCompile(`aistream_partition_state\{group="` + group + `-context-graph",partition="(\d+)",state="running"\} 1\n`)
	kafkatest.Eventually(t, 60*time.Second, "both replicas running a share of the partitions", func() bool {
		seen := map[string]bool{}
		for _, p := range replicas {
			_, body := p.get(t, "/metrics", "")
			ms := runningRe.FindAllSubmatch(body, -1)
			if len(ms) == 0 {
				return false
			}
			for _, m := range ms {
				seen[string(m[1])] = true
			}
		}
		return len(seen) == int(partitions)
	})

	tenant := "acme-" + group
	var recs []*kgo.Record
	var traces []string
	for i := range 30 {
		trace := fmt.Sprintf("%s-tr-%d", group, i)
		traces = append(traces, trace)
		v := fmt.Sprintf(`{"event_id":"%s-e","event_type":"agent.thinking","tenant_id":"%s","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"%s","agent":"planner","step":0,"content":"step of %s"}}`, trace, tenant, trace, trace)
		recs = append(recs, &kgo.Record{Topic: topology.ThinkingEvents, Key: []byte(trace), Value: []byte(v)})
	}
	kafkatest.Produce(t, kafkatest.Client(t), recs...)

	kafkatest.Eventually(t, 60*time.Second, "every trace served by the API process", func() bool {
		for _, tr := range traces {
			if code, _ := api.get(t, "/v1/traces/"+tr, tenant); code != http.StatusOK {
				return false
			}
		}
		return true
	})
	consumedRe := regexp.MustCompile(`ai_kafka_messages_consumed_total\{group="` + group + `-context-graph",topic="agent-thinking-events"\} (\d+)`)
	for i, p := range replicas {
		_, body := p.get(t, "/metrics", "")
		m := consumedRe.FindSubmatch(body)
		if m == nil {
			t.Fatalf("replica %d consumed nothing of agent-thinking-events: the partitions are not shared", i)
		}
		if n, _ := strconv.Atoi(string(m[1])); n == 0 || bytes.Contains(body, []byte("ai_kafka_messages_consumed_total{group=\""+group+"-context-graph\",topic=\"agent-thinking-events\"} 30\n")) {
			t.Errorf("replica %d consumed %s of 30 events: want a share, not all or none", i, m[1])
		}
	}
	for _, p := range append(replicas, api) {
		p.stop(t)
	}
}
