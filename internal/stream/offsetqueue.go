package stream

import (
	"sort"
	"sync"
)

// offsetQueue holds the offsets one claim delivered, oldest first, until the
// oldest is done: the offset a partition may commit is the first delivered
// one not yet done, never past it. goka finishes messages out of order (one
// whose emits are slow finishes after the next, which emits nothing), and
// sarama commits whatever higher offset it is given; committing only the
// done prefix is what keeps a crash from skipping the slow message.
//
// A ring buffer, not a map: one entry per message in flight, reused.
type offsetQueue struct {
	mu   sync.Mutex
	ring []queued // length a power of two
	head int      // index of the oldest entry
	n    int      // entries in the ring
	next int64    // offset after the last delivered one
}

type queued struct {
	offset int64
	done   bool
}

func newOffsetQueue() *offsetQueue { return &offsetQueue{ring: make([]queued, 64)} }

// push records a delivered offset; offsets arrive in increasing order.
func (q *offsetQueue) push(offset int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == len(q.ring) {
		grown := make([]queued, 2*len(q.ring))
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)&(len(q.ring)-1)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = queued{offset: offset}
	q.n++
	q.next = offset + 1
}

// done marks offset as processed. When that lets the committable offset
// advance, commit is called with the new one, under the queue's lock so
// that successive commits reach the session in order. An offset the queue
// never delivered (or already marked) is ignored: committing less is safe.
func (q *offsetQueue) done(offset int64, commit func(next int64)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	mask := len(q.ring) - 1
	i := sort.Search(q.n, func(i int) bool { return q.ring[(q.head+i)&mask].offset >= offset })
	if i == q.n || q.ring[(q.head+i)&mask].offset != offset {
		return
	}
	q.ring[(q.head+i)&mask].done = true
	if i != 0 {
		return
	}
	for q.n > 0 && q.ring[q.head].done {
		q.head = (q.head + 1) & mask
		q.n--
	}
	if q.n > 0 {
		commit(q.ring[q.head].offset)
		return
	}
	commit(q.next)
}
