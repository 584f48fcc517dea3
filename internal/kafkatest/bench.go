package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Fill produces n records made by gen to topic as fast as the client can and
// returns when all are acknowledged.
func Fill(t testing.TB, topic string, n int, gen func(i int) *kgo.Record) {
	t.Helper()
	cl := Client(t, kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make(chan error, 1)
	for i := 0; i < n; i++ {
		r := gen(i)
		r.Topic = topic
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("fill %s: %v", topic, err)
	}
	select {
	case err := <-errs:
		t.Fatalf("fill %s: %v", topic, err)
	default:
	}
}

// EndOffsets returns the sum of topic's end offsets (its record count when
// nothing was deleted).
func EndOffsets(t testing.TB, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(Client(t))
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum
}

// Baseline is the plain-client yardstick for a processor benchmark: one
// franz-go consumer group member reads n records of in from the start and
// produces one record per input (same key, same value) to out, the I/O a
// stateless pass-through of the pipeline does. It returns records per second.
func Baseline(t testing.TB, in, out string, n int) float64 {
	t.Helper()
	// A group of its own in every run: one named by a per-process sequence
	// alone resumed where the last run's left off.
	group := fmt.Sprintf("baseline-%d-%d", time.Now().UnixNano(), seq.Add(1))
	cl := Client(t, kgo.ConsumeTopics(in), kgo.ConsumerGroup(group), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.DisableAutoCommit())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	seen := 0
	for seen < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("baseline: read %d of %d records", seen, n)
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value}, nil)
		})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("baseline commit: %v", err)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("baseline flush: %v", err)
	}
	return float64(seen) / time.Since(start).Seconds()
}
