package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// Must-show (d): a message the running context-graph group rejected is
// listed with its reason and excerpt, and a dead letter whose bytes are
// valid now (a bug rejected it: processing_failed) re-driven twice with
// "dead-letters replay --execute" is processed once: the trace shows the
// feedback once and exactly one learning signal comes out (one event_id;
// at-least-once delivery may repeat a record under it). The re-driven
// records keep key (a null one too) and bytes, and both runs write an audit
// event with the same event_id.
func TestIntegrationDeadLetterRedriveIsProcessedOnce(t *testing.T) {
	mod := contextgraph.Module()
	env, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(mod))
	// The shared input topics may hold a long history of other tests: the
	// group starts at their end.
	kafkatest.StartAtEnd(t, prefix, mod)
	api := kafkatest.Serve(t, env, stream.Options{Prefix: stream.Prefix(prefix), Metrics: env.Metrics}, mod)
	group := string(stream.Prefix(prefix).Group(contextgraph.Name))
	bin := buildBinary(t)
	cl := kafkatest.Client(t)
	start := endOffsets(t, cl, topology.FeedbackEvents, topology.ThinkingEvents, topology.LearningSignals, topology.AuditEvents)

	tenant, trace, other := "acme", prefix+"-trace", prefix+"-trace-null-key"
	at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	thinking := func(id, trace string) []byte {
		return mustJSON(envelope(id, codecs.TypeThinking, tenant, at, map[string]any{"trace_id": trace, "agent": "planner", "step": 0, "content": "plan"}))
	}
	feedback := func(id, user string, score any) []byte {
		return mustJSON(envelope(id, codecs.TypeFeedback, tenant, at.Add(time.Minute), map[string]any{
			"response_id": prefix + "-resp", "trace_id": trace, "session_id": "s", "user_id": user, "agent": "planner", "model": "gpt-4o", "score": score}))
	}
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.ThinkingEvents, Key: []byte(trace), Value: thinking(prefix+"-th", trace)})

	// A malformed event: the running group dead-letters it.
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.FeedbackEvents, Key: []byte(trace), Value: feedback(prefix+"-bad", "u1", "five")})
	rejected := kafkatest.ReadUntil(t, topology.DeadLetters, 60*time.Second, func(r *kgo.Record) bool {
		// Other packages' tests write malformed events to the same input
		// topics while this group runs: only this test's own count.
		return kafkatest.Header(r, stream.HeaderGroup) == group && bytes.Contains(r.Value, []byte(prefix+"-bad"))
	}, func(rs []*kgo.Record) bool { return len(rs) == 1 })[0]

	listed := ours(prefix, listJSON(t, bin, "--group", group))
	if len(listed) != 1 || listed[0].Reason != string(codecs.ReasonWrongType) || listed[0].SourceTopic != topology.FeedbackEvents ||
		listed[0].Key == nil || *listed[0].Key != trace || listed[0].Value == nil || !strings.Contains(*listed[0].Value, prefix+"-bad") || !strings.Contains(listed[0].Error, "data.score") {
		t.Fatalf("list --group %s = %+v", group, listed)
	}
	ts := rejected.Timestamp
	for _, filter := range [][]string{
		{"--reason", "wrong_type"}, {"--source-topic", topology.FeedbackEvents}, {"--since", ts.Format(time.RFC3339Nano)},
		{"--until", ts.Add(time.Millisecond).Format(time.RFC3339Nano)},
	} {
		if got := ours(prefix, listJSON(t, bin, append([]string{"--group", group}, filter...)...)); len(got) != 1 {
			t.Errorf("list %v: %d dead letters, want the one", filter, len(got))
		}
	}
	for _, filter := range [][]string{
		{"--reason", "processing_failed"}, {"--source-topic", topology.TraceEvents}, {"--since", ts.Add(time.Millisecond).Format(time.RFC3339Nano)},
		{"--until", ts.Format(time.RFC3339Nano)}, {"--group", group + "x"},
	} {
		if got := ours(prefix, listJSON(t, bin, append([]string{"--group", group}, filter...)...)); len(got) != 0 {
			t.Errorf("list %v: %d dead letters, want none", filter, len(got))
		}
	}

	// Events a bug had rejected (as stream.Guard dead-letters them), their
	// bytes valid: a feedback under its key, a thinking step under a null
	// key.
	fbID := prefix + "-fb"
	fixed := []*kgo.Record{
		handMadeDeadLetter(topology.FeedbackEvents, []byte(trace), feedback(fbID, "u1", 2), group),
		handMadeDeadLetter(topology.ThinkingEvents, nil, thinking(prefix+"-th-null", other), group),
	}
	kafkatest.Produce(t, cl, fixed...) // sets their partitions and offsets
	text := dlCommand(t, bin, "list", "--group", group, "--source-topic", topology.ThinkingEvents)
	if !strings.Contains(text, "key     (null)") || !strings.Contains(text, "reason  processing_failed") || !strings.Contains(text, prefix+"-th-null") {
		t.Errorf("list shows the null-key dead letter as:\n%s", text)
	}

	filter := []string{"--group", group, "--reason", "processing_failed"}
	plan := dlCommand(t, bin, append([]string{"replay"}, filter...)...)
	if !strings.Contains(plan, "dry run") || !strings.Contains(plan, "2 to re-drive") || !strings.Contains(plan, deadletters.FromRecord(fixed[0]).ID()) {
		t.Errorf("dry run plan:\n%s", plan)
	}
	actor := "tester-" + prefix
	for range 2 {
		out := dlCommand(t, bin, append([]string{"replay", "--execute", "--actor", actor}, filter...)...)
		if !strings.Contains(out, "re-drove 2 dead letters") {
			t.Fatalf("replay --execute:\n%s", out)
		}
	}

	// A later feedback on the same key (so the same partition) is processed
	// after both re-drives: once the trace shows it, they were processed.
	sentinelID := prefix + "-fb-later"
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.FeedbackEvents, Key: []byte(trace), Value: feedback(sentinelID, "u2", 5)})
	var g contextgraph.Graph
	kafkatest.Eventually(t, 60*time.Second, "the trace shows the later feedback", func() bool {
		return kafkatest.GetJSON(t, api.URL+"/v1/traces/"+trace, &g, views.TenantHeader, tenant) == http.StatusOK && feedbackCount(g)[sentinelID] == 1
	})
	if n := feedbackCount(g); len(g.Feedback) != 2 || n[fbID] != 1 {
		t.Errorf("trace feedback %v, want the re-driven %s once and %s", n, fbID, sentinelID)
	}
	kafkatest.Eventually(t, 60*time.Second, "the null-key thinking step re-driven", func() bool {
		var o contextgraph.Graph
		return kafkatest.GetJSON(t, api.URL+"/v1/traces/"+other, &o, views.TenantHeader, tenant) == http.StatusOK && len(o.Thinking) == 1
	})

	signal, later := contextgraph.SignalID(tenant, fbID), contextgraph.SignalID(tenant, sentinelID)
	// Both feedback signals share a key, so the later one comes after any
	// the re-drives produced.
	signals := readFrom(t, cl, start, topology.LearningSignals, func(rs []*kgo.Record) bool { return containing(rs, later) > 0 })
	// At-least-once: the producer may write a record twice (same event_id),
	// which consumers deduplicate; a second signal would have a new one.
	ids := map[string]int{}
	for _, r := range signals {
		var ev struct {
			EventID string        `json:"event_id"`
			Data    codecs.Signal `json:"data"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("learning signal %s: %v", r.Value, err)
		}
		if ev.Data.SignalID == signal {
			ids[fmt.Sprintf("%s revision %d", ev.EventID, ev.Data.Revision)]++
		}
	}
	if len(ids) != 1 {
		t.Errorf("learning signals for the re-driven feedback: %v, want exactly one", ids)
	}

	// The re-driven records: two runs, none from the dry run; key and bytes
	// as they were, a null key still null.
	for i, topic := range []string{topology.FeedbackEvents, topology.ThinkingEvents} {
		from := deadletters.FromRecord(fixed[i]).ID()
		copies := redrivenFrom(readFrom(t, cl, start, topic, func(rs []*kgo.Record) bool { return len(redrivenFrom(rs, from)) >= 2 }), from)
		if len(copies) != 2 {
			t.Errorf("%s: %d records re-driven from %s, want 2 (two runs with --execute, one dry run)", topic, len(copies), from)
		}
		for _, c := range copies {
			if !bytes.Equal(c.Value, fixed[i].Value) || (c.Key == nil) != (fixed[i].Key == nil) || !bytes.Equal(c.Key, fixed[i].Key) || kafkatest.Header(c, deadletters.HeaderRedrivenAt) == "" {
				t.Errorf("%s: re-driven key %q (null %v) value %q, want key %q (null %v) and the dead letter's bytes", topic, c.Key, c.Key == nil, c.Value, fixed[i].Key, fixed[i].Key == nil)
			}
		}
	}

	// One audit event per run, with the same event_id.
	audits := readFrom(t, cl, start, topology.AuditEvents, func(rs []*kgo.Record) bool { return containing(rs, actor) >= 2 })
	var events []string
	for _, r := range audits {
		if !bytes.Contains(r.Value, []byte(actor)) {
			continue
		}
		ev, err := codecs.Decoder{}.Decode(r.Value)
		if err != nil {
			t.Fatalf("audit event %s: %v", r.Value, err)
		}
		a := ev.Payload.(*codecs.Audit)
		if a.Action != deadletters.AuditAction || a.Outcome != "success" || a.Details["redriven"] != "2" || !strings.Contains(a.Resource, group) {
			t.Errorf("audit event %s", r.Value)
		}
		events = append(events, ev.EventID)
	}
	if len(events) != 2 || events[0] != events[1] {
		t.Errorf("audit event ids %v, want two equal ones", events)
	}
}

// Bad flags stop with one line and exit 2 before connecting anywhere.
func TestDeadLettersBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"dead-letters"},
		{"dead-letters", "show"},
		{"dead-letters", "list", "--reason", "schema_mismatch"},
		{"dead-letters", "list", "--since", "yesterday"},
		{"dead-letters", "list", "--since", "2025-03-16T00:00:00Z", "--until", "2025-03-15T00:00:00Z"},
		{"dead-letters", "list", "--limit", "0"},
		{"dead-letters", "list", "--format", "yaml"},
		{"dead-letters", "replay", "--format", "json"},
		{"dead-letters", "replay", "--bootstrap-servers", "kafka:port"},
	} {
		err := run(args)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want a one-line error with exit code 2", args, err)
		}
	}
	if err := run([]string{"dead-letters", "list", "--reason", "schema_mismatch"}); err == nil || !strings.Contains(err.Error(), "processing_failed") {
		t.Errorf("an unknown reason: %v, want the accepted list", err)
	}
}

// handMadeDeadLetter is a dead letter as stream.Guard writes one for a
// handler that failed on the message.
func handMadeDeadLetter(topic string, key, value []byte, group string) *kgo.Record {
	return &kgo.Record{Topic: topology.DeadLetters, Key: key, Value: value, Headers: []kgo.RecordHeader{
		{Key: stream.HeaderReason, Value: []byte(codecs.ReasonProcessing)},
		{Key: stream.HeaderError, Value: []byte("processing_failed: handler failed: runtime error: index out of range [3] with length 3")},
		{Key: stream.HeaderTopic, Value: []byte(topic)},
		{Key: stream.HeaderPartition, Value: []byte("0")},
		{Key: stream.HeaderOffset, Value: []byte("0")},
		{Key: stream.HeaderGroup, Value: []byte(group)},
	}}
}

// dlCommand runs "aistream dead-letters args..." against the test cluster
// and returns its standard output; it fails the test unless it exits 0.
func dlCommand(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dead-letters"}, args...)...)
	cmd.Env = append(os.Environ(), "KAFKA_BOOTSTRAP_SERVERS="+strings.Join(kafkatest.Brokers(t), ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dead-letters %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// listedDeadLetter is a line of "list --format json".
type listedDeadLetter struct {
	Reason      string  `json:"reason"`
	Error       string  `json:"error"`
	SourceTopic string  `json:"source_topic"`
	Key         *string `json:"key"`
	Value       *string `json:"value"`
}

func listJSON(t *testing.T, bin string, args ...string) []listedDeadLetter {
	t.Helper()
	var out []listedDeadLetter
	for _, line := range strings.Split(strings.TrimSpace(dlCommand(t, bin, append([]string{"list", "--format", "json"}, args...)...)), "\n") {
		if line == "" {
			continue
		}
		var l listedDeadLetter
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("list --format json printed %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

// ours keeps the dead letters of this test's events: the group reads the
// shared input topics, where tests running at the same time put malformed
// events of their own.
func ours(prefix string, ls []listedDeadLetter) []listedDeadLetter {
	var out []listedDeadLetter
	for _, l := range ls {
		if l.Value != nil && strings.Contains(*l.Value, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func endOffsets(t *testing.T, cl *kgo.Client, topics ...string) kadm.ListedOffsets {
	t.Helper()
	l, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topics...)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %v: %v", topics, err)
	}
	return l
}

// readFrom reads topic from the offsets in from until done holds over what
// was read, and fails the test after a minute.
func readFrom(t *testing.T, cl *kgo.Client, from kadm.ListedOffsets, topic string, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	from.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			parts[o.Partition] = kgo.NewOffset().At(o.Offset)
		}
	})
	c := kafkatest.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*kgo.Record
	for len(out) == 0 || !done(out) {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: not done within a minute (%d records read)", topic, len(out))
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// containing counts the records whose value contains s.
func containing(rs []*kgo.Record, s string) int {
	n := 0
	for _, r := range rs {
		if bytes.Contains(r.Value, []byte(s)) {
			n++
		}
	}
	return n
}

func feedbackCount(g contextgraph.Graph) map[string]int {
	n := map[string]int{}
	for _, f := range g.Feedback {
		n[f.EventID]++
	}
	return n
}

func redrivenFrom(rs []*kgo.Record, id string) []*kgo.Record {
	var out []*kgo.Record
	for _, r := range rs {
		if kafkatest.Header(r, deadletters.HeaderRedrivenFrom) == id {
			out = append(out, r)
		}
	}
	return out
}
