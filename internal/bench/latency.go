package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
	"github.com/aistream/aistream/topology"
)

// output is an output that answers one input event: expect names the output
// an input produces ("" for none), id the input an output answers.
type output struct {
	group, topic string
	expect       func(ev *codecs.Event) string
	id           func(value []byte) string
}

func outputs(p stream.Prefix) []output {
	feedback := func(ev *codecs.Event) string {
		if ev.EventType == codecs.TypeFeedback {
			return ev.EventID
		}
		return ""
	}
	envelopeID := func(v []byte) string {
		var e struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(v, &e)
		return e.EventID
	}
	return []output{
		{group: contextgraph.Name, topic: topology.LearningSignals, expect: feedback, id: func(v []byte) string {
			// Only the id is decoded: the reader's CPU is the pipeline's.
			var s struct {
				Data struct {
					Feedback struct {
						EventID string `json:"event_id"`
					} `json:"feedback"`
				} `json:"data"`
			}
			_ = json.Unmarshal(v, &s)
			return s.Data.Feedback.EventID
		}},
		{group: quality.RouterName, topic: string(p.Stream(quality.FeedbackStream)), expect: feedback, id: envelopeID},
		{group: lineage.Name, topic: topology.LineageRecords, expect: func(ev *codecs.Event) string {
			if ev.EventType == codecs.TypeLineage {
				return lineage.RecordEventID(ev.TenantID, ev.EventID)
			}
			return ""
		}, id: envelopeID},
	}
}

// latency is phase 3: every group together on traffic produced at
// Config.Rate, produce-to-output latency of every output that answers an
// input.
func (b *bench) latency(ctx context.Context, rep *Report) error {
	recs := b.mix(b.cfg.LatencyEvents, time.Now())
	outs := outputs(b.prefix)
	var present []output
	for _, o := range outs {
		if slices.ContainsFunc(b.groups, func(g stream.Group) bool { return g.Name == o.group }) {
			present = append(present, o)
		}
	}
	// What each record must produce, by output id.
	want := map[string]expected{}
	for i, r := range recs {
		ev, err := b.cfg.Decoder.Decode(r.Value)
		if err != nil {
			continue
		}
		for j, o := range present {
			if id := o.expect(ev); id != "" {
				want[o.topic+"\x00"+id] = expected{j, i}
			}
		}
	}
	var outTopics []string
	for _, o := range present {
		outTopics = append(outTopics, o.topic)
	}
	outFrom, err := endOffsets(ctx, b.adm, outTopics...)
	if err != nil {
		return err
	}
	from, err := endOffsets(ctx, b.adm, b.inputTopics()...)
	if err != nil {
		return err
	}
	o := b.options()
	r := stream.NewRunner(b.env)
	for _, g := range b.groups {
		gg := g.Graph(o)
		if err := commit(ctx, b.adm, string(gg.Group()), from.only(stream.Inputs(gg))); err != nil {
			return err
		}
		if _, err := r.AddGroup(g, o); err != nil {
			return err
		}
	}
	run := start(ctx, r.Run)
	defer run.stop()
	if err := r.WaitReady(ctx); err != nil {
		return fmt.Errorf("latency phase: %w", err)
	}

	// Outputs are read from where they stood before the phase.
	parts := map[string]map[int32]kgo.Offset{}
	for t, ps := range outFrom {
		parts[t] = map[int32]kgo.Offset{}
		for p, off := range ps {
			parts[t][p] = kgo.NewOffset().At(off)
		}
	}
	reader, err := kgo.NewClient(append(slices.Clone(b.cfg.Franz), kgo.ConsumePartitions(parts))...)
	if err != nil {
		return fmt.Errorf("latency reader: %w", err)
	}
	defer reader.Close()
	sent := make([]time.Time, len(recs))
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
	)
	readCtx, stopReading := context.WithCancel(ctx)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for readCtx.Err() == nil {
			fs := reader.PollFetches(readCtx)
			now := time.Now()
			mu.Lock()
			fs.EachRecord(func(rec *kgo.Record) {
				for _, o := range present {
					if o.topic != rec.Topic {
						continue
					}
					k := o.topic + "\x00" + o.id(rec.Value)
					if _, ok := want[k]; ok {
						if _, seen := arrived[k]; !seen {
							arrived[k] = now
						}
					}
				}
			})
			mu.Unlock()
		}
	}()
	defer func() { stopReading(); <-readDone }()

	stopProfile, err := startCPUProfile(b.cfg.LatencyCPUProfile, "--latency-cpuprofile")
	if err != nil {
		return err
	}
	defer stopProfile()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	resetPeakRSS()
	cpu0, begin := cpuTime(), time.Now()
	wait0, _ := runQueueWait()
	interval := time.Second / time.Duration(max(b.cfg.Rate, 1))
	for i, rec := range recs {
		// One sleep per pace, not per record (at 10k/s a timer wake-up
		// every 100 µs lagged the rate by 7% on a loaded machine and took
		// CPU from the pipeline): the records due meanwhile leave together,
		// at most one pace late; latency counts from the actual hand-over.
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(max(d, pace))
		}
		sent[i] = time.Now()
		b.cl.Produce(ctx, &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}, nil)
	}
	if err := b.cl.Flush(ctx); err != nil {
		return fmt.Errorf("latency phase produce: %w", err)
	}
	rep.Produce = time.Since(begin)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n == len(want) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("latency phase: %d of %d outputs read within the time limit%s", n, len(want), missing(present, want, arrived, &mu))
		case <-run.exited:
			return fmt.Errorf("latency phase: the pipeline stopped: %v", run.err)
		case <-tick.C:
		}
	}
	elapsed := time.Since(begin)
	cpu := cpuTime() - cpu0
	if wait1, ok := runQueueWait(); ok {
		rep.RunQueue = wait1 - wait0
	}
	runtime.ReadMemStats(&ms1)
	rep.Pipeline = Result{Group: "all", Phase: "latency", Events: int64(len(recs)), Elapsed: elapsed, CPU: cpu,
		Allocs: ms1.Mallocs - ms0.Mallocs, PeakRSS: peakRSS()}
	lat := make([][]time.Duration, len(present))
	mu.Lock()
	for k, e := range want {
		lat[e.out] = append(lat[e.out], arrived[k].Sub(sent[e.rec]))
	}
	mu.Unlock()
	for j, o := range present {
		l := lat[j]
		slices.Sort(l)
		x := Latency{Group: o.group, Output: o.topic, N: len(l)}
		if len(l) > 0 {
			x.P50, x.P99 = l[len(l)/2], l[len(l)*99/100]
		}
		rep.Latency = append(rep.Latency, x)
	}
	return nil
}

// pace is the latency phase producer's pacing granularity.
const pace = time.Millisecond

// expected is an output to come: the index of its output and of its input
// record.
type expected struct{ out, rec int }

// missing says, per output, how many expected outputs never came.
func missing(present []output, want map[string]expected, arrived map[string]time.Time, mu *sync.Mutex) string {
	mu.Lock()
	defer mu.Unlock()
	n := make([]int, len(present))
	for k, e := range want {
		if _, ok := arrived[k]; !ok {
			n[e.out]++
		}
	}
	var s []string
	for j, o := range present {
		if n[j] > 0 {
			s = append(s, fmt.Sprintf("%s: %d missing", o.topic, n[j]))
		}
	}
	if len(s) == 0 {
		return ""
	}
	return " (" + strings.Join(s, "; ") + ")"
}
