package stream

import (
	"github.com/lovoo/goka"

	"github.com/aistream/aistream/topology"
)

// Misplaced reports whether the message being processed must be re-keyed
// (looped back) before it may touch the state of key: it arrived under
// another key, or on a partition the AI Service's murmur2 partitioner would
// not choose for key among partitions (e.g. produced by librdkafka/kcat,
// whose default partitioner is CRC32-based). State written from a misplaced
// message would sit where no view finds it.
func Misplaced(ctx goka.Context, key string, partitions int32) bool {
	return ctx.Key() != key || ctx.Partition() != topology.PartitionFor([]byte(key), partitions)
}
