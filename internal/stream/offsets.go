package stream

import (
	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs/bin"
)

// maxOffsets bounds Offsets: a key is fed by its group's inputs and loop.
const maxOffsets = 16

// Offsets are the highest input offsets applied to one key, per topic
// partition, kept in the key's state. A message at or below them is a
// redelivery of one the state already holds — after a crash, a rebalance
// before the commit, or a replay — and goka wrote the local table before
// its changelog and outputs were acknowledged, so they may never have
// reached Kafka: a handler re-emits what the message produced (same ids)
// and rewrites the state, instead of taking it for a duplicate and
// emitting nothing. A duplicate the AI Service sent again has a new offset
// and is deduplicated by event id as before.
type Offsets []Offset

// Offset is the highest offset applied from one topic partition.
type Offset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Redelivered reports whether the message being processed was applied to
// this state already.
func (o Offsets) Redelivered(ctx goka.Context) bool {
	topic, p := string(ctx.Topic()), ctx.Partition()
	for _, x := range o {
		if x.Topic == topic && x.Partition == p {
			return ctx.Offset() <= x.Offset
		}
	}
	return false
}

// Advance records the message being processed as applied.
func (o *Offsets) Advance(ctx goka.Context) {
	topic, p, off := string(ctx.Topic()), ctx.Partition(), ctx.Offset()
	for i := range *o {
		if x := &(*o)[i]; x.Topic == topic && x.Partition == p {
			x.Offset = max(x.Offset, off)
			return
		}
	}
	*o = append(*o, Offset{Topic: topic, Partition: p, Offset: off})
	if len(*o) > maxOffsets {
		*o = (*o)[1:]
	}
}

// At is the position of the message being processed.
func At(ctx goka.Context) Offset {
	return Offset{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset()}
}

// WriteBinary appends o to w as every binary state codec stores an Offset:
// the topic, the partition and the offset.
func (o Offset) WriteBinary(w *bin.Writer) {
	w.String(o.Topic)
	w.Varint(int64(o.Partition))
	w.Varint(o.Offset)
}

// ReadOffset reads an Offset WriteBinary wrote.
func ReadOffset(r *bin.Reader) Offset {
	return Offset{Topic: r.String(), Partition: int32(r.Varint()), Offset: r.Varint()}
}

// WriteBinary appends o to w: its length, then each Offset.
func (o Offsets) WriteBinary(w *bin.Writer) {
	w.Count(len(o))
	for _, x := range o {
		x.WriteBinary(w)
	}
}

// ReadOffsets reads Offsets WriteBinary wrote; none is nil. A length the
// rest of the input cannot hold fails r.
func ReadOffsets(r *bin.Reader) Offsets {
	n := r.Count(3)
	if n == 0 {
		return nil
	}
	o := make(Offsets, n)
	for i := range o {
		o[i] = ReadOffset(r)
	}
	return o
}
