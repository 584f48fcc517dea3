package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
)

// crashProcessors are the groups whose outputs the crash test compares
// (the responses and insights groups only read those outputs back).
const crashProcessors = "context-graph,agent-quality-router,agent-quality,query-lineage"

// After a crash, outputs must be as if no crash happened: a replica
// SIGKILLed mid-stream and restarted on the same state directory may repeat
// outputs (same ids), but must not lose any, nor produce any a run without
// the crash does not. Run A is killed in the middle of three of the four
// input phases; run B, the reference, gets the same phases without a crash.
// Both must produce the same learning signals (signal_id → highest
// revision), insights and lineage records; superseded revisions A skipped
// are reported.
func TestIntegrationCrashLosesNoOutput(t *testing.T) {
	if !kafkatest.Real() {
		t.Skipf("needs SIGKILL-able processes on a real broker: set %s=127.0.0.1:19092", kafkatest.EnvVar)
	}
	bin := buildBinary(t)
	groups := kafkatest.ModuleTopics(modules()...)
	_, prefixA := kafkatest.Setup(t, groups)
	_, prefixB := kafkatest.Setup(t, groups)
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	in := newCrashInput(prefixA, day)
	events := 0
	for _, p := range in.phases {
		events += len(p)
	}
	seed := uint64(time.Now().UnixNano())
	// AISTREAM_CRASH_SEED replays a logged seed's kill times (the broker's
	// and the scheduler's timing still vary from run to run).
	if v := os.Getenv("AISTREAM_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("AISTREAM_CRASH_SEED=%q: want the unsigned integer a failed run logged as its kill seed", v)
		}
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("input: %d events in %d phases (making %d signals, %d insights, %d lineage records), tenants %s-*; kill seed %d",
		events, len(in.phases), len(in.revisions), in.insights, in.lineage, prefixA, seed)

	// Another deployment of the same processors under its own prefix runs
	// while run A produces phase 2, as a benchmark's replicas once did: it
	// reads that phase of the same input and writes outputs for the same
	// tenants with the same id formula, among them an insight run A never
	// produces (the failure category its windows 8-11 show first, which
	// run A reported in window 4). They must not count as run A's.
	_, prefixF := kafkatest.Setup(t, groups)
	other := newCrashRun(t, bin, prefixF, in.tenants)
	a := newCrashRun(t, bin, prefixA, in.tenants)
	a.during = map[int]*crashRun{2: other}
	outA := a.run("A (crashing)", in, func(phase int) time.Duration {
		if phase == 0 {
			return 0 // the first phase only builds context and state
		}
		// A phase takes the replica 4-6 s: the kill lands while it works.
		return time.Duration(300+rng.IntN(1500)) * time.Millisecond
	})
	b := newCrashRun(t, bin, prefixB, in.tenants)
	outB := b.run("B (reference)", in, func(int) time.Duration { return 0 })

	if len(outA.foreign) == 0 {
		t.Errorf("run A read no output of the other deployment (%s) that ran during its phase 2: the test does not show that another deployment's outputs are told apart", prefixF)
	}
	for _, o := range []*crashOutputs{outA, outB} {
		t.Logf("run %s: records of other groups, left out: %v", o.name, o.foreign)
		t.Logf("run %s: %d signal records (%d signals, %d revisions), %d insight records (%d ids), %d lineage records (%d ids); repeated: %d revisions, %d insights, %d lineage records",
			o.name, o.signalRecords, len(o.highest), len(o.revisions), o.insightRecords, len(o.insights), o.lineageRecords, len(o.lineage),
			repeated(o.revisions), repeated(o.insights), repeated(o.lineage))
	}

	// The reference must be what the input implies, or the comparison
	// proves nothing.
	if d := diffRevisions(in.revisions, outB.highest); d != "" {
		t.Errorf("run B (no crash) does not produce the highest revisions the input implies:\n%s", d)
	}
	if len(outB.lineage) != in.lineage || len(outB.insights) != in.insights {
		t.Errorf("run B (no crash): %d lineage records for %d lineage events, %d insights (want %d)", len(outB.lineage), in.lineage, len(outB.insights), in.insights)
	}

	lostHighest, extraHighest := compareHighest(outB.highest, outA.highest)
	lostRev, extraRev := missing(outB.revisions, outA.revisions), missing(outA.revisions, outB.revisions)
	lostIns, extraIns := missing(outB.insights, outA.insights), missing(outA.insights, outB.insights)
	lostLin, extraLin := missing(outB.lineage, outA.lineage), missing(outA.lineage, outB.lineage)
	// A revision superseded before the crash point may be skipped: the
	// redelivered event meets a state that already holds the later one and
	// re-emits that (consumers keep the highest revision per signal_id, and
	// that one is never lost). Counted, not failed.
	t.Logf("A vs B: lost %d highest revisions, %d revisions, %d insights, %d lineage records; extra %d highest revisions, %d revisions, %d insights, %d lineage records",
		len(lostHighest), len(lostRev), len(lostIns), len(lostLin), len(extraHighest), len(extraRev), len(extraIns), len(extraLin))
	// Every insight of a tenant×agent whose insights differ, in both runs.
	differ := map[string]bool{}
	for _, id := range lostIns {
		differ[outB.agent[id]] = true
	}
	for _, id := range extraIns {
		differ[outA.agent[id]] = true
	}
	for _, o := range []*crashOutputs{outA, outB} {
		var lines []string
		for id, a := range o.agent {
			if differ[a] {
				lines = append(lines, a+" "+o.about[id])
			}
		}
		sort.Strings(lines)
		for _, l := range lines {
			t.Logf("run %s insight: %s", o.name, l)
		}
	}
	// The state history of one of them (the others' are alike).
	for _, k := range slices.Sorted(maps.Keys(differ))[:min(len(differ), 1)] {
		tenant, agent, _ := strings.Cut(k, "/")
		a.stateHistory(codecs.TenantKey(tenant, agent))
	}
	for _, c := range []struct {
		what string
		ids  []string
	}{
		{"signals whose highest revision run A lost (id: A's, B's)", lostHighest},
		{"insights run A lost", lostIns},
		{"lineage records run A lost", lostLin},
		{"signals with a higher revision in run A than without a crash (id: A's, B's)", extraHighest},
		{"signal revisions only run A produced", extraRev},
		{"insights only run A produced", extraIns},
		{"lineage records only run A produced", extraLin},
	} {
		if len(c.ids) > 0 {
			t.Errorf("%d %s, e.g. %s", len(c.ids), c.what, strings.Join(c.ids[:min(len(c.ids), 5)], "; "))
		}
	}
}

// crashRun is one run of the processors under its own group prefix and
// state directory.
type crashRun struct {
	t       *testing.T
	bin     string
	prefix  string
	state   string
	tenants []string
	adm     *kadm.Client
	proc    *devProcess
	// during runs another deployment while the given phase is produced
	// and committed by this run.
	during map[int]*crashRun
	// inputs are each group's input topics (loop included).
	inputs map[string][]string
}

func newCrashRun(t *testing.T, bin, prefix string, tenants []string) *crashRun {
	groups, err := selectGroups(modules(), crashProcessors)
	if err != nil {
		t.Fatal(err)
	}
	r := &crashRun{t: t, bin: bin, prefix: prefix, state: t.TempDir(), tenants: tenants,
		adm: kadm.NewClient(kafkatest.Client(t)), inputs: map[string][]string{}}
	for _, grp := range groups {
		gg := grp.Graph(stream.Options{Prefix: stream.Prefix(prefix)})
		r.inputs[string(gg.Group())] = stream.Inputs(gg)
	}
	return r
}

// internal reports whether topic belongs to this run (a loop or the
// feedback repartition topic), as opposed to the shared input topics.
func (r *crashRun) internal(topic string) bool { return strings.HasPrefix(topic, r.prefix+"-") }

// run produces the phases one by one; killAfter(phase) > 0 SIGKILLs the
// replica that long after the phase starts to be produced and restarts it
// on the same state directory. Each phase is committed by every group
// before the next is produced. It returns the run's outputs.
func (r *crashRun) run(name string, in *crashInput, killAfter func(phase int) time.Duration) *crashOutputs {
	t := r.t
	t.Helper()
	r.startAtEnd()
	from := r.ends(topology.LearningSignals, topology.Insights, topology.LineageRecords)
	r.start()
	cl := kafkatest.Client(t, kgo.ProducerLinger(5*time.Millisecond))
	began := time.Now()
	kills := 0
	for i, phase := range in.phases {
		if o := r.during[i]; o != nil {
			o.startAtEnd()
			o.start()
		}
		start := time.Now()
		before := r.ends(r.external()...)
		// A produced kgo.Record keeps its context: each run sends copies.
		recs := make([]*kgo.Record, len(phase))
		for j, rec := range phase {
			recs[j] = &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}
		}
		produced := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			produced <- cl.ProduceSync(ctx, recs...).FirstErr()
		}()
		var killedAt time.Duration
		if d := killAfter(i); d > 0 {
			time.Sleep(d)
			r.kill()
			kills++
			killedAt = time.Since(start)
		}
		if err := <-produced; err != nil {
			t.Fatalf("run %s phase %d: produce: %v", name, i, err)
		}
		after := r.ends(r.external()...)
		if killedAt > 0 {
			t.Logf("run %s phase %d: SIGKILL %s after the phase began, %.0f%% of its input committed; restarting on the same state dir",
				name, i, killedAt.Round(time.Millisecond), 100*r.committedShare(before, after))
			r.start()
		}
		r.waitCommitted(after, 120*time.Second)
		if o := r.during[i]; o != nil {
			o.proc.stop(t)
		}
		t.Logf("run %s phase %d: %d events committed by every group in %s", name, i, len(phase), time.Since(start).Round(time.Millisecond))
	}
	r.proc.stop(t)
	out := r.read(name, from, r.ends(topology.LearningSignals, topology.Insights, topology.LineageRecords))
	t.Logf("run %s: %d kills, %s", name, kills, time.Since(began).Round(time.Millisecond))
	return out
}

func (r *crashRun) start() {
	r.proc = startAistream(r.t, r.bin, freePort(r.t),
		[]string{"KAFKA_BOOTSTRAP_SERVERS=" + strings.Join(kafkatest.Brokers(r.t), ","), "KAFKA_CONSUMER_GROUP=" + r.prefix, "AISTREAM_LOG_LEVEL=warn"},
		"run", "--views=false", "--processors="+crashProcessors, "--state-dir", r.state,
		// No wall-clock window closes: insights come from watermarks only.
		"--quality-idle-timeout", "24h")
	r.proc.waitReady(r.t, 120*time.Second)
}

func (r *crashRun) kill() {
	_ = r.proc.cmd.Process.Kill()
	_ = r.proc.cmd.Wait()
}

// external lists the shared input topics of the run's groups.
func (r *crashRun) external() []string {
	seen := map[string]bool{}
	var out []string
	for _, ts := range r.inputs {
		for _, tp := range ts {
			if !r.internal(tp) && !seen[tp] {
				seen[tp] = true
				out = append(out, tp)
			}
		}
	}
	sort.Strings(out)
	return out
}

// startAtEnd commits every group's offsets on the shared input topics at
// their ends: the groups read only what this run produces, not the
// history other tests left on the broker, and a replica killed before its
// first commit resumes where the run began.
func (r *crashRun) startAtEnd() {
	ends := r.ends(r.external()...)
	for g, ts := range r.inputs {
		start := kadm.Offsets{}
		for _, tp := range ts {
			for p, at := range ends[tp] {
				start.Add(kadm.Offset{Topic: tp, Partition: p, At: at, LeaderEpoch: -1})
			}
		}
		if err := r.adm.CommitAllOffsets(context.Background(), g, start); err != nil {
			r.t.Fatalf("commit start offsets of %s: %v", g, err)
		}
	}
}

type offsets map[string]map[int32]int64

func (r *crashRun) ends(topics ...string) offsets {
	r.t.Helper()
	l, err := r.adm.ListEndOffsets(context.Background(), topics...)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		r.t.Fatalf("end offsets of %v: %v", topics, err)
	}
	out := offsets{}
	l.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out
}

func (r *crashRun) committed() map[string]kadm.OffsetResponses {
	out := map[string]kadm.OffsetResponses{}
	for g := range r.inputs {
		c, err := r.adm.FetchOffsets(context.Background(), g)
		if err != nil {
			r.t.Fatalf("committed offsets of %s: %v", g, err)
		}
		out[g] = c
	}
	return out
}

// committedShare is the share of the shared input between before and after
// that every group had committed.
func (r *crashRun) committedShare(before, after offsets) float64 {
	var done, all int64
	for g, c := range r.committed() {
		for _, tp := range r.inputs[g] {
			for p, end := range after[tp] {
				o, _ := c.Lookup(tp, p)
				all += end - before[tp][p]
				done += max(min(o.At, end)-before[tp][p], 0)
			}
		}
	}
	if all == 0 {
		return 1
	}
	return float64(done) / float64(all)
}

// waitCommitted waits until every group has committed the shared input up
// to ends and then all of its loop and repartition topics. The internal
// topics are written only while the shared input is processed, so once
// that is committed their ends are final.
func (r *crashRun) waitCommitted(ends offsets, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		behind := r.behind(ends)
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("groups of %s not caught up within %s: %s", r.prefix, timeout, behind)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *crashRun) behind(ends offsets) string {
	check := func(committed map[string]kadm.OffsetResponses, topics func(string) bool, ends offsets) string {
		for g, c := range committed {
			for _, tp := range r.inputs[g] {
				if !topics(tp) {
					continue
				}
				for p, end := range ends[tp] {
					if o, ok := c.Lookup(tp, p); (!ok && end > 0) || (ok && o.At < end) {
						return fmt.Sprintf("%s at %d of %s[%d]'s %d", g, o.At, tp, p, end)
					}
				}
			}
		}
		return ""
	}
	if b := check(r.committed(), func(tp string) bool { return !r.internal(tp) }, ends); b != "" {
		return b
	}
	var internal []string
	for _, ts := range r.inputs {
		for _, tp := range ts {
			if r.internal(tp) {
				internal = append(internal, tp)
			}
		}
	}
	return check(r.committed(), r.internal, r.ends(internal...))
}

// stateHistory logs key's agent-quality state from the run's table topic
// (not yet compacted) at every change of its open windows or seen failure
// categories, and wherever its input offset went back: the offsets it had
// applied, its watermark, open windows and the categories it had seen.
func (r *crashRun) stateHistory(key string) {
	t := r.t
	table := string(stream.Prefix(r.prefix).Table(quality.Name))
	to := r.ends(table)
	parts := map[string]map[int32]kgo.Offset{table: {}}
	left := 0
	for p, end := range to[table] {
		if end > 0 {
			parts[table][p] = kgo.NewOffset().AtStart()
			left++
		}
	}
	cl := kafkatest.Client(t, kgo.ConsumePartitions(parts))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var lastShape string
	var lastAt int64
	for left > 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			if rec.Offset == to[table][rec.Partition]-1 {
				left--
			}
			if string(rec.Key) != key {
				return
			}
			v, err := quality.StateCodec{}.Decode(rec.Value)
			if err != nil {
				t.Logf("state %s @%d: %v", key, rec.Offset, err)
				return
			}
			s := v.(*quality.State)
			var open []string
			for _, p := range s.Windows.Open {
				open = append(open, p.Start.Format("15:04"))
			}
			// One line per change of the open windows or the seen
			// categories, or an input offset that went back.
			var at int64
			for _, o := range s.Offsets {
				at = max(at, o.Offset)
			}
			shape := fmt.Sprint(open, s.Seen)
			if shape == lastShape && at >= lastAt {
				lastAt = at
				return
			}
			lastShape, lastAt = shape, at
			t.Logf("state %s @%d (%s): offsets %v watermark %s open %v seen %v applied %d outbox %d",
				key, rec.Offset, rec.Timestamp.Format("15:04:05.000"), s.Offsets, s.Windows.Watermark.Format("15:04:05"), open, s.Seen, len(s.Applied.IDs), len(s.Outbox))
		})
	}
}

// crashOutputs are one run's outputs for the test's tenants: every id with
// the number of records that carried it.
type crashOutputs struct {
	name                                          string
	signalRecords, insightRecords, lineageRecords int
	highest                                       map[string]int // signal_id → highest revision
	revisions                                     map[string]int // "signal_id r<revision>"
	insights                                      map[string]int // insight_id
	// about describes each insight (rule, state, severity, agent, window,
	// observed), so that a failure says which windows differ.
	about map[string]string
	agent map[string]string // insight_id → tenant/agent
	// foreign counts the records for the run's tenants that other groups
	// wrote ("group topic"): other deployments on the broker, left out.
	foreign map[string]int
	lineage map[string]int // lineage record event_id
}

// read consumes the output topics from from to to.
func (r *crashRun) read(name string, from, to offsets) *crashOutputs {
	t := r.t
	parts := map[string]map[int32]kgo.Offset{}
	left := 0
	for tp, ps := range to {
		for p, end := range ps {
			if end > from[tp][p] {
				if parts[tp] == nil {
					parts[tp] = map[int32]kgo.Offset{}
				}
				parts[tp][p] = kgo.NewOffset().At(from[tp][p])
				left++
			}
		}
	}
	out := &crashOutputs{name: name, highest: map[string]int{}, revisions: map[string]int{}, insights: map[string]int{}, lineage: map[string]int{}, about: map[string]string{}, agent: map[string]string{}, foreign: map[string]int{}}
	if left == 0 {
		return out
	}
	cl := kafkatest.Client(t, kgo.ConsumePartitions(parts))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tenants := map[string]bool{}
	for _, tn := range r.tenants {
		tenants[tn] = true
	}
	// The output topics hold every test's records: decode only those that
	// mention the run's tenants (which share a prefix), or reading them
	// takes minutes on a busy machine.
	mention := []byte(r.tenants[0][:strings.LastIndex(r.tenants[0], "-")+1])
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("run %s: reading outputs: %d partitions not read to their end within 3m (a busy broker)", name, left)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Offset == to[rec.Topic][rec.Partition]-1 {
				left--
			}
			if rec.Offset >= to[rec.Topic][rec.Partition] || !bytes.Contains(rec.Value, mention) {
				return
			}
			var ev struct {
				EventID  string `json:"event_id"`
				TenantID string `json:"tenant_id"`
				Data     struct {
					SignalID  string  `json:"signal_id"`
					Revision  int     `json:"revision"`
					InsightID string  `json:"insight_id"`
					Rule      string  `json:"rule"`
					State     string  `json:"state"`
					Severity  string  `json:"severity"`
					Agent     string  `json:"agent"`
					Subject   string  `json:"subject"`
					Observed  float64 `json:"observed"`
					Baseline  float64 `json:"baseline"`
					Window    struct {
						Start time.Time `json:"start"`
					} `json:"window"`
				} `json:"data"`
			}
			if json.Unmarshal(rec.Value, &ev) != nil || !tenants[ev.TenantID] {
				return
			}
			// Every deployment on the broker reads the input topics and
			// writes the same ids to the same output topics: only the
			// run's own groups' records are its outputs.
			if g := kafkatest.Header(rec, stream.HeaderGroup); r.inputs[g] == nil {
				out.foreign[g+" "+rec.Topic]++
				return
			}
			switch rec.Topic {
			case topology.LearningSignals:
				out.signalRecords++
				out.revisions[fmt.Sprintf("%s r%d", ev.Data.SignalID, ev.Data.Revision)]++
				out.highest[ev.Data.SignalID] = max(out.highest[ev.Data.SignalID], ev.Data.Revision)
			case topology.Insights:
				out.insightRecords++
				out.insights[ev.Data.InsightID]++
				d := ev.Data
				out.agent[d.InsightID] = ev.TenantID + "/" + d.Agent
				out.about[d.InsightID] = fmt.Sprintf("window %s %s %s %s %s observed %v baseline %v (%s)", d.Window.Start.Format("15:04"), d.Rule, d.Subject, d.State, d.Severity,
					d.Observed, d.Baseline, d.InsightID)
			case topology.LineageRecords:
				out.lineageRecords++
				out.lineage[ev.EventID]++
			}
		})
	}
	return out
}

// missing lists the ids of want that got lacks, sorted.
func missing(want, got map[string]int) []string {
	var out []string
	for id := range want {
		if got[id] == 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// compareHighest lists the signals whose highest revision in got is below
// want's (lost), and those above it or unknown to want (extra).
func compareHighest(want, got map[string]int) (lost, extra []string) {
	for id, w := range want {
		if got[id] < w {
			lost = append(lost, fmt.Sprintf("%s: %d, %d", id, got[id], w))
		}
	}
	for id, g := range got {
		if g > want[id] {
			extra = append(extra, fmt.Sprintf("%s: %d, %d", id, g, want[id]))
		}
	}
	sort.Strings(lost)
	sort.Strings(extra)
	return lost, extra
}

// diffRevisions describes where got's highest revisions differ from want's.
func diffRevisions(want, got map[string]int) string {
	lost, extra := compareHighest(want, got)
	if len(lost)+len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("%d below (id: got, want), e.g. %v\n%d above, e.g. %v", len(lost), lost[:min(len(lost), 5)], len(extra), extra[:min(len(extra), 5)])
}

// repeated counts the ids carried by more than one record.
func repeated(ids map[string]int) int {
	n := 0
	for _, c := range ids {
		if c > 1 {
			n++
		}
	}
	return n
}
