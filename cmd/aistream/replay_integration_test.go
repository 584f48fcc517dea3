package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/replay"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// replayEnv is one test's cluster, prefix and replay groups.
type replayEnv struct {
	t      *testing.T
	bin    string
	prefix string
	env    []string
	adm    *kadm.Client
	groups map[string]replay.Group
}

func newReplayEnv(t *testing.T) *replayEnv {
	t.Helper()
	mods := modules()
	_, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(mods...))
	gs, err := replay.Groups(stream.Prefix(prefix), mods)
	if err != nil {
		t.Fatal(err)
	}
	e := &replayEnv{t: t, bin: buildBinary(t), prefix: prefix, adm: kadm.NewClient(kafkatest.Client(t)), groups: map[string]replay.Group{},
		env: []string{"KAFKA_BOOTSTRAP_SERVERS=" + strings.Join(kafkatest.Brokers(t), ","), "KAFKA_CONSUMER_GROUP=" + prefix}}
	for _, g := range gs {
		e.groups[g.Name] = g
	}
	return e
}

// startAtEnd commits the groups' offsets at the ends of their inputs: the
// first run reads only what the test produces, not the history other tests
// left on the broker.
func (e *replayEnv) startAtEnd(names ...string) {
	for _, n := range names {
		g := e.groups[n]
		ends, err := e.adm.ListEndOffsets(context.Background(), append(slices.Clone(g.Inputs), g.Internal...)...)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.adm.CommitAllOffsets(context.Background(), g.Group, ends.Offsets()); err != nil {
			e.t.Fatalf("commit start offsets of %s: %v", g.Group, err)
		}
	}
}

// aistream runs the binary to its end and returns its exit code and output.
func (e *replayEnv) aistream(args ...string) (int, string) {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), e.env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	e.t.Fatalf("aistream %v: %v", args, err)
	return 0, ""
}

// caughtUp waits until each group, in order, has committed its inputs up
// to their ends and then its loop: the order of a pipeline (responses
// reads what context-graph writes).
func (e *replayEnv) caughtUp(names ...string) {
	e.t.Helper()
	for _, n := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		spans, _, err := replay.Current(ctx, e.adm, []replay.Group{e.groups[n]})
		if err == nil {
			_, err = replay.Follower{Out: io.Discard, Poll: 250 * time.Millisecond, LogEvery: time.Hour}.Follow(ctx, e.adm, spans)
		}
		cancel()
		if err != nil {
			e.t.Fatalf("group %s not caught up: %v", n, err)
		}
	}
}

func (e *replayEnv) committed(group string) map[string]map[int32]int64 {
	e.t.Helper()
	c, err := e.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	c.Each(func(o kadm.OffsetResponse) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

func (e *replayEnv) topicID(topic string) kadm.TopicID {
	e.t.Helper()
	md, err := e.adm.Metadata(context.Background(), topic)
	if err != nil || md.Topics[topic].Err != nil {
		e.t.Fatalf("metadata of %s: %v %v", topic, err, md.Topics[topic].Err)
	}
	return md.Topics[topic].ID
}

func (e *replayEnv) ends(topic string) map[int32]int64 {
	e.t.Helper()
	l, err := e.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int32]int64{}
	l.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// read returns the records of topic between from and to.
func (e *replayEnv) read(topic string, from, to map[int32]int64) []*kgo.Record {
	e.t.Helper()
	parts := map[int32]kgo.Offset{}
	left := 0
	for p, end := range to {
		if end > from[p] {
			parts[p] = kgo.NewOffset().At(from[p])
			left++
		}
	}
	if left == 0 {
		return nil
	}
	cl := kafkatest.Client(e.t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []*kgo.Record
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("reading %s: %d partitions not read to their end", topic, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= to[r.Partition] {
				return
			}
			if r.Offset == to[r.Partition]-1 {
				left--
			}
			out = append(out, r)
		})
	}
	return out
}

// signals are one pass's learning signals of a tenant.
type signals struct {
	revisions map[string]bool           // "signal_id r<revision>"
	highest   map[string]map[string]any // signal_id → data of its highest revision, revision and event_id left out
}

func (e *replayEnv) signals(tenant string, from, to map[int32]int64) signals {
	out := signals{revisions: map[string]bool{}, highest: map[string]map[string]any{}}
	rev := map[string]int{}
	for _, r := range e.read(topology.LearningSignals, from, to) {
		var ev struct {
			TenantID string         `json:"tenant_id"`
			Data     map[string]any `json:"data"`
		}
		if json.Unmarshal(r.Value, &ev) != nil || ev.TenantID != tenant {
			continue
		}
		id, _ := ev.Data["signal_id"].(string)
		n := int(ev.Data["revision"].(float64))
		out.revisions[fmt.Sprintf("%s r%d", id, n)] = true
		if n >= rev[id] {
			rev[id] = n
			delete(ev.Data, "revision")
			out.highest[id] = ev.Data
		}
	}
	return out
}

// get returns a view's JSON, without the revision of each feedback entry
// when normalise is set.
func (e *replayEnv) get(api, path, tenant string, normalise bool) map[string]any {
	req, _ := http.NewRequest(http.MethodGet, api+path, nil)
	req.Header.Set("X-Tenant-ID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var v map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil
	}
	if fb, ok := v["feedback"].([]any); ok && normalise {
		for _, f := range fb {
			delete(f.(map[string]any), "revision")
		}
	}
	return v
}

func event(t *testing.T, topic, key, id, tenant string, at time.Time, typ string, payload any) *kgo.Record {
	t.Helper()
	v, err := codecs.Encode(codecs.Envelope{EventID: id, EventType: typ, TenantID: tenant, Timestamp: codecs.Time{Time: at}, Source: "ai-service"}, payload)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: v}
}

// must-show (a): context-graph and responses run on some input and stop;
// "replay --group context-graph --to-earliest --execute" resets them, and
// the same processes on the same state directories reprocess everything the
// input topics hold. The replay emits the same signal ids and leaves the
// same trace views. A signal's revisions depend on whether its feedback or
// its trace's events come first, which a replay reading four topics at
// once does not repeat; so (signal_id, revision) sets are compared where
// that cannot differ (feedback on a trace with no events), and everywhere
// else what a consumer keeping the highest revision sees.
func TestIntegrationReplayReproducesOutputsAndViews(t *testing.T) {
	e := newReplayEnv(t)
	const procs = "context-graph,responses"
	e.startAtEnd("context-graph", "responses")
	state, api := t.TempDir(), freePort(t)
	start := func() *devProcess {
		p := startAistream(t, e.bin, api, append(e.env, "AISTREAM_LOG_LEVEL=warn"), "run", "--processors="+procs, "--state-dir", state)
		p.waitReady(t, 120*time.Second)
		return p
	}

	tenant := "acme-" + e.prefix
	at := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	var traces, withFeedback, bare []string
	var traceEvents, feedback []*kgo.Record
	for i := range 6 {
		tr := fmt.Sprintf("%s-tr-%d", e.prefix, i)
		traces = append(traces, tr)
		traceEvents = append(traceEvents,
			event(t, topology.ThinkingEvents, tr, tr+"-th0", tenant, at, codecs.TypeThinking, codecs.Thinking{TraceID: tr, Agent: "planner", Step: 0, Content: "plan the query"}),
			event(t, topology.ThinkingEvents, tr, tr+"-th1", tenant, at.Add(time.Second), codecs.TypeThinking, codecs.Thinking{TraceID: tr, Agent: "sql-agent", Step: 1, Content: "write the SQL"}),
			event(t, topology.DecisionEvents, tr, tr+"-dc", tenant, at, codecs.TypeDecision, codecs.Decision{TraceID: tr, DecisionID: "d1", Agent: "router", DecisionType: "route", Chosen: "sql-agent", Confidence: 0.8}),
			event(t, topology.TraceEvents, tr, tr+"-sp", tenant, at, codecs.TypeSpan, codecs.Span{TraceID: tr, SpanID: "s1", Agent: "sql-agent", Name: "run", Status: "ok",
				StartTime: codecs.Time{Time: at}, EndTime: codecs.Time{Time: at.Add(1500 * time.Millisecond)}, Model: "gpt-4o", TokensIn: 10 * (i + 1), TokensOut: i + 1}))
		if i < 3 {
			withFeedback = append(withFeedback, tr)
		}
	}
	for i := range 3 {
		bare = append(bare, fmt.Sprintf("%s-unseen-%d", e.prefix, i))
	}
	for i, tr := range append(slices.Clone(withFeedback), bare...) {
		feedback = append(feedback, event(t, topology.FeedbackEvents, tr, tr+"-fb", tenant, at.Add(10*time.Second), codecs.TypeFeedback,
			codecs.Feedback{ResponseID: "resp-" + tr, TraceID: tr, SessionID: "sess", UserID: fmt.Sprintf("user-%d", i), Agent: "sql-agent", Model: "gpt-4o",
				Thumbs: []string{"up", "down"}[i%2], Comment: "wrong totals"}))
	}

	// First run: the context first, then the feedback. The replay goes back
	// to just before it by record timestamp: the input topics are shared,
	// and from the earliest offset a real broker's history of every other
	// test would be reprocessed too (the plan is the same either way).
	from := time.Now().Add(-time.Second).UTC()
	target := []string{"--to-datetime", from.Format(time.RFC3339Nano)}
	signalsFrom := e.ends(topology.LearningSignals)
	a := start()
	cl := kafkatest.Client(t)
	kafkatest.Produce(t, cl, traceEvents...)
	e.caughtUp("context-graph")
	kafkatest.Produce(t, cl, feedback...)
	e.caughtUp("context-graph", "responses")
	first := e.signals(tenant, signalsFrom, e.ends(topology.LearningSignals))
	if len(first.highest) != len(withFeedback)+len(bare) {
		t.Fatalf("first run: %d signals of %d feedback events", len(first.highest), len(withFeedback)+len(bare))
	}
	views := map[string]map[string]any{}
	for _, tr := range append(slices.Clone(traces), bare...) {
		path := "/v1/traces/" + tr
		kafkatest.Eventually(t, 30*time.Second, "trace view of "+tr, func() bool {
			v := e.get(a.api, path, tenant, true)
			fb, _ := v["feedback"].([]any)
			sp, _ := v["spans"].([]any)
			if views[path] = v; v == nil || len(fb) != map[bool]int{true: 1}[slices.Contains(withFeedback, tr) || slices.Contains(bare, tr)] {
				return false
			}
			return slices.Contains(bare, tr) || len(sp) == 1
		})
	}
	for _, tr := range bare {
		path := "/v1/responses/resp-" + tr + "/feedback"
		kafkatest.Eventually(t, 30*time.Second, "responses view of "+tr, func() bool {
			views[path] = e.get(a.api, path, tenant, false)
			return views[path] != nil
		})
	}
	a.stop(t)

	cg := e.groups["context-graph"]
	offsets, tableID := e.committed(cg.Group), e.topicID(cg.Table.Name)
	code, out := e.aistream(append([]string{"replay", "--group", "context-graph"}, target...)...)
	if code != 0 || !strings.Contains(out, "state:    dropped and rebuilt from the replayed input") || !strings.Contains(out, "table topic "+cg.Table.Name+" deleted and recreated") ||
		!strings.Contains(out, "dry run: nothing changed") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if !reflect.DeepEqual(e.committed(cg.Group), offsets) || e.topicID(cg.Table.Name) != tableID {
		t.Fatalf("the dry run changed the group's offsets or its table topic\n%s", out)
	}

	auditFrom := e.ends(topology.AuditEvents)
	code, out = e.aistream(append([]string{"replay", "--group", "context-graph", "--execute", "--actor", "replay-test"}, target...)...)
	if code != 0 || !strings.Contains(out, "recreated table topic "+cg.Table.Name) {
		t.Fatalf("execute: exit %d\n%s", code, out)
	}
	if e.topicID(cg.Table.Name) == tableID {
		t.Errorf("the table topic keeps its id after the replay")
	}
	starts, err := e.adm.ListOffsetsAfterMilli(context.Background(), from.UnixMilli(), cg.Inputs...)
	if err != nil {
		t.Fatal(err)
	}
	after := e.committed(cg.Group)
	starts.Each(func(o kadm.ListedOffset) {
		if after[o.Topic][o.Partition] != o.Offset {
			t.Errorf("%s[%d] committed at %d after the replay, want the first offset at or after %s: %d", o.Topic, o.Partition, after[o.Topic][o.Partition], from, o.Offset)
		}
	})
	eventID := regexp.MustCompile(`audit event (audit-replay-[0-9a-f]+)`).FindStringSubmatch(out)
	if eventID == nil {
		t.Fatalf("execute names no audit event:\n%s", out)
	}
	audited := false
	for _, r := range e.read(topology.AuditEvents, auditFrom, e.ends(topology.AuditEvents)) {
		ev, err := codecs.Decoder{}.Decode(r.Value)
		if err == nil && ev.EventID == eventID[1] {
			a := ev.Payload.(*codecs.Audit)
			audited = a.Actor == "replay-test" && a.Action == "replay" && a.Outcome == "success" && strings.Contains(a.Resource, cg.Group)
			if !audited {
				t.Errorf("audit event %+v", a)
			}
		}
	}
	if !audited {
		t.Errorf("no audit event %s on %s", eventID[1], topology.AuditEvents)
	}

	// Second run on the same state directory: every local copy of the
	// table is dropped, the input reprocessed from its start.
	signalsFrom = e.ends(topology.LearningSignals)
	b := start()
	code, out = e.aistream("replay", "--group", "context-graph", "--status", "--wait")
	if code != 0 || !strings.Contains(out, "done: ") {
		t.Fatalf("status --wait: exit %d\n%s", code, out)
	}
	if m := regexp.MustCompile(`done: .*`).FindString(out); m != "" {
		t.Logf("replay of context-graph: %s", m)
	}
	e.caughtUp("responses")
	second := e.signals(tenant, signalsFrom, e.ends(topology.LearningSignals))

	if !slices.Equal(slices.Sorted(maps.Keys(second.highest)), slices.Sorted(maps.Keys(first.highest))) {
		t.Errorf("signal ids after the replay %v, first run %v", slices.Sorted(maps.Keys(second.highest)), slices.Sorted(maps.Keys(first.highest)))
	}
	for id, want := range first.highest {
		if got := second.highest[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("signal %s's highest revision differs after the replay:\n got %v\nwant %v", id, got, want)
		}
	}
	for id := range first.revisions {
		sid := strings.Fields(id)[0]
		if bareSignal(first, sid) && !second.revisions[id] {
			t.Errorf("signal revision %s of a trace without events not re-emitted", id)
		}
	}
	for id := range second.revisions {
		if bareSignal(first, strings.Fields(id)[0]) && !first.revisions[id] {
			t.Errorf("signal revision %s re-emitted that the first run did not emit", id)
		}
	}
	for path, want := range views {
		normalise := strings.HasPrefix(path, "/v1/traces/")
		var got map[string]any
		ok := false
		deadline := time.Now().Add(60 * time.Second)
		for !ok && time.Now().Before(deadline) {
			got = e.get(b.api, path, tenant, normalise)
			ok = reflect.DeepEqual(got, want)
			if !ok {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if !ok {
			t.Errorf("%s after the replay:\n got %v\nwant %v", path, got, want)
		}
	}
	b.stop(t)
	// Read once the process has exited: its output is written until then.
	for _, dir := range []string{"/processors/", "/views/"} {
		if !strings.Contains(b.out.String(), "table topic was recreated") || !strings.Contains(b.out.String(), dir+cg.Table.Name) {
			t.Errorf("the restarted replica does not say it dropped its local copy in %s:\n%s", dir, b.out.String())
		}
	}
}

// bareSignal reports whether the signal rates a trace the first run never
// saw an event of.
func bareSignal(s signals, id string) bool {
	ctx, _ := s.highest[id]["context"].(map[string]any)
	missing, _ := ctx["missing"].(bool)
	return missing
}

// must-show (b): a replay with a live member is refused, names it (member
// id, client id, host) and changes nothing; --force is no way around it.
// Usage errors come before any cluster call, and a group that never ran is
// an error.
func TestIntegrationReplayRefusedWithLiveMember(t *testing.T) {
	e := newReplayEnv(t)
	e.startAtEnd("context-graph")
	p := startAistream(t, e.bin, freePort(t), e.env, "run", "--processors=context-graph", "--views=false", "--state-dir", t.TempDir())
	p.waitReady(t, 120*time.Second)
	cg := e.groups["context-graph"]
	d, err := e.adm.DescribeGroups(context.Background(), cg.Group)
	if err != nil || len(d[cg.Group].Members) == 0 {
		t.Fatalf("the running replica is no member of %s: %v %+v", cg.Group, err, d)
	}
	m := d[cg.Group].Members[0]
	offsets, tableID := e.committed(cg.Group), e.topicID(cg.Table.Name)

	for _, args := range [][]string{
		{"replay", "--group", "context-graph", "--to-earliest", "--execute"},
		{"replay", "--group", "context-graph", "--by-duration", "1h"},
	} {
		code, out := e.aistream(args...)
		if code != 1 {
			t.Errorf("%v with a live member: exit %d, want 1\n%s", args, code, out)
		}
		for _, want := range []string{"group " + cg.Group + " has 1 live member(s)", "member " + m.MemberID, "client id " + m.ClientID, "host " + m.ClientHost, "stop every replica"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: the refusal lacks %q:\n%s", args, want, out)
			}
		}
		if strings.Contains(out, "recreated table topic") || strings.Contains(out, "--force") {
			t.Errorf("%v: refused, yet:\n%s", args, out)
		}
	}
	if code, out := e.aistream("replay", "--group", "context-graph", "--to-earliest", "--execute", "--force"); code != 2 || !strings.Contains(out, "flag provided but not defined: -force") {
		t.Errorf("--force: exit %d\n%s", code, out)
	}
	if !reflect.DeepEqual(e.committed(cg.Group), offsets) || e.topicID(cg.Table.Name) != tableID {
		t.Error("a refused replay changed the group's offsets or its table topic")
	}

	// A mistyped name is a usage error before any cluster call (the
	// brokers here do not exist); a group that never ran is an error.
	cmd := exec.Command(e.bin, "replay", "--group", "context-grph", "--to-earliest", "--bootstrap-servers", "127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "use one of "+strings.Join(stream.Names(modules()), ", ")) {
		t.Errorf("mistyped group: %v\n%s", err, out)
	}
	code, got := e.aistream("replay", "--group", "insights", "--to-earliest", "--execute")
	if code != 1 || !strings.Contains(got, "no such consumer group: "+e.prefix+"-insights (insights) never ran on this cluster") {
		t.Errorf("a group that never ran: exit %d\n%s", code, got)
	}
	p.stop(t)
}
