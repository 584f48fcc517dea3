package deadletters

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/topology"
)

// Progress counts what a long step has done out of its total, for the
// command to print while it works. A nil *Progress counts nothing.
type Progress struct {
	done, total atomic.Int64
}

// Counts returns what is done and the total.
func (p *Progress) Counts() (done, total int64) { return p.done.Load(), p.total.Load() }

// Start adds n to the total.
func (p *Progress) Start(n int64) {
	if p != nil {
		p.total.Add(n)
	}
}

// Add counts n more done.
func (p *Progress) Add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// Selection is what a scan found.
type Selection struct {
	// Read is how many dead letters the scan read.
	Read int64
	// Matched is how many of them the filter matches.
	Matched int
	// Records are the Limit oldest matches, oldest first.
	Records []DeadLetter
}

// StallTimeout bounds the wait for the next record of a partition that has
// not reached the end offset it had when the scan started.
const StallTimeout = 30 * time.Second

// Scan reads the dead-letter topic from its start, or from the first record
// at or after f.Since, up to the end offsets it has when the scan starts (dead
// letters arriving meanwhile are left for the next run), and selects the
// f.Limit oldest dead letters f matches. opts connect to the cluster
// (ClientOptions). It returns an error rather than wait on a partition that
// stops short of its end for StallTimeout.
func Scan(ctx context.Context, opts []kgo.Opt, f Filter, p *Progress) (Selection, error) {
	ranges, err := offsetRanges(ctx, opts, f.Since)
	if err != nil {
		return Selection{}, err
	}
	next := map[int32]int64{} // partition → next offset to read, while short of its end
	assign := map[int32]kgo.Offset{}
	for part, r := range ranges {
		if r.start < r.end {
			next[part] = r.start
			assign[part] = kgo.NewOffset().At(r.start)
			p.Start(r.end - r.start)
		}
	}
	if len(next) == 0 {
		return Selection{}, nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topology.DeadLetters: assign}),
		// Control records are delivered too, so every offset up to the end
		// is seen and a transaction marker at the end cannot hold the scan.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return Selection{}, fmt.Errorf("dead-letter consumer: %w", err)
	}
	defer cl.Close()

	keep := &newestFirst{}
	var sel Selection
	for len(next) > 0 {
		poll, cancel := context.WithTimeout(ctx, StallTimeout)
		fs := cl.PollFetches(poll)
		cancel()
		if ctx.Err() != nil {
			return sel, ctx.Err()
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return sel, fmt.Errorf("read %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		if fs.NumRecords() == 0 && errors.Is(poll.Err(), context.DeadlineExceeded) {
			return sel, stalled(next, ranges)
		}
		fs.EachRecord(func(r *kgo.Record) {
			want, reading := next[r.Partition]
			if !reading || r.Offset < want {
				return
			}
			end := ranges[r.Partition].end
			if r.Offset < end {
				p.Add(r.Offset + 1 - want)
				if !r.Attrs.IsControl() {
					sel.Read++
					if d := FromRecord(r); f.Match(d) {
						sel.Matched++
						keep.offer(d, f.Limit)
					}
				}
			}
			next[r.Partition] = r.Offset + 1
			if r.Offset+1 >= end {
				delete(next, r.Partition)
				cl.PauseFetchPartitions(map[string][]int32{topology.DeadLetters: {r.Partition}})
			}
		})
	}
	sel.Records = keep.oldestFirst()
	return sel, nil
}

type offsetRange struct{ start, end int64 }

// offsetRanges lists, per partition of the dead-letter topic, where a scan
// starts (the log start, or the first offset at or after since) and its end
// offset now.
func offsetRanges(ctx context.Context, opts []kgo.Opt, since time.Time) (map[int32]offsetRange, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	list, cancel := context.WithTimeout(ctx, StallTimeout)
	defer cancel()
	ends, err := adm.ListEndOffsets(list, topology.DeadLetters)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the offsets of %s: %w (check KAFKA_BOOTSTRAP_SERVERS and the security settings; \"aistream topics apply\" creates the topic)", topology.DeadLetters, err)
	}
	var starts kadm.ListedOffsets
	if since.IsZero() {
		starts, err = adm.ListStartOffsets(list, topology.DeadLetters)
	} else {
		starts, err = adm.ListOffsetsAfterMilli(list, since.UnixMilli(), topology.DeadLetters)
	}
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the offsets of %s: %w", topology.DeadLetters, err)
	}
	out := map[int32]offsetRange{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(o.Topic, o.Partition)
		out[o.Partition] = offsetRange{start: s.Offset, end: o.Offset}
	})
	return out, nil
}

func stalled(next map[int32]int64, ranges map[int32]offsetRange) error {
	parts := make([]int32, 0, len(next))
	for p := range next {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var where []string
	for _, p := range parts {
		where = append(where, fmt.Sprintf("partition %d at offset %d of %d", p, next[p], ranges[p].end))
	}
	return fmt.Errorf("read %s: no record for %s (%s): check that the brokers are reachable and try again", topology.DeadLetters, StallTimeout, strings.Join(where, ", "))
}

// newestFirst is a heap of dead letters with the newest on top, so that
// offering one more and dropping the top keeps the oldest.
type newestFirst []DeadLetter

func (h newestFirst) Len() int           { return len(h) }
func (h newestFirst) Less(i, j int) bool { return before(h[j], h[i]) }
func (h newestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *newestFirst) Push(x any)        { *h = append(*h, x.(DeadLetter)) }
func (h *newestFirst) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}

// offer keeps d if it is among the limit oldest offered so far. What is kept
// is copied: a record's bytes share the buffer of its whole fetch.
func (h *newestFirst) offer(d DeadLetter, limit int) {
	if h.Len() >= limit {
		if !before(d, (*h)[0]) {
			return
		}
		heap.Pop(h)
	}
	d.Key, d.Value = bytes.Clone(d.Key), bytes.Clone(d.Value) // nil stays nil
	heap.Push(h, d)
}

// oldestFirst empties the heap into a slice, oldest first.
func (h *newestFirst) oldestFirst() []DeadLetter {
	out := make([]DeadLetter, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(DeadLetter)
	}
	return out
}
