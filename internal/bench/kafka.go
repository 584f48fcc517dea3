package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/demo"
)

// positions are offsets per topic and partition.
type positions map[string]map[int32]int64

// endOffsets lists the end offsets of topics.
func endOffsets(ctx context.Context, adm *kadm.Client, topics ...string) (positions, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := positions{}
	ends.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, nil
}

// only is p restricted to topics.
func (p positions) only(topics []string) positions {
	out := positions{}
	for _, t := range topics {
		if m, ok := p[t]; ok {
			out[t] = maps.Clone(m)
		}
	}
	return out
}

// span is the number of offsets from p to end over p's topics.
func (p positions) span(end positions) int64 {
	var n int64
	for t, parts := range p {
		for part, o := range parts {
			n += end[t][part] - o
		}
	}
	return n
}

// commit sets group's committed offsets to p, so that it starts there.
func commit(ctx context.Context, adm *kadm.Client, group string, p positions) error {
	os := kadm.Offsets{}
	for t, parts := range p {
		for part, o := range parts {
			os.AddOffset(t, part, o, -1)
		}
	}
	resp, err := adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("commit start offsets of %s: %w", group, err)
	}
	return nil
}

// fill produces recs as fast as the client can and returns once all are
// acknowledged.
func fill(ctx context.Context, cl *kgo.Client, recs []demo.Record) error {
	var failed atomic.Value
	for _, r := range recs {
		cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("produce the bench records: %w", err)
	}
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("produce the bench records: %w", err)
	}
	return nil
}

// baselineResult is what the plain client did.
type baselineResult struct {
	records int64
	measured
}

// Records is how many records the baseline read.
func (b baselineResult) Records() int64 { return b.records }

// baseline is the plain-client yardstick: one franz-go consumer group
// member, of a group used by nothing else (its offsets committed at from
// first), reads exactly the records from from to to and produces one record
// per input (same key, same value) to out, committing as it goes: the I/O
// of a stateless pass-through. It fails unless it read exactly the records
// of that range.
func baseline(ctx context.Context, opts []kgo.Opt, adm *kadm.Client, group string, from, to positions, out string) (baselineResult, error) {
	if err := commit(ctx, adm, group, from); err != nil {
		return baselineResult{}, err
	}
	want := from.span(to)
	left := map[string]map[int32]bool{} // partitions not read to their end
	for t, parts := range from {
		for p, o := range parts {
			if to[t][p] > o {
				if left[t] == nil {
					left[t] = map[int32]bool{}
				}
				left[t][p] = true
			}
		}
	}
	cl, err := kgo.NewClient(append(slices.Clone(opts), kgo.ConsumeTopics(slices.Collect(maps.Keys(from))...), kgo.ConsumerGroup(group),
		kgo.DisableAutoCommit(), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return baselineResult{}, fmt.Errorf("baseline client: %w", err)
	}
	defer cl.Close()
	var seen int64
	m := startMeter()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return baselineResult{}, fmt.Errorf("baseline: read %d of %d records before the time limit", seen, want)
		}
		if err := fs.Err0(); err != nil {
			return baselineResult{}, fmt.Errorf("baseline fetch: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end := to[r.Topic][r.Partition]
			if r.Offset < from[r.Topic][r.Partition] || r.Offset >= end {
				return
			}
			seen++
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value}, nil)
			if r.Offset == end-1 {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
		})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return baselineResult{}, fmt.Errorf("baseline commit: %w", err)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return baselineResult{}, fmt.Errorf("baseline flush: %w", err)
	}
	res := baselineResult{records: seen, measured: m.stop()}
	if seen != want {
		return res, fmt.Errorf("baseline read %d records where its range holds %d", seen, want)
	}
	return res, nil
}
