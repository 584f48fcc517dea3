// Package deadletters reads aistream-dead-letters and re-drives selected
// dead letters to the topic they came from, for "aistream dead-letters list"
// and "aistream dead-letters replay".
//
// A dead letter holds the rejected message's original key (null stays null)
// and bytes, and its provenance in headers (stream.DeadLetter). Re-driving
// produces those bytes under that key to the source topic again, so a
// message rejected by a bug or a schema aistream did not know yet is
// processed once the fix is deployed. Every processor deduplicates by
// event_id, so a message re-driven twice, or one that had reached other
// groups reading the same topic, changes nothing the second time.
//
// What the package keeps in memory is bounded by Filter.Limit: a scan reads
// the whole topic range but keeps only the Limit oldest matching dead
// letters.
package deadletters

import (
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Headers a re-driven record carries besides its original key and bytes.
const (
	// HeaderRedrivenFrom names the dead letter it was re-driven from:
	// "aistream-dead-letters/<partition>/<offset>".
	HeaderRedrivenFrom = "aistream-redriven-from"
	// HeaderRedrivenAt is when it was re-driven (RFC 3339, UTC).
	HeaderRedrivenAt = "aistream-redriven-at"
)

// DeadLetter is one record of the dead-letter topic.
type DeadLetter struct {
	Partition int32
	Offset    int64
	// Time is the dead letter's record timestamp: when it was rejected.
	Time time.Time
	// Key is the original key; nil when it was null.
	Key []byte
	// Value is the original bytes (their head when TruncatedFrom > 0); nil
	// for a tombstone.
	Value []byte

	Reason string
	Error  string
	Group  string
	// Source* say where the message was read: its topic, partition and
	// offset (-1 when the header is missing).
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	// TruncatedFrom is the original size when the dead letter holds only the
	// head of the message (it was too large to produce whole; -1 when the
	// header does not say the size), else 0.
	TruncatedFrom int
}

// Truncated reports whether the dead letter holds only the head of the
// message: its bytes are not what was rejected and cannot be re-driven.
func (d DeadLetter) Truncated() bool { return d.TruncatedFrom != 0 }

// ID names the dead letter: "aistream-dead-letters/<partition>/<offset>".
func (d DeadLetter) ID() string {
	return fmt.Sprintf("%s/%d/%d", topology.DeadLetters, d.Partition, d.Offset)
}

// FromRecord reads a dead letter from its record.
func FromRecord(r *kgo.Record) DeadLetter {
	d := DeadLetter{
		Partition: r.Partition, Offset: r.Offset, Time: r.Timestamp.UTC(),
		Key: r.Key, Value: r.Value,
		SourcePartition: -1, SourceOffset: -1,
	}
	nullKey := false
	for _, h := range r.Headers {
		v := string(h.Value)
		switch h.Key {
		case stream.HeaderReason:
			d.Reason = v
		case stream.HeaderError:
			d.Error = v
		case stream.HeaderGroup:
			d.Group = v
		case stream.HeaderTopic:
			d.SourceTopic = v
		case stream.HeaderPartition:
			if p, err := strconv.ParseInt(v, 10, 32); err == nil {
				d.SourcePartition = int32(p)
			}
		case stream.HeaderOffset:
			if o, err := strconv.ParseInt(v, 10, 64); err == nil {
				d.SourceOffset = o
			}
		case stream.HeaderTruncated:
			// Unreadable counts as cut: such bytes must not be re-driven.
			d.TruncatedFrom = -1
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				d.TruncatedFrom = n
			}
		case stream.HeaderNullKey:
			nullKey = true
		}
	}
	// aistream's producer writes a null key and drops the marker; a record
	// that still carries it was written by another producer for a null key.
	if nullKey && len(d.Key) == 0 {
		d.Key = nil
	}
	return d
}

// before orders dead letters oldest first: by record time, then by
// partition and offset, so a selection is the same on every run.
func before(a, b DeadLetter) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.Partition != b.Partition {
		return a.Partition < b.Partition
	}
	return a.Offset < b.Offset
}
