package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// The floor phase (Config.Floor) measures what goka's per-message path
// costs on its own, so that a group's ratio to the plain client can be read
// against the best any goka group reaches. On the records the context
// graph's spread phase read (its input topics, the same offset range; the
// first group of the run's when the context graph is not benchmarked),
// copied to topics of the run's own (copyRange: same partitions, keys and
// values, and nothing else writes there), it runs, one after another and
// each alone:
//
//   - the plain franz-go client (baseline), the yardstick;
//   - floorEmit: a goka processor group built like every aistream group
//     (stream.Runner.AddGroup: the Env's sarama configuration, aistream's
//     producer, consumer-group wrapper and leveldb storage) whose handler
//     only emits the input value under its key to the baseline's output
//     topic: the baseline's work through goka;
//   - floorTable: the same plus ctx.SetValue of a floorValueBytes value per
//     message: the storage write and the merged table changelog every
//     stateful aistream group pays;
//   - floorSarama: a sarama consumer group and AsyncProducer with the same
//     configuration and no goka, marking each input once its output is
//     acknowledged: sarama's share of the floor.
//
// Each variant must process exactly the records of the range; a record
// outside it (none, on the copy) would be read but skipped, as the
// baseline skips it.
const (
	floorEmit   = "goka floor: emit"
	floorTable  = "goka floor: emit+table"
	floorSarama = "sarama floor: emit"
	// floorValueBytes is the size of the value floorTable stores per
	// message (the input's first bytes, zero-padded).
	floorValueBytes = 64
)

// Floor is what the floor phase measured.
type Floor struct {
	// Source is the group whose input records the phase read.
	Source string
	// Records is how many records the range holds.
	Records int64
	// Base is the plain client on them; Variants are the floors (Group is
	// the variant's name, Base the plain client's run).
	Base     baselineResult
	Variants []Result
}

// floorGroups are the goka floor variants' groups, reading topics with
// partitions partitions (for the topic plan when none of topics is a
// contract topic) and emitting to the baseline's output; each counts the
// messages of the range it processes in seen.
func floorGroups(topics []string, partitions int32, seen []*rangeCount) []stream.Group {
	graph := func(name string, table bool, seen *rangeCount) func(o stream.Options) *goka.GroupGraph {
		return func(o stream.Options) *goka.GroupGraph {
			out := goka.Stream(benchOut(o.Prefix))
			cb := func(ctx goka.Context, msg any) {
				// Past the range is another writer's record: not the
				// baseline's work, and possibly too large to emit.
				if !seen.observe(ctx.Topic(), ctx.Partition(), ctx.Offset()) {
					return
				}
				ctx.Emit(out, ctx.Key(), msg)
				if table {
					v := make([]byte, floorValueBytes)
					in, _ := msg.([]byte)
					copy(v, in)
					ctx.SetValue(v)
				}
			}
			var edges []goka.Edge
			for _, t := range topics {
				edges = append(edges, goka.Input(goka.Stream(t), new(codec.Bytes), cb))
			}
			edges = append(edges, goka.Output(out, new(codec.Bytes)))
			if table {
				edges = append(edges, goka.Persist(new(codec.Bytes)))
			}
			return goka.DefineGroup(o.Group(name), edges...)
		}
	}
	return []stream.Group{
		{Name: "floor-emit", Graph: graph("floor-emit", false, seen[0]), Partitions: partitions},
		{Name: "floor-table", Graph: graph("floor-table", true, seen[1]), Partitions: partitions},
	}
}

// rangeCount counts the messages a floor variant processed that lie in the
// phase's range: the input topics are the contract's, which another writer
// (another bench) may append to meanwhile, and a variant processes what it
// fetched beyond the range before the end is noticed.
type rangeCount struct {
	from, to positions
	n        map[goka.Stream]map[int32]*atomic.Int64 // read-only after newRangeCount
}

func newRangeCount(from, to positions) *rangeCount {
	c := &rangeCount{from: from, to: to, n: map[goka.Stream]map[int32]*atomic.Int64{}}
	for t, parts := range to {
		c.n[goka.Stream(t)] = map[int32]*atomic.Int64{}
		for p := range parts {
			c.n[goka.Stream(t)][p] = new(atomic.Int64)
		}
	}
	return c
}

// observe counts a message if it lies in the range and reports whether it
// does.
func (c *rangeCount) observe(topic goka.Stream, part int32, offset int64) bool {
	n := c.n[topic][part]
	if n == nil || offset < c.from[string(topic)][part] || offset >= c.to[string(topic)][part] {
		return false
	}
	n.Add(1)
	return true
}

// total is how many messages of the range were processed.
func (c *rangeCount) total() int64 {
	var sum int64
	for _, parts := range c.n {
		for _, n := range parts {
			sum += n.Load()
		}
	}
	return sum
}

// floorCopy is the topic the floor phase copies topic's records to.
func floorCopy(p stream.Prefix, topic string) string { return string(p) + "-floor-in-" + topic }

// copyRange copies the records from from to to of each topic to
// floorCopy(topic), each to its partition with its key, value and headers,
// and returns where the copies' records start and end.
func (b *bench) copyRange(ctx context.Context, from, to positions) (cfrom, cto positions, err error) {
	var copies []string
	offsets := map[string]map[int32]kgo.Offset{}
	left := 0
	for t, parts := range from {
		copies = append(copies, floorCopy(b.prefix, t))
		for p, o := range parts {
			if to[t][p] > o {
				if offsets[t] == nil {
					offsets[t] = map[int32]kgo.Offset{}
				}
				offsets[t][p] = kgo.NewOffset().At(o)
				left++
			}
		}
	}
	if cfrom, err = endOffsets(ctx, b.adm, copies...); err != nil {
		return nil, nil, err
	}
	cl, err := kgo.NewClient(append(slices.Clone(b.cfg.Franz), kgo.ConsumePartitions(offsets),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20))...)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	var (
		mu       sync.Mutex
		produced error
	)
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%d partitions not copied before the time limit", left)
		}
		if err := fs.Err0(); err != nil {
			return nil, nil, fmt.Errorf("fetch: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end := to[r.Topic][r.Partition]
			if r.Offset < from[r.Topic][r.Partition] || r.Offset >= end {
				return
			}
			cl.Produce(ctx, &kgo.Record{Topic: floorCopy(b.prefix, r.Topic), Partition: r.Partition, Key: r.Key, Value: r.Value, Headers: r.Headers},
				func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						produced = cmp.Or(produced, err)
						mu.Unlock()
					}
				})
			if r.Offset == end-1 {
				left--
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, nil, fmt.Errorf("flush: %w", err)
	}
	if produced != nil {
		return nil, nil, fmt.Errorf("produce: %w", produced)
	}
	if cto, err = endOffsets(ctx, b.adm, copies...); err != nil {
		return nil, nil, err
	}
	return cfrom, cto, nil
}

// benchOut is the topic the baseline and the floors produce to.
func benchOut(p stream.Prefix) string { return string(p) + "-bench-out" }

// floorSource is the group whose input records the floor phase reads.
func floorSource(groups []stream.Group) stream.Group {
	if i := slices.IndexFunc(groups, func(g stream.Group) bool { return g.Name == contextgraph.Name }); i >= 0 {
		return groups[i]
	}
	return groups[0]
}

// floor is the floor phase on the records the source group's spread phase
// read: from from to where its inputs ended then.
func (b *bench) floor(ctx context.Context, from positions, rep *Report) error {
	src := floorSource(b.groups)
	i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.Group == src.Name && r.Phase == "spread" })
	if i < 0 {
		return fmt.Errorf("floor: no spread result of %s to take its records from", src.Name)
	}
	srcTopics := inputStreams(src.Graph(b.options()))
	f := &Floor{Source: src.Name, Records: from.only(srcTopics).span(rep.Results[i].to.only(srcTopics))}
	// The variants read a copy: the contract topics are shared, and what
	// other writers append to them meanwhile would be read (and its CPU
	// counted) by every variant.
	var topics []string
	for _, t := range srcTopics {
		topics = append(topics, floorCopy(b.prefix, t))
	}
	partitions := int32(len(rep.Results[i].to[srcTopics[0]]))
	// The topic plan only (their handlers never run).
	groups := floorGroups(topics, partitions, make([]*rangeCount, 2))
	var tgs []topology.Group
	for _, g := range groups {
		tg, err := g.Topics(b.prefix)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		tgs = append(tgs, tg)
	}
	if err := applyTopics(b.cfg, tgs); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	from, to, err := b.copyRange(ctx, from.only(srcTopics), rep.Results[i].to.only(srcTopics))
	if err != nil {
		return fmt.Errorf("floor: copying the %s group's input records: %w", src.Name, err)
	}
	if n := from.span(to); n != f.Records {
		return fmt.Errorf("floor: the copy of the %s group's input records holds %d where they are %d", src.Name, n, f.Records)
	}
	seen := []*rangeCount{newRangeCount(from, to), newRangeCount(from, to), newRangeCount(from, to)}
	groups = floorGroups(topics, partitions, seen[:2])
	if f.Base, err = baseline(ctx, b.cfg.Franz, b.adm, fmt.Sprintf("%s-baseline-floor", b.prefix), from, to, b.out); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	profiles := []profileTo{{b.cfg.FloorCPUProfile, "--floor-cpuprofile"}, {b.cfg.FloorTableCPUProfile, "--floor-table-cpuprofile"}}
	for i, g := range groups {
		rs, err := b.runGroups(ctx, []stream.Group{g}, from, to, "floor", profiles[i])
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		f.Variants = append(f.Variants, rs[0])
	}
	f.Variants[0].Group, f.Variants[1].Group = floorEmit, floorTable
	s, err := b.saramaFloor(ctx, topics, from, to, seen[2])
	if err != nil {
		return fmt.Errorf("floor: %s: %w", floorSarama, err)
	}
	f.Variants = append(f.Variants, s)
	for i := range f.Variants {
		v := &f.Variants[i]
		v.Base = f.Base
		if n := seen[i].total(); n != f.Records {
			return fmt.Errorf("floor: %s processed %d of the range's records where it holds %d", v.Group, n, f.Records)
		}
	}
	rep.Floor = f
	return nil
}

// saramaFloor runs the sarama floor on the records from from to to.
func (b *bench) saramaFloor(ctx context.Context, topics []string, from, to positions, seen *rangeCount) (Result, error) {
	group := string(b.prefix) + "-floor-sarama"
	if err := commit(ctx, b.adm, group, from); err != nil {
		return Result{}, err
	}
	cfg := b.env.SaramaConfig("aistream-bench-floor")
	prod, err := sarama.NewAsyncProducer(b.cfg.Brokers, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("producer: %w", err)
	}
	cg, err := sarama.NewConsumerGroup(b.cfg.Brokers, group, cfg)
	if err != nil {
		prod.Close()
		return Result{}, fmt.Errorf("consumer group: %w", err)
	}
	h := &floorHandler{out: b.out, prod: prod, seen: seen, ready: make(chan struct{}), claims: map[int32]map[string]*claimStats{}}
	failed := make(chan error, 1)
	fail := func(err error) {
		select {
		case failed <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // until AsyncClose
		defer wg.Done()
		for m := range prod.Successes() {
			if s := h.session.Load(); s != nil {
				(*s).MarkMessage(m.Metadata.(*sarama.ConsumerMessage), "")
			}
		}
	}()
	go func() { // until AsyncClose
		defer wg.Done()
		for e := range prod.Errors() {
			fail(fmt.Errorf("produce: %w", e.Err))
		}
	}()
	go func() { // until cg.Close
		defer wg.Done()
		for err := range cg.Errors() {
			fail(fmt.Errorf("consume: %w", err))
		}
	}()
	run := start(ctx, func(ctx context.Context) error {
		consumed := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, topics, h); err != nil {
					consumed <- err
					return
				}
			}
			consumed <- nil
		}()
		select {
		case err := <-failed:
			return err
		case err := <-consumed:
			return err
		}
	})
	defer func() {
		run.stop()
		cg.Close()
		prod.AsyncClose()
		wg.Wait()
	}()
	select {
	case <-h.ready:
	case <-run.exited:
		return Result{}, fmt.Errorf("stopped before its partitions were assigned: %v", run.err)
	case <-ctx.Done():
		return Result{}, errors.New("its partitions were not assigned within the time limit")
	}
	resetPeakRSS()
	m := startMeter()
	in, _, err := b.await(ctx, run, h.stats, from, to, from, nil)
	if err != nil {
		return Result{}, err
	}
	r := Result{Group: floorSarama, Phase: "floor", Events: in, to: to}
	x := m.stop()
	r.Elapsed, r.CPU, r.Allocs, r.RunQueue = x.elapsed, x.cpu, x.allocs, x.runQueue
	r.PeakRSS = peakRSS()
	return r, nil
}

// floorHandler is the sarama floor's consumer group handler: each message
// is produced to out (same key and value) and marked once acknowledged;
// its counts are kept in goka's statistics shape for await.
type floorHandler struct {
	out     string
	prod    sarama.AsyncProducer
	seen    *rangeCount
	session atomic.Pointer[sarama.ConsumerGroupSession]
	ready   chan struct{}
	once    sync.Once

	mu     sync.Mutex
	claims map[int32]map[string]*claimStats
}

// claimStats are one topic partition's messages handed to the producer.
type claimStats struct{ count, last atomic.Int64 }

func (h *floorHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.session.Store(&s)
	h.once.Do(func() { close(h.ready) })
	return nil
}

func (h *floorHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *floorHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	st := &claimStats{}
	h.mu.Lock()
	if h.claims[c.Partition()] == nil {
		h.claims[c.Partition()] = map[string]*claimStats{}
	}
	h.claims[c.Partition()][c.Topic()] = st
	h.mu.Unlock()
	for m := range c.Messages() {
		if !h.seen.observe(goka.Stream(m.Topic), m.Partition, m.Offset) {
			// Another writer's record past the range, as the goka floors.
			s.MarkMessage(m, "")
			st.last.Store(m.Offset)
			st.count.Add(1)
			continue
		}
		msg := &sarama.ProducerMessage{Topic: h.out, Metadata: m}
		if m.Key != nil {
			msg.Key = sarama.ByteEncoder(m.Key)
		}
		if m.Value != nil {
			msg.Value = sarama.ByteEncoder(m.Value)
		}
		h.prod.Input() <- msg
		st.last.Store(m.Offset)
		st.count.Add(1)
	}
	return nil
}

// stats are the messages handed over so far, as goka's Processor.Stats
// reports a processor's.
func (h *floorHandler) stats() *goka.ProcessorStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := &goka.ProcessorStats{Group: map[int32]*goka.PartitionProcStats{}}
	for part, topics := range h.claims {
		ps := &goka.PartitionProcStats{Input: map[string]*goka.InputStats{}}
		for t, st := range topics {
			ps.Input[t] = &goka.InputStats{Count: uint(st.count.Load()), LastOffset: st.last.Load()}
		}
		out.Group[part] = ps
	}
	return out
}

// print writes the floor table.
func (f *Floor) print(w io.Writer) {
	base := perSecond(f.Base.records, f.Base.elapsed)
	fmt.Fprintf(w, "\nfloor: the %s group's %d input records, each variant alone; ratio = records/s over the plain client's\n", f.Source, f.Records)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tevents\ts\tevents/s\tCPU µs/ev\tallocs/ev\tratio\tcores used\twaiting for a CPU thread-s/s\t")
	row := func(name string, n int64, m measured) {
		rate := perSecond(n, m.elapsed)
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.1f\t%.0f\t%.2f\t%.2f\t%.2f\t\n", name, n, m.elapsed.Seconds(), rate, us(per(m.cpu, n)),
			float64(m.allocs)/float64(max(n, 1)), rate/max(base, 1e-9), m.cpu.Seconds()/m.elapsed.Seconds(), m.runQueue.Seconds()/m.elapsed.Seconds())
	}
	row("plain franz-go client", f.Base.records, f.Base.measured)
	best, bestName := 0.0, ""
	for _, v := range f.Variants {
		row(v.Group, v.Events, measured{elapsed: v.Elapsed, cpu: v.CPU, runQueue: v.RunQueue, allocs: v.Allocs})
		if r := v.Ratio(); v.Group != floorSarama && r > best {
			best, bestName = r, v.Group
		}
	}
	tw.Flush()
	for _, v := range f.Variants {
		if v.Events > f.Records {
			fmt.Fprintf(w, "  %s also processed %d records past the range (another writer appended to its input topics meanwhile), read and skipped; events and CPU include them\n", v.Group, v.Events-f.Records)
		}
	}
	fmt.Fprintf(w, "  best ratio a goka group reaches on these records: %.2f (%s); a group's own work only lowers it\n", best, bestName)
}
