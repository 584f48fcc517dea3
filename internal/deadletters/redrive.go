package deadletters

import (
	"context"
	"crypto/sha256"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/topology"
)

// Plan is what a replay does with a selection.
type Plan struct {
	// Redrive is what is produced again, oldest first.
	Redrive []DeadLetter
	// Truncated are refused: they hold only the head of the message
	// (aistream-truncated-from), so re-driving them would send other bytes
	// than were rejected. The whole message may still be on its source
	// topic at aistream-source-partition/offset.
	Truncated []DeadLetter
	// Tombstones are refused: a record without a value is no event, and
	// would only be rejected again.
	Tombstones []DeadLetter
	// NoSource are refused: they do not say which topic they came from (or
	// name the dead-letter topic itself).
	NoSource []DeadLetter
	// Duplicates are skipped: the same message (source topic, key and bytes)
	// as one in Redrive, e.g. one that two groups reading the same topic
	// both rejected, or a re-drive that failed again and was dead-lettered
	// again. The message is re-driven once.
	Duplicates []DeadLetter
}

// message identifies a message by what a re-drive would produce.
type message struct {
	topic string
	null  bool
	key   string
	value [sha256.Size]byte
}

// NewPlan sorts a selection (oldest first) into what is re-driven and what
// is not.
func NewPlan(sel []DeadLetter) Plan {
	var p Plan
	seen := map[message]bool{}
	for _, d := range sel {
		switch {
		case d.SourceTopic == "" || d.SourceTopic == topology.DeadLetters:
			p.NoSource = append(p.NoSource, d)
		case d.Truncated():
			p.Truncated = append(p.Truncated, d)
		case d.Value == nil:
			p.Tombstones = append(p.Tombstones, d)
		default:
			m := message{topic: d.SourceTopic, null: d.Key == nil, key: string(d.Key), value: sha256.Sum256(d.Value)}
			if seen[m] {
				p.Duplicates = append(p.Duplicates, d)
				continue
			}
			seen[m] = true
			p.Redrive = append(p.Redrive, d)
		}
	}
	return p
}

// Count is how many re-driven dead letters share a source topic and reason.
type Count struct {
	SourceTopic, Reason string
	Records             int
}

// Counts are the re-drives per source topic and reason, sorted by both.
func (p Plan) Counts() []Count {
	n := map[[2]string]int{}
	for _, d := range p.Redrive {
		n[[2]string{d.SourceTopic, d.Reason}]++
	}
	out := make([]Count, 0, len(n))
	for k, c := range n {
		out = append(out, Count{SourceTopic: k[0], Reason: k[1], Records: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SourceTopic != out[j].SourceTopic {
			return out[i].SourceTopic < out[j].SourceTopic
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Record is the record that re-drives d: its source topic, original key
// (nil for a null key) and bytes, and headers naming the dead letter and the
// time. It has no partition: the producer partitions by murmur2 of the key
// as the AI Service does (ClientOptions), and aistream re-keys whatever
// arrives misplaced anyway.
func Record(d DeadLetter, at time.Time) *kgo.Record {
	return &kgo.Record{
		Topic: d.SourceTopic, Key: d.Key, Value: d.Value,
		Headers: []kgo.RecordHeader{
			{Key: HeaderRedrivenFrom, Value: []byte(d.ID())},
			{Key: HeaderRedrivenAt, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
		},
	}
}

// Result is what a re-drive did.
type Result struct {
	Redriven, Failed int
	// Err is the first produce error.
	Err error
}

// Redrive produces the records re-driving ds (Record) and waits for the
// brokers' answers; progress counts answers. If ctx ends, what was not
// produced yet counts as failed.
func Redrive(ctx context.Context, cl *kgo.Client, ds []DeadLetter, at time.Time, progress *Progress) Result {
	progress.Start(int64(len(ds)))
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
	)
	wg.Add(len(ds))
	for _, d := range ds {
		cl.Produce(ctx, Record(d, at), func(_ *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				if res.Err == nil {
					res.Err = err
				}
			} else {
				res.Redriven++
			}
			progress.Add(1)
		})
	}
	wg.Wait()
	return res
}
