package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// Failover targets (README "Failover").
const (
	killTarget = 10 * time.Second // a SIGKILLed replica's partitions processed again
	termTarget = 3 * time.Second  // a planned restart (SIGTERM, start again)
)

// Two replicas of the context-graph group share a steady stream (200
// events/s, every partition fed every 120 ms); one is SIGKILLed and
// restarted, then the other is SIGTERMed and restarted. Processing is
// observed on the group's table topic, which gets one record per processed
// event: per partition, the largest gap between two consecutive records is
// how long the partition stood still. Across both, every feedback's learning
// signal comes out, its last revision with the whole trace's context, and a
// repeated signal carries the same ids and bytes.
//
// The events go to the group's own loop topic, which it consumes like its
// inputs: the AI Service's topics are shared by every test on the broker,
// and another test's context-graph group reading them would emit signals
// with the same ids from a state that missed part of this stream.
func TestIntegrationFailover(t *testing.T) {
	if !kafkatest.Real() {
		t.Skipf("needs SIGKILL-able processes on a real broker: set %s=127.0.0.1:19092", kafkatest.EnvVar)
	}
	bin := buildBinary(t)
	cg := contextgraph.Module()
	_, prefix := kafkatest.Setup(t, kafkatest.ModuleTopics(cg))
	p := stream.Prefix(prefix)
	group := string(p.Group(contextgraph.Name))
	loop := string(p.Loop(contextgraph.Name))
	adm := kadm.NewClient(kafkatest.Client(t))
	// The group starts at the end of the shared topics: the history other
	// tests left there is not this test's to process.
	var shared []string
	for _, tp := range stream.Inputs(cg.Groups[0].Graph(stream.Options{Prefix: p})) {
		if tp != loop {
			shared = append(shared, tp)
		}
	}
	start := kadm.Offsets{}
	for _, o := range listEnds(t, adm, shared...) {
		start.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(context.Background(), group, start); err != nil {
		t.Fatalf("commit the start offsets of %s: %v", group, err)
	}
	signalsFrom := listEnds(t, adm, topology.LearningSignals)
	writes := watchWrites(t, string(p.Table(contextgraph.Name)))

	env := []string{"KAFKA_BOOTSTRAP_SERVERS=" + strings.Join(kafkatest.Brokers(t), ","), "KAFKA_CONSUMER_GROUP=" + prefix}
	a := &replica{t: t, bin: bin, env: env, group: group, state: t.TempDir(), addr: freePort(t)}
	b := &replica{t: t, bin: bin, env: env, group: group, state: t.TempDir(), addr: freePort(t)}
	a.start()
	b.start()
	waitShared(t, 120*time.Second, a, b)

	tenant := prefix + "-acme"
	in := startStream(t, loop, tenant, prefix)
	time.Sleep(4 * time.Second)

	// (i) SIGKILL B, restart it on the same state directory.
	killAt := time.Now()
	steady := window{"steady", in.began.Add(time.Second), killAt}
	victim := b.running()
	b.kill()
	kafkatest.Eventually(t, 30*time.Second, "replica A runs every partition after B's SIGKILL", func() bool { return len(a.running()) == 6 })
	tookOver := time.Since(killAt)
	time.Sleep(time.Second)
	restartAt := time.Now()
	b.start()
	waitShared(t, 60*time.Second, a, b)
	time.Sleep(2 * time.Second)
	termAt := time.Now()
	takeover := window{"SIGKILL: takeover", killAt, restartAt}
	rejoin := window{"SIGKILL: restarted replica rejoins", restartAt, termAt}

	// (ii) SIGTERM A and start it again: a planned restart.
	a.proc.stop(t)
	a.start()
	waitShared(t, 60*time.Second, a, b)
	time.Sleep(2 * time.Second)
	planned := window{"SIGTERM and restart", termAt, time.Now().Add(time.Hour)} // and the drain

	if n := b.rebalances(); n < 2 {
		t.Errorf("replica B's aistream_rebalances_total is %v after its start and A's restart, want at least 2", n)
	}
	ends := in.stop()
	t.Logf("stream: %d events (%d traces) at %.0f events/s; replica B held partitions %v when killed; replica A ran all 6 %.1fs after the kill (/readyz)",
		in.events, len(in.signals), float64(in.events)/time.Since(in.began).Seconds(), victim, tookOver.Seconds())
	waitCommittedTo(t, adm, group, ends)
	a.proc.stop(t)
	b.proc.stop(t)
	writes.catchUp(t, adm)

	for _, w := range []window{steady, takeover, rejoin, planned} {
		gaps := writes.gaps(w)
		t.Logf("%-36s largest gap per partition: %s; max %.2fs", w.name, formatGaps(gaps), maxGap(gaps).Seconds())
	}
	if g := maxGap(writes.gaps(window{"", killAt, termAt})); g >= killTarget {
		t.Errorf("after SIGKILL a partition stood still for %.1fs, want under %s: the survivor took over too late (session timeout, heartbeat, rebalance wait or restore)", g.Seconds(), killTarget)
	}
	if g := maxGap(writes.gaps(planned)); g >= termTarget {
		t.Errorf("a planned restart (SIGTERM, start) stopped a partition for %.1fs, want under %s", g.Seconds(), termTarget)
	}

	checkSignals(t, readSignals(t, adm, tenant, signalsFrom), in.signals)
}

// replica is one "aistream run --processors=context-graph" process,
// restartable on its state directory and HTTP address.
type replica struct {
	t           *testing.T
	bin, group  string
	env         []string
	state, addr string
	proc        *devProcess
}

func (r *replica) start() {
	r.proc = startAistream(r.t, r.bin, r.addr, r.env, "run", "--views=false", "--processors=context-graph", "--state-dir", r.state)
}

func (r *replica) kill() {
	_ = r.proc.cmd.Process.Kill()
	_ = r.proc.cmd.Wait()
}

// running lists the partitions /readyz says the replica processes.
func (r *replica) running() []int32 {
	if r.proc.cmd.ProcessState != nil {
		return nil
	}
	_, body := r.proc.get(r.t, "/readyz", "")
	var rb views.ReadyBody
	if json.Unmarshal(body, &rb) != nil {
		return nil
	}
	var out []int32
	for _, s := range rb.Groups[r.group] {
		if s.State == stream.PartitionRunning {
			out = append(out, s.Partition)
		}
	}
	return out
}

func (r *replica) rebalances() float64 {
	_, body := r.proc.get(r.t, "/metrics", "")
	var n float64
	_, _ = fmt.Sscanf(metricLine(string(body), `aistream_rebalances_total{group="`+r.group+`"}`), "%g", &n)
	return n
}

func metricLine(body, series string) string {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// waitShared waits until the replicas together run all 6 partitions, each
// some and none twice.
func waitShared(t *testing.T, timeout time.Duration, rs ...*replica) {
	t.Helper()
	kafkatest.Eventually(t, timeout, "both replicas share the 6 partitions", func() bool {
		seen := map[int32]bool{}
		for _, r := range rs {
			parts := r.running()
			if len(parts) == 0 {
				return false
			}
			for _, n := range parts {
				if seen[n] {
					return false
				}
				seen[n] = true
			}
		}
		return len(seen) == 6
	})
}

// spanStream produces the test's events: every 20 ms the three spans of a
// new trace, and the feedback on the trace of half a second before. Trace i
// sits on partition i mod 6, so every partition gets a trace every 120 ms.
type spanStream struct {
	began   time.Time
	events  int
	signals map[string]bool // the signal_id every feedback must yield
	stop    func() []kadm.ListedOffset
}

const (
	streamTick     = 20 * time.Millisecond
	feedbackBehind = 25 // ticks between a trace's spans and its feedback
	spansPerTrace  = 3
)

func startStream(t *testing.T, topic, tenant, prefix string) *spanStream {
	cl := kafkatest.Client(t, kgo.ProducerLinger(0))
	s := &spanStream{began: time.Now(), signals: map[string]bool{}}
	base := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	var (
		mu     sync.Mutex
		errs   []error
		traces []string
	)
	produce := func(r *kgo.Record) {
		s.events++
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	feedback := func(i int) {
		trace := traces[i]
		id := trace + "-fb"
		s.signals[contextgraph.SignalID(tenant, id)] = true
		produce(traceRecord(topic, trace, envelope(id, codecs.TypeFeedback, tenant, base.Add(time.Duration(i)*streamTick+time.Second), map[string]any{
			"response_id": trace + "-resp", "trace_id": trace, "session_id": trace + "-sess", "user_id": "u1", "agent": "fb-agent", "model": "gpt-4o",
			"thumbs": "down", "comment": "the total ignores refunds"})))
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(streamTick)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-quit:
				for j := max(0, i-feedbackBehind); j < i; j++ {
					feedback(j)
				}
				return
			case <-tick.C:
			}
			trace := traceOn(prefix, i, int32(i%6))
			traces = append(traces, trace)
			for k := range spansPerTrace {
				at := base.Add(time.Duration(i)*streamTick + time.Duration(k)*time.Millisecond)
				produce(traceRecord(topic, trace, envelope(fmt.Sprintf("%s-s%d", trace, k), codecs.TypeSpan, tenant, at, map[string]any{
					"trace_id": trace, "span_id": fmt.Sprintf("s%d", k), "agent": "sql-agent", "name": "run_sql", "status": "ok",
					"start_time": at.Format(time.RFC3339Nano), "end_time": at.Add(200 * time.Millisecond).Format(time.RFC3339Nano),
					"model": "gpt-4o", "tokens_in": 100, "tokens_out": 20})))
			}
			if i >= feedbackBehind {
				feedback(i - feedbackBehind)
			}
		}
	}()
	s.stop = func() []kadm.ListedOffset {
		close(quit)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.Flush(ctx); err != nil {
			t.Fatalf("flush the stream: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("%d events not produced, e.g. %v", len(errs), errs[0])
		}
		return listEnds(t, kadm.NewClient(cl), topic)
	}
	return s
}

// traceOn is a trace id of the test that murmur2 puts on partition part.
func traceOn(prefix string, i int, part int32) string {
	for k := 0; ; k++ {
		id := fmt.Sprintf("%s-tr-%d-%d", prefix, i, k)
		if topology.PartitionFor([]byte(id), 6) == part {
			return id
		}
	}
}

// writes records when each table partition was written (the producer's
// record timestamps).
type writes struct {
	table string
	mu    sync.Mutex
	at    map[int32][]time.Time
	next  map[int32]int64 // offset after the last record seen
}

func watchWrites(t *testing.T, table string) *writes {
	w := &writes{table: table, at: map[int32][]time.Time{}, next: map[int32]int64{}}
	cl := kafkatest.Client(t, kgo.ConsumeTopics(table), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				w.mu.Lock()
				w.at[r.Partition] = append(w.at[r.Partition], r.Timestamp)
				w.next[r.Partition] = r.Offset + 1
				w.mu.Unlock()
			})
		}
	}()
	return w
}

// catchUp waits until every write so far has been seen.
func (w *writes) catchUp(t *testing.T, adm *kadm.Client) {
	t.Helper()
	ends := listEnds(t, adm, w.table)
	kafkatest.Eventually(t, 30*time.Second, "the table topic read to its end", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range ends {
			if w.next[e.Partition] < e.Offset {
				return false
			}
		}
		return true
	})
}

type window struct {
	name     string
	from, to time.Time
}

// gaps returns, per partition, the largest time between two consecutive
// writes of which the later one falls in win: a pause counts in the window
// where processing resumes.
func (w *writes) gaps(win window) map[int32]time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int32]time.Duration{}
	for n := range int32(6) {
		ts := slices.Clone(w.at[n])
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ts); i++ {
			if ts[i].After(win.from) && !ts[i].After(win.to) {
				out[n] = max(out[n], ts[i].Sub(ts[i-1]))
			}
		}
	}
	return out
}

func maxGap(g map[int32]time.Duration) time.Duration {
	var m time.Duration
	for _, d := range g {
		m = max(m, d)
	}
	return m
}

func formatGaps(g map[int32]time.Duration) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(g)) {
		parts = append(parts, fmt.Sprintf("%d:%.2fs", n, g[n].Seconds()))
	}
	return strings.Join(parts, " ")
}

func listEnds(t *testing.T, adm *kadm.Client, topics ...string) []kadm.ListedOffset {
	t.Helper()
	l, err := adm.ListEndOffsets(context.Background(), topics...)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %v: %v", topics, err)
	}
	var out []kadm.ListedOffset
	l.Each(func(o kadm.ListedOffset) { out = append(out, o) })
	return out
}

// waitCommittedTo waits until group has committed every partition up to
// its end in ends.
func waitCommittedTo(t *testing.T, adm *kadm.Client, group string, ends []kadm.ListedOffset) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		behind := ""
		c, err := adm.FetchOffsets(context.Background(), group)
		if err != nil {
			behind = err.Error()
		}
		for _, e := range ends {
			if o, ok := c.Lookup(e.Topic, e.Partition); behind == "" && (!ok || o.At < e.Offset) {
				behind = fmt.Sprintf("%s[%d] committed at %d of %d", e.Topic, e.Partition, o.At, e.Offset)
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group did not commit the whole stream within 60s: %s", behind)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// signalRecord is what the check needs of one learning signal.
type signalRecord struct {
	raw     string
	EventID string `json:"event_id"`
	Tenant  string `json:"tenant_id"`
	Data    struct {
		SignalID string `json:"signal_id"`
		Revision int    `json:"revision"`
		Context  struct {
			Spans int `json:"spans"`
		} `json:"context"`
	} `json:"data"`
}

// readSignals reads the tenant's learning signals written since from.
func readSignals(t *testing.T, adm *kadm.Client, tenant string, from []kadm.ListedOffset) []signalRecord {
	t.Helper()
	to := map[int32]int64{}
	for _, o := range listEnds(t, adm, topology.LearningSignals) {
		to[o.Partition] = o.Offset
	}
	parts := map[int32]kgo.Offset{}
	left := 0
	for _, o := range from {
		if to[o.Partition] > o.Offset {
			parts[o.Partition] = kgo.NewOffset().At(o.Offset)
			left++
		}
	}
	var out []signalRecord
	if left == 0 {
		return out
	}
	cl := kafkatest.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topology.LearningSignals: parts}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading learning signals: %d partitions not read to their end within 60s", left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= to[r.Partition] {
				return
			}
			if r.Offset == to[r.Partition]-1 {
				left--
			}
			s := signalRecord{raw: string(r.Value)}
			if json.Unmarshal(r.Value, &s) == nil && s.Tenant == tenant {
				out = append(out, s)
			}
		})
	}
	return out
}

// checkSignals: no loss (every feedback's signal, its highest revision
// with all the trace's spans), no stray signal, and every repeat with the
// ids of the original (one envelope event_id per signal revision).
func checkSignals(t *testing.T, got []signalRecord, want map[string]bool) {
	t.Helper()
	highest := map[string]signalRecord{}
	first := map[string]signalRecord{} // by event_id
	revisions := map[string]string{}   // "signal_id r<revision>" → event_id
	repeats := 0
	for _, s := range got {
		rev := fmt.Sprintf("%s r%d", s.Data.SignalID, s.Data.Revision)
		if id, ok := revisions[rev]; ok && id != s.EventID {
			t.Errorf("signal %s repeated with event_id %s, first %s: a repeat must carry the same ids", rev, s.EventID, id)
		}
		revisions[rev] = s.EventID
		if f, ok := first[s.EventID]; ok {
			repeats++
			if f.raw != s.raw {
				t.Errorf("event_id %s repeated with other content:\n%s\n%s", s.EventID, f.raw, s.raw)
			}
		} else {
			first[s.EventID] = s
		}
		if h, ok := highest[s.Data.SignalID]; !ok || s.Data.Revision > h.Data.Revision {
			highest[s.Data.SignalID] = s
		}
	}
	var lost, stray, partial []string
	for id := range want {
		h, ok := highest[id]
		switch {
		case !ok:
			lost = append(lost, id)
		case h.Data.Context.Spans != spansPerTrace:
			partial = append(partial, fmt.Sprintf("%s r%d: %d spans", id, h.Data.Revision, h.Data.Context.Spans))
		}
	}
	for id := range highest {
		if !want[id] {
			stray = append(stray, id)
		}
	}
	sort.Strings(lost)
	sort.Strings(partial)
	t.Logf("learning signals: %d records, %d signals of %d feedback events, %d revisions, %d repeated records", len(got), len(highest), len(want), len(revisions), repeats)
	if len(lost) > 0 {
		t.Errorf("%d of %d signals lost across the kill and restarts, e.g. %v", len(lost), len(want), lost[:min(5, len(lost))])
	}
	if len(partial) > 0 {
		t.Errorf("%d signals' highest revision lacks trace context (want %d spans), e.g. %v", len(partial), spansPerTrace, partial[:min(5, len(partial))])
	}
	if len(stray) > 0 {
		t.Errorf("%d signals no feedback of the stream made, e.g. %v", len(stray), stray[:min(5, len(stray))])
	}
}
