// Package bench is "aistream bench": the pipeline's throughput, CPU and
// latency against a real broker, each processor group beside a plain
// franz-go client doing the same I/O on the same records in the same run.
//
// Phases, in one process against one broker:
//
//  1. Throughput. A realistic mix of every input topic (internal/demo's
//     traffic: thinking, decisions, spans, metrics, feedback, lineage,
//     audit, a share of malformed events) is produced first. Then each
//     processor group runs alone, in pipeline order (a group reading
//     another's output runs after it), from offsets committed at where the
//     mix starts, until it has processed every record of its inputs and
//     loop up to their end: no "newest" to resolve, no record skipped, and
//     nothing else of the pipeline competing for the CPU. The span measured
//     starts once the group is ready (partitions assigned, state
//     recovered). Right after each group, the baseline (a consumer group of
//     its own) reads exactly the same records and produces each once.
//  2. Hot keys (Config.Hot): the same for one trace, one tenant × agent or
//     one dataset receiving every event, beside the spread figure.
//  3. Latency. Every group runs together while the mix is produced at
//     Config.Rate events/s; produce-to-output latency is measured for the
//     outputs that answer one input (learning signal per feedback, routed
//     feedback, lineage record per lineage event).
//  4. Scale (Config.Replicas): for each replica count N, N "aistream run"
//     processes (of Config.Binary) run every group under one fresh
//     consumer group prefix; once every group is Stable with N members
//     owning partitions, the mix is produced and the span lasts until every
//     group's committed offsets reach the end of its inputs (replicas.go).
//  5. Restore (Config.Restore): each table of the first scale run restored
//     from its changelog into an empty state directory.
//
// Every wait ends with an error naming what was missing when the time
// limit passes.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
)

// Config is what to run.
type Config struct {
	// Franz are the franz-go options of the cluster (brokers, TLS, SASL).
	Franz []kgo.Opt
	// Brokers and Sarama configure the processors.
	Brokers []string
	Sarama  *sarama.Config
	// Events is how many events the throughput mix has (at least).
	Events int
	// Hot lists the hot-key phases to run: "trace", "agent", "dataset".
	Hot []string
	// HotEvents is how many events each hot phase's mix has (only the hot
	// kind's events are kept); 0 is Events, so that each group's hot phase
	// has as many events as its spread phase: a measured span carries a
	// fixed cost (the first fetch, noticing the end), which a shorter phase
	// would share out over fewer events and so look slower per event.
	HotEvents int
	// Rate and LatencyEvents shape the latency phase (LatencyEvents 0: none).
	Rate          int
	LatencyEvents int
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Replicas lists the replica counts of the scale phase (none: no
	// phase). Binary is the aistream binary it runs ("topics apply", then
	// "run" per replica) with ClusterFlags (the cluster's settings given to
	// the bench; the environment is inherited): the phase adds the group
	// prefix, processors, state directory, HTTP address and log level.
	// Restore adds the table restore rate after it.
	Replicas     []int
	Binary       string
	ClusterFlags []string
	Restore      bool
	// CPUProfile, if set, is written with a CPU profile of the measured
	// spans of the throughput phase.
	CPUProfile string
	// LatencyCPUProfile, if set, is written with a CPU profile of the
	// latency phase's measured span (every group together at Rate).
	LatencyCPUProfile string
	// Floor runs the floor phase after the throughput phase (floor.go):
	// goka's own per-message cost beside the plain client.
	// FloorCPUProfile and FloorTableCPUProfile, if set, are written with a
	// CPU profile of the measured span of its goka emit floor and of its
	// emit+table floor.
	Floor                                 bool
	FloorCPUProfile, FloorTableCPUProfile string
	// Decoder is the processors' event decoder.
	Decoder codecs.Decoder
	Log     zerolog.Logger
	Out     io.Writer

	// TopicModules are the modules whose topics the bench creates (all of
	// the binary's, when only some of their groups are benchmarked); nil:
	// the benchmarked ones.
	TopicModules []*stream.Module
	// ChangelogFlush is the processors' changelog merge interval
	// (stream.Env.ChangelogFlush; 0: off).
	ChangelogFlush time.Duration
}

// HotKinds are the hot-key phases there are.
var HotKinds = []string{"trace", "agent", "dataset"}

// Result is one measured span of one group.
type Result struct {
	Group   string
	Phase   string // "spread", "hot-trace", ...
	Events  int64  // messages processed: inputs and loop
	Loop    int64  // of which from the loop
	Elapsed time.Duration
	CPU     time.Duration
	Allocs  uint64
	PeakRSS int64
	// RunQueue is how long the process's threads waited for a CPU while
	// runnable during the span (0: not measurable here).
	RunQueue time.Duration
	Base     baselineResult // the plain client on the same input records
	to       positions      // where the inputs ended
}

// Rate is events per second.
func (r Result) Rate() float64 { return perSecond(r.Events, r.Elapsed) }

// CPUPerEvent is process CPU per event.
func (r Result) CPUPerEvent() time.Duration { return per(r.CPU, r.Events) }

// Ratio is the group's events/s over the baseline's records/s.
func (r Result) Ratio() float64 {
	b := perSecond(r.Base.records, r.Base.elapsed)
	if b == 0 {
		return 0
	}
	return r.Rate() / b
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func per(d time.Duration, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

// Report is what a run measured.
type Report struct {
	// Prefix starts the name of every topic and consumer group the run
	// created (removeOwn deletes them at its end).
	Prefix  string
	Results []Result
	Latency []Latency
	// Pipeline is the latency phase as a whole: every group together.
	Pipeline Result
	Scale    []ScaleResult
	Restore  []RestoreResult
	// Floor is the floor phase (nil: not run).
	Floor *Floor

	// Produce is how long the latency phase's producer took to hand over
	// its records (asked: len/Config.Rate), and RunQueue how long the
	// process's threads waited for a CPU while runnable during the phase
	// (0: not measurable here).
	Produce, RunQueue time.Duration
}

// Latency is the produce-to-output latency of one group's outputs.
type Latency struct {
	Group    string
	Output   string
	N        int
	P50, P99 time.Duration
}

// bench is one run.
type bench struct {
	cfg    Config
	mods   []*stream.Module
	prefix stream.Prefix
	env    *stream.Env
	adm    *kadm.Client
	cl     *kgo.Client
	out    string // the baseline's output topic
	groups []stream.Group
	seed   uint64
}

// Run runs the benchmark with the processor modules mods and prints its
// report to cfg.Out.
func Run(ctx context.Context, cfg Config, mods []*stream.Module) (*Report, error) {
	if cfg.Timeout <= 0 {
		return nil, errors.New("bench: a time limit is required")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("bench time limit %s passed", cfg.Timeout))
	defer cancel()
	b, cleanup, err := setup(ctx, cfg, mods)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &Report{Prefix: string(b.prefix)}
	from, err := b.throughput(ctx, rep)
	if err != nil {
		return rep, b.limit(ctx, err)
	}
	if cfg.Floor {
		if err := b.floor(ctx, from, rep); err != nil {
			return rep, b.limit(ctx, err)
		}
	}
	for _, kind := range cfg.Hot {
		if err := b.hot(ctx, kind, rep); err != nil {
			return rep, b.limit(ctx, err)
		}
	}
	if cfg.LatencyEvents > 0 {
		if err := b.latency(ctx, rep); err != nil {
			return rep, b.limit(ctx, err)
		}
	}
	if len(cfg.Replicas) > 0 {
		if err := b.scale(ctx, rep); err != nil {
			rep.Print(cfg.Out)
			return rep, b.limit(ctx, err)
		}
	}
	rep.Print(cfg.Out)
	return rep, nil
}

// limit adds the time limit to an error it caused.
func (b *bench) limit(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", err, c)
	}
	return err
}

func setup(ctx context.Context, cfg Config, mods []*stream.Module) (*bench, func(), error) {
	dir, err := os.MkdirTemp("", "aistream-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("bench state directory: %w", err)
	}
	cl, err := kgo.NewClient(append(slices.Clone(cfg.Franz), kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20))...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("bench client: %w", err)
	}
	now := time.Now()
	b := &bench{
		cfg: cfg, mods: mods, prefix: stream.Prefix(fmt.Sprintf("bench%d", now.UnixNano()%1e10)),
		adm: kadm.NewClient(cl), cl: cl, seed: uint64(now.UnixNano()),
		env: &stream.Env{Brokers: cfg.Brokers, Sarama: cfg.Sarama, StateDir: dir, Replication: 1, Log: cfg.Log, Metrics: stream.NewMetrics(),
			ChangelogFlush: cfg.ChangelogFlush},
	}
	cleanup := func() { b.removeOwn(); cl.Close(); os.RemoveAll(dir) }
	b.out = benchOut(b.prefix)
	// Every module's topics, not only the benchmarked groups': a group
	// emits to topics other groups read (the context graph's index stream).
	topicMods := cfg.TopicModules
	if topicMods == nil {
		topicMods = mods
	}
	gs, err := stream.Topics(b.prefix, topicMods)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	gs = append(gs, topology.Group{Name: string(b.prefix) + "-bench", Partitions: 6, Extra: []string{b.out}})
	if err := applyTopics(cfg, gs); err != nil {
		cleanup()
		return nil, nil, err
	}
	for _, m := range mods {
		b.groups = append(b.groups, m.Groups...)
	}
	if b.groups, err = pipelineOrder(b.groups, b.options()); err != nil {
		cleanup()
		return nil, nil, err
	}
	return b, cleanup, nil
}

// applyTopics creates the topics of gs (the contract's and their internal
// ones) where missing.
func applyTopics(cfg Config, gs []topology.Group) error {
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama)
	if err != nil {
		return fmt.Errorf("bench admin: %w", err)
	}
	defer admin.Close()
	plan, err := topology.ResolveFor(admin, topology.All(gs))
	if err == nil {
		_, _, err = topology.Apply(admin, plan)
	}
	if err != nil {
		return fmt.Errorf("bench topics: %w", err)
	}
	return nil
}

func (b *bench) options() stream.Options {
	return stream.Options{Prefix: b.prefix, Decoder: b.cfg.Decoder, Metrics: b.env.Metrics}
}

// pipelineOrder sorts groups so that one reading another's output comes
// after it (order otherwise kept).
func pipelineOrder(groups []stream.Group, o stream.Options) ([]stream.Group, error) {
	outputs := map[string]int{} // topic -> group producing it
	reads := make([][]string, len(groups))
	for i, g := range groups {
		gg := g.Graph(o)
		for _, e := range gg.OutputStreams() {
			outputs[e.Topic()] = i
		}
		for _, e := range gg.InputStreams() {
			reads[i] = append(reads[i], e.Topic())
		}
	}
	var out []stream.Group
	done := make([]bool, len(groups))
	for len(out) < len(groups) {
		progress := false
		for i, g := range groups {
			if done[i] {
				continue
			}
			ready := true
			for _, t := range reads[i] {
				if j, ok := outputs[t]; ok && j != i && !done[j] {
					ready = false
				}
			}
			if ready {
				done[i], progress = true, true
				out = append(out, g)
			}
		}
		if !progress {
			return nil, errors.New("bench: the groups read each other's outputs in a cycle")
		}
	}
	return out, nil
}

// inputTopics are every topic some group reads, loops included.
func (b *bench) inputTopics() []string {
	var ts []string
	for _, g := range b.groups {
		for _, t := range stream.Inputs(g.Graph(b.options())) {
			if !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// mix is the demo traffic: whole traces until at least n events.
func (b *bench) mix(n int, at time.Time) []demo.Record {
	b.seed++
	gen := demo.New(b.seed)
	var recs []demo.Record
	for len(recs) < n {
		recs = append(recs, gen.Trace(at)...)
		at = at.Add(10 * time.Millisecond)
	}
	return recs
}

// throughput is phase 1; it returns where the mix starts.
func (b *bench) throughput(ctx context.Context, rep *Report) (positions, error) {
	recs := b.mix(b.cfg.Events, time.Now())
	from, err := endOffsets(ctx, b.adm, b.inputTopics()...)
	if err != nil {
		return nil, err
	}
	if err := fill(ctx, b.cl, recs); err != nil {
		return nil, err
	}
	stopProfile, err := startCPUProfile(b.cfg.CPUProfile, "--cpuprofile")
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	for _, g := range b.groups {
		r, err := b.measure(ctx, []stream.Group{g}, from, "spread")
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, r...)
	}
	return from, nil
}

// measure runs groups from from until each has processed its inputs and
// loop to their end, then the baseline on the same input records.
func (b *bench) measure(ctx context.Context, groups []stream.Group, from positions, phase string) ([]Result, error) {
	results, err := b.runGroups(ctx, groups, from, nil, phase, profileTo{})
	if err != nil {
		return nil, err
	}
	o := b.options()
	for i := range results {
		x := &results[i]
		ins := inputStreams(groups[i].Graph(o))
		base, err := baseline(ctx, b.cfg.Franz, b.adm, fmt.Sprintf("%s-baseline-%s-%s", b.prefix, x.Group, phase),
			from.only(ins), x.to.only(ins), b.out)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", x.Group, phase, err)
		}
		x.Base = base
	}
	return results, nil
}

// inputStreams are the topics of gg's input edges (its loop not included).
func inputStreams(gg *goka.GroupGraph) []string {
	var ts []string
	for _, e := range gg.InputStreams() {
		ts = append(ts, e.Topic())
	}
	return ts
}

// runGroups runs groups together from from until each has processed its
// inputs up to to (nil: the end they have once upstream groups stopped)
// and its loop to its end; the measured span starts once they are ready. A
// CPU profile of that span is written to profile.path if set.
func (b *bench) runGroups(ctx context.Context, groups []stream.Group, from, to positions, phase string, profile profileTo) ([]Result, error) {
	o := b.options()
	loops := map[string]string{}
	var topics []string
	for _, g := range groups {
		gg := g.Graph(o)
		if l := gg.LoopStream(); l != nil {
			loops[g.Name] = l.Topic()
		}
		all := stream.Inputs(gg)
		topics = append(topics, all...)
		if err := commit(ctx, b.adm, string(gg.Group()), from.only(all)); err != nil {
			return nil, err
		}
	}
	if to == nil {
		// Upstream groups have stopped: the inputs' ends are where this
		// group has to get to.
		var err error
		if to, err = endOffsets(ctx, b.adm, topics...); err != nil {
			return nil, err
		}
	}
	r := stream.NewRunner(b.env)
	procs := map[string]*stream.Processor{}
	for _, g := range groups {
		p, err := r.AddGroup(g, o)
		if err != nil {
			return nil, err
		}
		procs[g.Name] = p
	}
	run := start(ctx, r.Run)
	defer run.stop()
	if err := r.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", names(groups), err)
	}
	stopProfile, err := startCPUProfile(profile.path, profile.flag)
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	m := startMeter()
	results := make([]Result, len(groups))
	for i, g := range groups {
		gg := g.Graph(o)
		ins := inputStreams(gg)
		var loopTo positions
		if l := loops[g.Name]; l != "" {
			loopTo = positions{l: nil}
		}
		in, loop, err := b.await(ctx, run, procs[g.Name].Stats, from.only(ins), to.only(ins), from.only(stream.Inputs(gg)), loopTo)
		if err != nil {
			stopProfile()
			return nil, fmt.Errorf("%s (%s): %w", g.Name, phase, err)
		}
		results[i] = Result{Group: g.Name, Phase: phase, Events: in + loop, Loop: loop, Elapsed: time.Since(m.begin), to: to}
	}
	span := m.stop()
	cpu, allocs := span.cpu, span.allocs
	stopProfile()
	peak := peakRSS()
	if err := run.stop(); err != nil {
		return nil, fmt.Errorf("%s: %w", names(groups), err)
	}
	var events int64
	for _, x := range results {
		events += x.Events
	}
	for i := range results {
		x := &results[i]
		// One group per measured span in phase 1; with several the process
		// figures are shared out by events.
		x.CPU = time.Duration(float64(cpu) * float64(x.Events) / float64(max(events, 1)))
		x.Allocs = uint64(float64(allocs) * float64(x.Events) / float64(max(events, 1)))
		x.PeakRSS = peak
		x.RunQueue = time.Duration(float64(span.runQueue) * float64(x.Events) / float64(max(events, 1)))
	}
	return results, nil
}

// meter measures a span: wall clock, process CPU, allocations and the
// time the process's threads waited for a CPU.
type meter struct {
	begin time.Time
	cpu   time.Duration
	wait  time.Duration
	ms    runtime.MemStats
}

// measured is what a meter measured.
type measured struct {
	elapsed, cpu time.Duration
	// runQueue is how long the process's threads were runnable but
	// waiting for a CPU (0: not measurable here).
	runQueue time.Duration
	allocs   uint64
}

func startMeter() *meter {
	m := &meter{}
	runtime.ReadMemStats(&m.ms)
	m.wait, _ = runQueueWait()
	m.cpu, m.begin = cpuTime(), time.Now()
	return m
}

// stop is the span so far.
func (m *meter) stop() measured {
	x := measured{elapsed: time.Since(m.begin), cpu: cpuTime() - m.cpu}
	if w, ok := runQueueWait(); ok {
		x.runQueue = w - m.wait
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	x.allocs = ms.Mallocs - m.ms.Mallocs
	return x
}

func names(groups []stream.Group) string {
	var s []string
	for _, g := range groups {
		s = append(s, g.Name)
	}
	return strings.Join(s, ",")
}

// running is a Runner's Run in the background.
type running struct {
	cancel context.CancelFunc
	exited chan struct{}
	err    error
	once   sync.Once
}

// start runs run (a Runner's Run, or any run until ctx ends) in the
// background.
func start(ctx context.Context, run func(context.Context) error) *running {
	ctx, cancel := context.WithCancel(ctx)
	x := &running{cancel: cancel, exited: make(chan struct{})}
	go func() { x.err = run(ctx); close(x.exited) }()
	return x
}

// stop ends the run and returns its error.
func (x *running) stop() error {
	x.once.Do(x.cancel)
	<-x.exited
	return x.err
}

// await waits until a processor has processed every record of its inputs
// from from to to, and of its loop (the key of loop, if any) to the loop's
// end, and returns how many messages it processed from each; stats are its
// goka statistics (Processor.Stats, or the same shape kept by a consumer
// that is not goka's).
func (b *bench) await(ctx context.Context, run *running, stats func() *goka.ProcessorStats, from, to, fromAll, loop positions) (in, looped int64, err error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	stable := 0
	for {
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("not done within the time limit: %s", lagReport(stats(), fromAll, to))
		case <-run.exited:
			return 0, 0, fmt.Errorf("the processor stopped: %v", run.err)
		case <-tick.C:
		}
		st := stats()
		if !reached(st, from, to) {
			continue
		}
		if loop == nil {
			return count(st, to), 0, nil
		}
		var l string
		for t := range loop {
			l = t
		}
		lend, err := endOffsets(ctx, b.adm, l)
		if err != nil {
			return 0, 0, err
		}
		if !reached(st, fromAll, lend) {
			stable = 0
			continue
		}
		// Loop records may still be in flight from the last inputs: the
		// loop is done once its end stood still for a few checks.
		if stable++; stable >= 3 {
			return count(st, to), count(st, lend), nil
		}
	}
}

// reached reports whether every partition with records between from and
// to was processed up to its end.
func reached(st *goka.ProcessorStats, from, to positions) bool {
	for t, parts := range to {
		for part, end := range parts {
			if end <= from[t][part] {
				continue
			}
			ps, ok := st.Group[part]
			if !ok {
				return false
			}
			in, ok := ps.Input[t]
			// LastOffset starts at 0: only a processed message sets it.
			if !ok || in.Count == 0 || in.LastOffset < end-1 {
				return false
			}
		}
	}
	return true
}

// count is how many messages of to's topics p processed.
func count(st *goka.ProcessorStats, to positions) int64 {
	var n int64
	for _, ps := range st.Group {
		for t, in := range ps.Input {
			if _, ok := to[t]; ok {
				n += int64(in.Count)
			}
		}
	}
	return n
}

func lagReport(st *goka.ProcessorStats, from, to positions) string {
	var parts []string
	for t, ps := range to {
		var lag int64
		for part, end := range ps {
			last := from[t][part] - 1
			if s, ok := st.Group[part]; ok && s.Input[t] != nil && s.Input[t].Count > 0 {
				last = s.Input[t].LastOffset
			}
			if end-1 > last {
				lag += end - 1 - last
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %d records behind its end", t, lag))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// hotGroups are the groups a hot-key phase runs, in order.
var hotGroups = map[string][]string{
	"trace":   {contextgraph.Name},
	"agent":   {quality.RouterName, quality.Name},
	"dataset": {lineage.Name},
}

// hot is phase 2 for one kind of hot key.
func (b *bench) hot(ctx context.Context, kind string, rep *Report) error {
	want, ok := hotGroups[kind]
	if !ok {
		return fmt.Errorf("hot key %q: use one of %s", kind, strings.Join(HotKinds, ", "))
	}
	n := b.cfg.HotEvents
	if n == 0 {
		n = b.cfg.Events
	}
	recs, err := hotRecords(b.mix(n, time.Now()), kind, string(b.prefix))
	if err != nil {
		return err
	}
	from, err := endOffsets(ctx, b.adm, b.inputTopics()...)
	if err != nil {
		return err
	}
	if err := fill(ctx, b.cl, recs); err != nil {
		return err
	}
	for _, name := range want {
		i := slices.IndexFunc(b.groups, func(g stream.Group) bool { return g.Name == name })
		if i < 0 {
			return fmt.Errorf("hot key %q: no group %s in this binary", kind, name)
		}
		r, err := b.measure(ctx, b.groups[i:i+1], from, "hot-"+kind)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, r...)
	}
	return nil
}

// hotRecords rewrites the mix so that every event of the kind lands on one
// key: one trace (every agent event and feedback), one tenant × agent
// (metrics and feedback) or one dataset (every lineage event reads it).
// Event ids stay distinct, so every event is new to the state.
func hotRecords(recs []demo.Record, kind, prefix string) ([]demo.Record, error) {
	hotTrace := prefix + "-hot-trace"
	var out []demo.Record
	for i, r := range recs {
		var env map[string]any
		if err := json.Unmarshal(r.Value, &env); err != nil {
			continue // the mix's malformed events stay out of hot phases
		}
		data, ok := env["data"].(map[string]any)
		if !ok {
			continue
		}
		keep := false
		switch kind {
		case "trace":
			switch r.Topic {
			case topology.ThinkingEvents, topology.DecisionEvents, topology.TraceEvents, topology.FeedbackEvents:
				data["trace_id"] = hotTrace
				if s, ok := data["span_id"].(string); ok {
					data["span_id"] = fmt.Sprintf("%s-%d", s, i)
				}
				if s, ok := data["decision_id"].(string); ok {
					data["decision_id"] = fmt.Sprintf("%s-%d", s, i)
				}
				r.Key, keep = []byte(hotTrace), true
			}
		case "agent":
			switch r.Topic {
			case topology.MetricsEvents, topology.FeedbackEvents:
				env["tenant_id"], data["agent"] = "acme-corp", "sql-agent"
				r.Key, keep = []byte(codecs.TenantKey("acme-corp", "sql-agent")), true
			}
		case "dataset":
			if r.Topic == topology.LineageEvents {
				env["tenant_id"] = "acme-corp"
				data["sources"] = []string{"raw.hot.dataset"}
				data["columns"] = []any{}
				keep = true
			}
		}
		if !keep {
			continue
		}
		v, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		r.Value = v
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hot key %q: the mix has no event for it", kind)
	}
	return out, nil
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tphase\tevents\tloop\tevents/s\tCPU µs/ev\tbase rec/s\tbase CPU µs/rec\tratio\tallocs/ev\tpeak RSS MiB\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.1f\t%.0f\t%.1f\t%.2f\t%.0f\t%.0f\t\n", x.Group, x.Phase, x.Events, x.Loop, x.Rate(),
			us(x.CPUPerEvent()), perSecond(x.Base.records, x.Base.elapsed), us(per(x.Base.cpu, x.Base.records)), x.Ratio(),
			float64(x.Allocs)/float64(max(x.Events, 1)), float64(x.PeakRSS)/(1<<20))
	}
	tw.Flush()
	if r.Floor != nil {
		r.Floor.print(w)
	}
	spread := map[string]float64{}
	spreadCPU := map[string]float64{}
	for _, x := range r.Results {
		if x.Phase == "spread" {
			spread[x.Group] = x.Rate()
			spreadCPU[x.Group] = us(x.CPUPerEvent())
		}
	}
	first := true
	for _, x := range r.Results {
		if x.Phase == "spread" || spread[x.Group] == 0 {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nhot keys (events/s of one key over the spread figure of the same group; CPU µs/event beside it):")
			first = false
		}
		fmt.Fprintf(w, "  %-20s %-12s %8.0f ev/s  %.2fx spread   %7.1f µs/ev vs %.1f spread\n", x.Group, x.Phase, x.Rate(), x.Rate()/spread[x.Group],
			us(x.CPUPerEvent()), spreadCPU[x.Group])
	}
	if len(r.Latency) > 0 {
		p := r.Pipeline
		fmt.Fprintf(w, "\nlatency phase: every group together, %d events in %s (%.0f ev/s), %.1f µs CPU/event (the bench's clients included), allocs/ev %.0f, peak RSS %.0f MiB\n",
			p.Events, p.Elapsed.Round(time.Millisecond), p.Rate(), us(p.CPUPerEvent()), float64(p.Allocs)/float64(max(p.Events, 1)), float64(p.PeakRSS)/(1<<20))
		fmt.Fprintf(w, "  the producer handed over its %d records in %s (%.0f rec/s)", p.Events, r.Produce.Round(time.Millisecond), perSecond(p.Events, r.Produce))
		if r.RunQueue > 0 {
			fmt.Fprintf(w, "; runnable but waiting for a CPU: %.2f thread-s per s of the phase (CPU used: %.2f cores)", r.RunQueue.Seconds()/p.Elapsed.Seconds(), p.CPU.Seconds()/p.Elapsed.Seconds())
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "group\toutput\toutputs\tp50 ms\tp99 ms\t")
		for _, l := range r.Latency {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t\n", l.Group, l.Output, l.N, ms(l.P50), ms(l.P99))
		}
		tw.Flush()
	}
	r.printScale(w)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// profileTo is where a CPU profile goes (path; "": none) and the setting
// that asked for it (flag, for errors).
type profileTo struct{ path, flag string }

// startCPUProfile starts a CPU profile written to path (nothing when path
// is ""); flag names the setting in errors. stop ends it and closes the
// file.
func startCPUProfile(path, flag string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
