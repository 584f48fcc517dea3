package quality

import (
	"slices"

	"github.com/aistream/aistream/internal/ids"
)

// maxApplied bounds the event ids a key remembers as applied. Past it, the
// oldest id leaves: an event redelivered after maxApplied newer events of
// its key is counted again. At 8 bytes a digest, the window adds at most
// 4 KiB to a key's encoded state.
const maxApplied = 512

// Applied is a key's window of recently applied event ids, so that an event
// delivered more than once (Kafka is at-least-once: a redelivery after a
// crash or rebalance, or the AI Service retrying a send) is aggregated once.
// Ids are kept as the first 8 bytes of their sha256, so two distinct ids of
// a key collide with probability 2^-64 per pair, and the later one would be
// skipped as a duplicate.
//
// IDs is a ring of at most maxApplied digests: appended while it is not
// full, then IDs[Next] (the oldest) is overwritten. The codec writes it
// oldest first, so equal histories encode to equal bytes.
type Applied struct {
	IDs  []uint64
	Next int
}

// add records eventID, or reports false when it is already in the window.
// A linear scan of 512 words is cheaper than keeping an index in step with
// the ring, and the state is decoded for every event anyway.
func (a *Applied) add(eventID string) bool {
	d := ids.Digest64(eventID)
	if slices.Contains(a.IDs, d) {
		return false
	}
	if len(a.IDs) < maxApplied {
		a.IDs = append(a.IDs, d)
		return true
	}
	a.IDs[a.Next] = d
	a.Next = (a.Next + 1) % maxApplied
	return true
}
