// Package dedupe is aistream's one dedupe window: the ids of the events a
// key has seen that its state does not otherwise hold, bounded, and exact
// for every event newer than what it forgot.
package dedupe

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// Mark is one remembered event: its event time and a 64-bit digest of its
// id (collisions among one key's remembered events are negligible).
type Mark struct {
	At     int64  `json:"at"` // event time, Unix ns
	Digest uint64 `json:"d"`
}

func (m Mark) compare(o Mark) int {
	if m.At != o.At {
		if m.At < o.At {
			return -1
		}
		return 1
	}
	switch {
	case m.Digest < o.Digest:
		return -1
	case m.Digest > o.Digest:
		return 1
	}
	return 0
}

// Window remembers events by event time. Past its bound it forgets the
// oldest (by event time, then digest) and keeps the newest forgotten as
// Floor: an event at or before Floor counts as seen. So a redelivery is
// recognised however many events came since (the window never "turns
// over"); the price is that a genuinely new event older than everything
// the window forgot is taken as a redelivery too — which only happens to a
// key that already went past its bound by the window's size.
type Window struct {
	Marks []Mark `json:"marks,omitempty"` // sorted
	Floor *Mark  `json:"floor,omitempty"`
}

// Digest is the 64-bit digest of an event id.
func Digest(eventID string) uint64 {
	sum := sha256.Sum256([]byte(eventID))
	return binary.BigEndian.Uint64(sum[:8])
}

func mark(eventID string, at time.Time) Mark { return Mark{At: at.UnixNano(), Digest: Digest(eventID)} }

// Seen reports whether the event was added, or is at or before Floor.
func (w *Window) Seen(eventID string, at time.Time) bool {
	m := mark(eventID, at)
	if w.Floor != nil && m.compare(*w.Floor) <= 0 {
		return true
	}
	_, found := slices.BinarySearchFunc(w.Marks, m, Mark.compare)
	return found
}

// Add remembers the event, forgetting the oldest past max.
func (w *Window) Add(eventID string, at time.Time, max int) {
	m := mark(eventID, at)
	i, found := slices.BinarySearchFunc(w.Marks, m, Mark.compare)
	if found {
		return
	}
	w.Marks = slices.Insert(w.Marks, i, m)
	if n := len(w.Marks) - max; n > 0 {
		f := w.Marks[n-1]
		w.Floor = &f
		w.Marks = slices.Delete(w.Marks, 0, n)
	}
}
