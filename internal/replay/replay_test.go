package replay

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/processors/responses"
	"github.com/aistream/aistream/topology"
)

func TestReplayTargetFlags(t *testing.T) {
	for _, c := range []struct {
		name                        string
		earliest                    bool
		datetime, duration, offsets string
		want, wantErr               string
	}{
		{name: "earliest", earliest: true, want: "to earliest"},
		{name: "datetime", datetime: "2025-03-15T10:00:00+01:00", want: "to 2025-03-15T09:00:00Z (record timestamp)"},
		{name: "duration", duration: "90m", want: "by 1h30m0s (record timestamp)"},
		{name: "offsets", offsets: "agent-trace-events:1=980, agent-trace-events:0=1200,ai-feedback-events:2=0", want: "to offsets agent-trace-events:0=1200,agent-trace-events:1=980,ai-feedback-events:2=0"},
		{name: "none", wantErr: "a target is required"},
		{name: "two", earliest: true, duration: "1h", wantErr: "--to-earliest and --by-duration: give exactly one target"},
		{name: "bad time", datetime: "yesterday", wantErr: "--to-datetime=\"yesterday\" is not valid: use RFC 3339"},
		{name: "negative duration", duration: "-1h", wantErr: "use a positive duration"},
		{name: "no partition", offsets: "agent-trace-events=5", wantErr: "is not topic:partition=offset"},
		{name: "no offset", offsets: "agent-trace-events:0=", wantErr: "has no offset"},
		{name: "twice", offsets: "agent-trace-events:0=1,agent-trace-events:0=2", wantErr: "names its partition twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTarget(c.earliest, c.datetime, c.duration, c.offsets)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != c.want {
				t.Errorf("target %q, want %q", got, c.want)
			}
		})
	}
}

// A group's inputs, internal topics, table and outputs are read off its
// graph: the contract inputs move to the target, the loop and repartition
// topics to their end, and the table is recreated as topics apply makes it.
func TestReplayGroupsFromModules(t *testing.T) {
	gs, err := Groups("pfx", []*stream.Module{contextgraph.Module(), responses.Module(), quality.Module()})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Group{}
	for _, g := range gs {
		by[g.Name] = g
	}
	cg := by[contextgraph.Name]
	if cg.Group != "pfx-context-graph" ||
		!slices.Equal(cg.Inputs, []string{topology.DecisionEvents, topology.ThinkingEvents, topology.TraceEvents, topology.FeedbackEvents}) ||
		!slices.Equal(cg.Internal, []string{"pfx-context-graph-loop"}) ||
		!slices.Contains(cg.Outputs, topology.LearningSignals) {
		t.Errorf("context-graph: %+v", cg)
	}
	if cg.Table == nil || cg.Table.Name != "pfx-context-graph-table" || cg.Table.Partitions != 6 || cg.Table.Cleanup != topology.CleanupCompact {
		t.Errorf("context-graph table: %+v", cg.Table)
	}
	router := by[quality.RouterName]
	if router.Table != nil || !slices.Equal(router.Inputs, []string{topology.FeedbackEvents}) {
		t.Errorf("the router has no state and reads feedback: %+v", router)
	}
	q := by[quality.Name]
	if !slices.Contains(q.Internal, "pfx-agent-quality-feedback") || slices.Contains(q.Inputs, "pfx-agent-quality-feedback") {
		t.Errorf("agent-quality: its repartition topic must move to its end, not to the target: %+v", q)
	}
}

func listedAt(topic string, offsets map[int32]int64) kadm.ListedOffsets {
	l := kadm.ListedOffsets{topic: {}}
	for p, o := range offsets {
		l[topic][p] = kadm.ListedOffset{Topic: topic, Partition: p, Offset: o}
	}
	return l
}

func TestReplayPartitionTargets(t *testing.T) {
	in := func(p int32) Partition {
		return Partition{Topic: "agent-trace-events", Partition: p, Committed: 50, Start: 10, End: 100}
	}
	byTime := listedAt("agent-trace-events", map[int32]int64{0: 40, 1: -1, 2: 5})
	for _, c := range []struct {
		name     string
		pp       Partition
		target   Target
		stateful bool
		want     int64
		kept     bool
		wantErr  string
	}{
		{name: "earliest is the log start", pp: in(0), target: Target{Kind: ToEarliest}, want: 10},
		{name: "by time", pp: in(0), target: Target{Kind: ToDatetime}, want: 40},
		{name: "no record after the time: the end", pp: in(1), target: Target{Kind: ByDuration}, want: 100},
		{name: "before the log start: the start", pp: in(2), target: Target{Kind: ToDatetime}, want: 10},
		{name: "internal: the end", pp: Partition{Topic: "pfx-loop", Internal: true, Committed: 3, End: 70}, target: Target{Kind: ToEarliest}, want: 70},
		{name: "named offset", pp: in(0), target: Target{Kind: ToOffset, Offsets: map[string]map[int32]int64{"agent-trace-events": {0: 20}}}, want: 20},
		{name: "unnamed partition of a stateless group is kept", pp: in(1), target: Target{Kind: ToOffset, Offsets: map[string]map[int32]int64{"agent-trace-events": {0: 20}}}, want: 50, kept: true},
		{name: "unnamed partition of a stateful group", pp: in(1), stateful: true, target: Target{Kind: ToOffset, Offsets: map[string]map[int32]int64{"agent-trace-events": {0: 20}}}, wantErr: "give every partition of every input"},
		{name: "offset outside the log", pp: in(0), target: Target{Kind: ToOffset, Offsets: map[string]map[int32]int64{"agent-trace-events": {0: 5}}}, wantErr: "outside the partition's offsets 10 to 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pp := c.pp
			err := target(&pp, c.target, byTime, c.stateful)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pp.Target != c.want || pp.Kept != c.kept {
				t.Errorf("target %d kept %v, want %d kept %v", pp.Target, pp.Kept, c.want, c.kept)
			}
		})
	}
}

func testPlan() *Plan {
	table := topology.Topic{Name: "pfx-context-graph-table", Partitions: 6, Cleanup: topology.CleanupCompact}
	return &Plan{
		Target: Target{Kind: ToEarliest},
		At:     time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC),
		Groups: []GroupPlan{{
			Group: Group{Name: "context-graph", Group: "pfx-context-graph", Inputs: []string{"agent-trace-events"},
				Internal: []string{"pfx-context-graph-loop"}, Table: &table, Outputs: []string{"ai-learning-signals"}},
			Partitions: []Partition{
				{Topic: "agent-trace-events", Partition: 0, Committed: 120, Target: 0, End: 120},
				{Topic: "agent-trace-events", Partition: 1, Committed: -1, Target: 0, End: 30},
				{Topic: "pfx-context-graph-loop", Partition: 0, Internal: true, Committed: 7, Target: 9, End: 9},
			},
		}},
	}
}

func TestReplayPlanPrint(t *testing.T) {
	var b bytes.Buffer
	if err := testPlan().Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"replay to earliest",
		"pfx-context-graph  agent-trace-events      0          120 → 0             120",
		"pfx-context-graph  agent-trace-events      1          none → 0            30",
		"pfx-context-graph  pfx-context-graph-loop  0          7 → 9 (end)         -",
		"pfx-context-graph (context-graph): 150 records to reprocess",
		"state:    dropped and rebuilt from the replayed input: table topic pfx-context-graph-table deleted and recreated (6 partitions, compact)",
		"internal: pfx-context-graph-loop reset to the end",
		"outputs:  ai-learning-signals re-emitted with the same ids; downstream dedupes on event_id and keeps the highest revision per signal_id",
		"150 records to reprocess in 1 group(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "live:") || strings.Contains(out, "warning:") {
		t.Errorf("plan warns of nothing here:\n%s", out)
	}
}

func TestReplayLiveMembersAreNamed(t *testing.T) {
	p := testPlan()
	if err := p.Live(); err != nil {
		t.Fatalf("no live member: %v", err)
	}
	p.Groups[0].Live = []Member{{ID: "goka-1-abc", ClientID: "goka-processor-pfx-context-graph", Host: "/10.0.0.7"}}
	err := p.Live()
	if err == nil {
		t.Fatal("a group with a live member must be refused")
	}
	for _, want := range []string{"group pfx-context-graph has 1 live member(s)", "member goka-1-abc (client id goka-processor-pfx-context-graph, host /10.0.0.7)", "stop every replica"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "--force") {
		t.Errorf("refusal offers --force: %q", err)
	}
}

func TestReplayAuditEvent(t *testing.T) {
	p := testPlan()
	rec, err := p.AuditRecord("alice", Result{Tables: []Recreated{{Topic: "pfx-context-graph-table"}}, Committed: 3}, nil, time.Date(2025, 3, 15, 10, 5, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != topology.AuditEvents || string(rec.Key) != AuditTenant {
		t.Errorf("record on %s key %q", rec.Topic, rec.Key)
	}
	ev, err := codecs.Decoder{}.Decode(rec.Value)
	if err != nil {
		t.Fatalf("aistream rejects its own audit event: %v\n%s", err, rec.Value)
	}
	a := ev.Payload.(*codecs.Audit)
	if ev.EventType != codecs.TypeAudit || ev.EventID != p.AuditEventID() || a.Actor != "alice" || a.Action != "replay" || a.Outcome != "success" ||
		a.Resource != "group/pfx-context-graph to earliest" || a.Details["records"] != "150" || a.Details["tables_recreated"] != "pfx-context-graph-table" {
		t.Errorf("audit event %+v %+v", ev.Envelope, a)
	}

	failed, err := p.AuditRecord("alice", Result{}, errTest, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev, _ = codecs.Decoder{}.Decode(failed.Value)
	if a := ev.Payload.(*codecs.Audit); a.Outcome != "error" || a.Details["error"] != errTest.Error() {
		t.Errorf("failed replay's audit event %+v", a)
	}

	// The id is the plan's: the same plan again, the same id; another
	// target or another starting point, another id.
	if testPlan().AuditEventID() != p.AuditEventID() {
		t.Error("the same plan has another audit event id")
	}
	other := testPlan()
	other.Target = Target{Kind: ByDuration, Ago: time.Hour}
	moved := testPlan()
	moved.Groups[0].Partitions[0].Committed = 121
	if other.AuditEventID() == p.AuditEventID() || moved.AuditEventID() == p.AuditEventID() {
		t.Error("different plans share an audit event id")
	}
}

var errTest = &LiveError{Groups: map[string][]Member{"g": {{ID: "m", ClientID: "c", Host: "h"}}}}

func TestReplayProgressRendering(t *testing.T) {
	p := Progress{Done: 110_000, Total: 244_000, Rate: 9_850.4, ETA: 13600 * time.Millisecond, Live: 2}
	if got, want := p.Bar(10), "[####......]  45% 110,000/244,000 records, 9,850 records/s, ETA 14s, 2 live member(s)"; got != want {
		t.Errorf("bar\n%q, want\n%q", got, want)
	}
	if got := (Progress{Done: 0, Total: 5}).Line(); !strings.Contains(got, "waiting for replicas to start") {
		t.Errorf("no replica yet: %q", got)
	}
	if got := (Progress{Done: 5, Total: 5, Live: 1}).Line(); !strings.Contains(got, "inputs done, finishing the loop") {
		t.Errorf("inputs done: %q", got)
	}
	if got := (Progress{Done: 5, Total: 5, Live: 1, Finished: true}).Bar(4); !strings.HasPrefix(got, "[####] 100% 5/5 records") || !strings.Contains(got, "done") {
		t.Errorf("finished: %q", got)
	}
	if got := (Summary{Records: 250_000, Measured: 200_000, Elapsed: 40 * time.Second}).String(); got != "250,000 records reprocessed, 200,000 of them in 40s (5,000 records/s)" {
		t.Errorf("summary %q", got)
	}
	if got := (Summary{Records: 30}).String(); got != "30 records reprocessed (too fast to measure a rate)" {
		t.Errorf("summary %q", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
