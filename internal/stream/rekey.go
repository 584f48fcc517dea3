package stream

import (
	"github.com/lovoo/goka"

	"github.com/aistream/aistream/topology"
)

// Misplaced reports whether the message being processed must be re-keyed
// (looped back) before it may touch the state of key: it arrived under
// another key, or on a partition the AI Service's murmur2 partitioner would
// not choose for key among the topic's partitions (e.g. produced by
// librdkafka/kcat, whose default partitioner is CRC32-based). State written
// from a misplaced message would sit where no view finds it. Only the key is
// checked on aistream's internal topics: aistream's own producer placed them.
func Misplaced(ctx goka.Context, key string) bool {
	if ctx.Key() != key {
		return true
	}
	n, ok := topology.PartitionsOf(string(ctx.Topic()))
	return ok && ctx.Partition() != topology.PartitionFor([]byte(key), n)
}
