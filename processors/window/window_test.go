package window

import (
	"encoding/json"
	"testing"
	"time"
)

var (
	t0 = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	w5 = Tumbling{Size: 5 * time.Minute, Grace: time.Minute}
)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func TestStartAlignsToEpochInUTC(t *testing.T) {
	local := time.Date(2025, 3, 15, 11, 7, 30, 0, time.FixedZone("CET", 3600))
	if got, want := w5.Start(local), time.Date(2025, 3, 15, 10, 5, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Start = %v, want %v in UTC", got, want)
	}
	before := time.Unix(-1, 0)
	if got := w5.Start(before); !got.Equal(time.Unix(-300, 0)) {
		t.Fatalf("Start before the epoch = %v", got)
	}
}

func add(t *testing.T, s *Set[int], ts time.Time) ([]Pane[int], Placement) {
	t.Helper()
	closed, p := s.Observe(w5, ts)
	if !p.Late {
		*s.Pane(p.Start)++
	}
	return closed, p
}

func TestOutOfOrderWithinGraceIsAggregated(t *testing.T) {
	var s Set[int]
	add(t, &s, at(1, 0))
	add(t, &s, at(5, 30)) // next window opens, first still within grace
	closed, p := add(t, &s, at(4, 0))
	if p.Late || len(closed) != 0 {
		t.Fatalf("event 4m into [10:00,10:05) with watermark 10:05:30 = late %v, closed %d; want aggregated", p.Late, len(closed))
	}
	closed, _ = add(t, &s, at(6, 0)) // watermark 10:06 = end + grace
	if len(closed) != 1 || !closed[0].Start.Equal(t0) || closed[0].Agg != 2 {
		t.Fatalf("closed = %+v, want [10:00) with 2 events", closed)
	}
	if len(s.Open) != 1 || s.Open[0].Agg != 2 {
		t.Fatalf("open = %+v, want [10:05) with 2 events", s.Open)
	}
}

func TestLatePastGrace(t *testing.T) {
	var s Set[int]
	add(t, &s, at(1, 0))
	add(t, &s, at(12, 0)) // closes [10:00)
	if _, p := add(t, &s, at(2, 0)); !p.Late || !p.Start.Equal(t0) {
		t.Fatalf("event in closed window: %+v, want late in [10:00)", p)
	}
	// [10:05) never opened but its grace ended at 10:11 <= watermark 10:12.
	if _, p := add(t, &s, at(7, 0)); !p.Late {
		t.Fatal("event in a never-opened window past grace not late")
	}
	if len(s.Open) != 1 || s.Open[0].Agg != 1 {
		t.Fatalf("late events changed open panes: %+v", s.Open)
	}
}

func TestCloseDueClosesOnlyDueWindowsAndMakesLaterEventsLate(t *testing.T) {
	var s Set[int]
	add(t, &s, at(1, 0))
	add(t, &s, at(3, 0))
	add(t, &s, at(5, 30)) // [10:05) opens; [10:00) is within grace
	if closed := s.CloseDue(w5, at(5, 59)); len(closed) != 0 {
		t.Fatalf("CloseDue before end+grace closed %+v", closed)
	}
	closed := s.CloseDue(w5, at(6, 0))
	if len(closed) != 1 || closed[0].Agg != 2 || len(s.Open) != 1 || !s.Watermark.Equal(at(5, 30)) {
		t.Fatalf("CloseDue at end+grace = %+v, open %+v, watermark %v", closed, s.Open, s.Watermark)
	}
	if _, p := add(t, &s, at(4, 0)); !p.Late {
		t.Fatal("event for an idle-closed window (within grace by watermark) not late")
	}
	if _, p := add(t, &s, at(9, 0)); p.Late {
		t.Fatal("event of the still-open window late after idle close")
	}
	if closed := s.CloseDue(w5, at(60, 0)); len(closed) != 1 || closed[0].Agg != 2 || len(s.Open) != 0 {
		t.Fatalf("CloseDue far ahead = %+v, open %d", closed, len(s.Open))
	}
	if _, p := add(t, &s, at(10, 0)); p.Late {
		t.Fatal("event of the next window late after idle close")
	}
}

func TestStartIsExactFarFromTheEpoch(t *testing.T) {
	for _, w := range []Tumbling{w5, {Size: 7 * time.Second}, {Size: 24 * time.Hour}} {
		for _, at := range []time.Time{
			time.Date(2200, 12, 31, 23, 59, 59, 999999999, time.UTC),
			time.Date(2300, 1, 1, 0, 7, 30, 0, time.UTC), // past int64 nanoseconds
			time.Date(9999, 6, 1, 12, 0, 1, 0, time.UTC),
			time.Date(1900, 1, 1, 0, 0, 1, 0, time.UTC),
		} {
			start := w.Start(at)
			// Whole seconds since the epoch, in seconds: exact for these sizes.
			size := int64(w.Size / time.Second)
			if off := at.Sub(start); off < 0 || off >= w.Size || start.Unix()%size != 0 || start.Nanosecond() != 0 {
				t.Errorf("%s window of %v starts %v", w.Size, at, start)
			}
			if !w.End(start).After(at) {
				t.Errorf("%s window of %v ends %v", w.Size, at, w.End(start))
			}
		}
	}
}

func TestOpenPanesAreBoundedAndJSONRoundTrips(t *testing.T) {
	var s Set[int]
	for m := 0; m < 60; m++ {
		add(t, &s, at(m, 0))
		if len(s.Open) > 2 { // ceil(1m/5m)+1
			t.Fatalf("%d panes open at watermark %v", len(s.Open), s.Watermark)
		}
	}
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var back Set[int]
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Watermark.Equal(s.Watermark) || len(back.Open) != len(s.Open) || back.Open[0].Agg != s.Open[0].Agg {
		t.Fatalf("round trip: %+v != %+v", back, s)
	}
}
