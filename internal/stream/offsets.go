package stream

import "github.com/lovoo/goka"

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
