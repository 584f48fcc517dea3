package stream_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// On a real broker: an event the broker accepted gzip-compressed but that is
// larger than any record aistream may produce lands in the dead-letter topic
// (truncated, with its size and digest), and the group goes on processing.
func TestIntegrationOversizedEventIsDeadLetteredAndTheGroupGoesOn(t *testing.T) {
	env, prefix := kafkatest.Setup(t, nil)
	var (
		mu      sync.Mutex
		handled []string
	)
	group := goka.DefineGroup(goka.Group(prefix+"-oversized"),
		goka.Input(goka.Stream(topology.ThinkingEvents), new(codec.Bytes),
			stream.Accept(codecs.Decoder{}, env.Metrics, []string{codecs.TypeThinking}, func(ctx goka.Context, ev *codecs.Event) {
				mu.Lock()
				handled = append(handled, ev.EventID)
				mu.Unlock()
			})),
		stream.DeadLetterOutput(),
	)
	kafkatest.RunGroups(t, env, stream.Options{}, stream.Group{Name: "oversized", Graph: func(stream.Options) *goka.GroupGraph { return group }})

	key := fmt.Sprintf("%s-big", prefix)
	big := append([]byte(`{"event_id":"`+key+`","padding":"`), bytes.Repeat([]byte("x"), 1_500_000)...)
	big = append(big, `"}`...)
	after := fmt.Sprintf(`{"event_id":"%s-after","event_type":"agent.thinking","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"t","agent":"a","step":0,"content":"c"}}`, prefix)
	cl := kafkatest.Client(t, kgo.ProducerBatchCompression(kgo.GzipCompression()), kgo.ProducerBatchMaxBytes(4<<20))
	kafkatest.Produce(t, cl,
		&kgo.Record{Topic: topology.ThinkingEvents, Key: []byte(key), Value: big},
		&kgo.Record{Topic: topology.ThinkingEvents, Key: []byte(key), Value: []byte(after)})

	got := kafkatest.ReadUntil(t, topology.DeadLetters, 60*time.Second,
		func(r *kgo.Record) bool { return string(r.Key) == key },
		func(rs []*kgo.Record) bool { return len(rs) > 0 })
	r := got[0]
	if kafkatest.Header(r, stream.HeaderReason) != string(codecs.ReasonOversized) || kafkatest.Header(r, stream.HeaderTruncated) != fmt.Sprint(len(big)) ||
		!bytes.HasPrefix(big, r.Value) || len(r.Value) == 0 {
		t.Fatalf("dead letter: reason %q truncated-from %q, %d bytes", kafkatest.Header(r, stream.HeaderReason), kafkatest.Header(r, stream.HeaderTruncated), len(r.Value))
	}
	kafkatest.Eventually(t, 30*time.Second, "the event after the oversized one processed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range handled {
			if id == prefix+"-after" {
				return true
			}
		}
		return false
	})
}
