// Package window is event-time windowing for goka handlers, which have no
// windows or timers of their own: tumbling windows with a grace period, a
// per-key watermark, late-event detection, and a mergeable latency sketch.
// Everything here is plain data (JSON-serialisable into a group table) and
// pure functions of event times, so a replay closes the same windows.
//
// Semantics, per key:
//   - The watermark is the largest event time seen.
//   - An event belongs to the tumbling window [start, start+Size) containing
//     its time, windows aligned to the Unix epoch (UTC).
//   - A window closes once the watermark reaches end+Grace, or once a time
//     the caller passes to Set.CloseDue does (idle close: a caller that
//     treats a quiet key's wall time as event-time progress).
//   - An event is late when its window has closed, or would have closed had
//     it been opened (end+Grace <= watermark). Late events never reopen a
//     window; the caller decides where to count them.
package window

import (
	"fmt"
	"time"
)

// Tumbling is a tumbling-window definition.
type Tumbling struct {
	Size  time.Duration `json:"size_ns"`
	Grace time.Duration `json:"grace_ns"`
}

// Validate checks the definition.
func (w Tumbling) Validate() error {
	if w.Size <= 0 {
		return fmt.Errorf("window size must be > 0, got %s", w.Size)
	}
	if w.Grace < 0 {
		return fmt.Errorf("grace must be >= 0, got %s", w.Grace)
	}
	return nil
}

// epoch is the Unix epoch, which windows are aligned to.
var epoch = time.Unix(0, 0)

// Start is the start of the window containing t. It is exact for any time
// (no UnixNano, which wraps past the year 2262): time.Truncate aligns to
// the zero time, so t is shifted by the epoch's offset from that alignment.
func (w Tumbling) Start(t time.Time) time.Time {
	off := epoch.Sub(epoch.Truncate(w.Size)) // 0 <= off < Size
	return t.Add(-off).Truncate(w.Size).Add(off).UTC()
}

// End is the (exclusive) end of the window starting at start.
func (w Tumbling) End(start time.Time) time.Time { return start.Add(w.Size) }

// due reports whether the window starting at start may close at watermark wm.
func (w Tumbling) due(start, wm time.Time) bool { return !w.End(start).Add(w.Grace).After(wm) }

// Pane is one open window and its aggregate.
type Pane[A any] struct {
	Start time.Time `json:"start"`
	Agg   A         `json:"agg"`
}

// Set is the windows of one key: its watermark and open panes, oldest first.
//
// Bound: every open pane ends after watermark-Grace and starts at or before
// the watermark, so at most ceil(Grace/Size)+1 panes are open at once.
type Set[A any] struct {
	Watermark time.Time `json:"watermark"`
	// ClosedThrough is the end of the newest closed window: events before it
	// are late whatever closed their window (watermark or idle close).
	ClosedThrough time.Time `json:"closed_through"`
	Open          []Pane[A] `json:"open,omitempty"`
}

// Placement says where an observed event belongs.
type Placement struct {
	Start time.Time // start of the event's window
	Late  bool      // the window has closed; the event must not be aggregated
}

// Observe advances the watermark with event time t and returns the panes
// that close as a result, oldest first, and the event's placement. When the
// event is not late, add it to Pane(p.Start).
func (s *Set[A]) Observe(w Tumbling, t time.Time) (closed []Pane[A], p Placement) {
	t = t.UTC()
	if t.After(s.Watermark) {
		s.Watermark = t
	}
	closed = s.CloseDue(w, s.Watermark)
	start := w.Start(t)
	return closed, Placement{Start: start, Late: start.Before(s.ClosedThrough) || w.due(start, s.Watermark)}
}

// Pane returns the aggregate of the open pane starting at start, opening it
// (zero aggregate) if needed. The pointer is valid until the next call that
// changes the set.
func (s *Set[A]) Pane(start time.Time) *A {
	i := 0
	for i < len(s.Open) && s.Open[i].Start.Before(start) {
		i++
	}
	if i < len(s.Open) && s.Open[i].Start.Equal(start) {
		return &s.Open[i].Agg
	}
	s.Open = append(s.Open, Pane[A]{})
	copy(s.Open[i+1:], s.Open[i:])
	s.Open[i] = Pane[A]{Start: start}
	return &s.Open[i].Agg
}

// CloseDue closes the open panes whose end+Grace is at or before at, oldest
// first, without moving the watermark: for a key gone quiet, whose windows
// the stream's progress would otherwise never close, at is the watermark
// plus the quiet time. Later events for the closed windows are late.
func (s *Set[A]) CloseDue(w Tumbling, at time.Time) []Pane[A] {
	n := 0
	for n < len(s.Open) && w.due(s.Open[n].Start, at) {
		n++
	}
	if n == 0 {
		return nil
	}
	closed := append([]Pane[A](nil), s.Open[:n]...)
	s.Open = append(s.Open[:0:0], s.Open[n:]...)
	if end := w.End(closed[n-1].Start); end.After(s.ClosedThrough) {
		s.ClosedThrough = end
	}
	return closed
}
