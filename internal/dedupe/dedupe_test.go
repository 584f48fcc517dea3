package dedupe

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

// A bounded ring forgets: after max newer events a redelivered old one is
// taken as new. The window never does: what it forgot is at or before its
// floor, and a new event newer than the floor is still new.
func TestWindowRecognisesRedeliveryAfterItsBound(t *testing.T) {
	var w Window
	const max = 8
	for i := range 100 {
		w.Add(fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Second), max)
	}
	if len(w.Marks) != max {
		t.Fatalf("%d marks, want %d", len(w.Marks), max)
	}
	for i := range 100 {
		if !w.Seen(fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("e%d not recognised", i)
		}
	}
	if w.Seen("new", t0.Add(200*time.Second)) {
		t.Error("a new event newer than the floor counts as seen")
	}
	if w.Seen("e99", t0.Add(300*time.Second)) {
		t.Error("same id, other time: a different event")
	}
}
