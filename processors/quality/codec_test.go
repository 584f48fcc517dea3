package quality

import (
	"bytes"
	"encoding/json"
	"github.com/aistream/aistream/internal/stream"
	"math"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/aistream/aistream/internal/ids"
	"github.com/aistream/aistream/processors/window"
)

// fullState has every field of State set, including floats the compact
// form cannot scale (-0, 1/3, huge) and an unusual closed_by.
func fullState() *State {
	sat, q := 0.75, 3.25
	quiet := t0.Add(90 * time.Second)
	agg := Agg{Requests: 3, Errors: 1, ErrorTypes: map[string]int64{"timeout": 1}, TokensIn: 300, TokensOut: 90,
		CostUSD: 0.1 + 0.2, QualitySum: 7.5, QualityN: 2, Feedback: 2, Positive: 1,
		Categories: map[string]int64{"incorrect": 1, "slow": 2}, LateEvents: 1,
		Models: map[string]*ModelAgg{"gpt": {Requests: 2, Errors: 1, CostUSD: 1.0 / 3}, "claude": {Requests: 1, CostUSD: 1e300}}}
	for _, x := range []float64{0, 12.5, 80, 80, 4e5} {
		agg.Latency.Add(x)
		agg.Models["gpt"].Latency.Add(x)
	}
	w := window.Tumbling{Size: 5 * time.Minute, Grace: time.Minute}
	closed := Summarize(w, t0, &agg)
	closed.ClosedBy = "watermark"
	idle := Summarize(w, t0.Add(-5*time.Minute), &Agg{Requests: 1, CostUSD: math.Copysign(0, -1)})
	idle.ClosedBy = "idle"
	odd := Summarize(w, t0.Add(-10*time.Minute), &Agg{Feedback: 1})
	odd.ClosedBy = "replayed"
	return &State{
		Tenant: tenant, Agent: "planner", Spec: w,
		Windows: window.Set[Agg]{Watermark: t0.Add(6*time.Minute + 1), ClosedThrough: t0.Add(5 * time.Minute),
			Open: []window.Pane[Agg]{{Start: t0.Add(5 * time.Minute), Agg: agg}, {Start: t0.Add(10 * time.Minute)}}},
		Recent: []Closed{closedOf(&closed), closedOf(&idle), closedOf(&odd), {Start: t0.Add(-time.Hour), End: t0, SatisfactionRate: &sat, QualityMean: &q}},
		Base:   Baseline{SatisfactionRate: EWMA{0.9, 4}, LatencyP95: EWMA{123.456789, 7}, ErrorRate: EWMA{-0.5, 1}, CostPerRequest: EWMA{1.0 / 7, 2}},
		Alerts: map[string]*Alert{RuleLatencyP95: {Severity: "critical", InsightID: "abc", Since: t0, Observed: 300, Baseline: 100.25, Threshold: 250.625},
			RuleErrorRateSpike: {Severity: "warning", InsightID: "def", Since: t0.Add(-5 * time.Minute), Observed: 0.4, Baseline: 0.1, Threshold: 0.2}},
		Seen:    map[string]string{"incorrect": "2025-03-15", "error:timeout": "2025-03-15"},
		Late:    5,
		Quiet:   &quiet,
		Applied: Applied{IDs: []uint64{ids.Digest64("evt-1"), ids.Digest64("evt-2"), 1<<64 - 1}},
	}
}

func TestStateCodecRoundTripsEveryFieldExactly(t *testing.T) {
	s := fullState()
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := StateCodec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(*State)
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("decoded state differs:\n got %+v\nwant %+v", got, s)
	}
	if !math.Signbit(got.Recent[1].CostUSD) { // DeepEqual has -0 == 0
		t.Fatal("-0 decoded as 0")
	}
	// Maps must not make equal states encode differently.
	for range 20 {
		again, err := StateCodec{}.Encode(v)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded state differs (%v)", err)
		}
	}
	if len(raw) > 1500 {
		t.Errorf("state of %d bytes: the compact form got larger", len(raw))
	}
}

func TestStateCodecReadsTheEarlierJSONState(t *testing.T) {
	s := fullState()
	legacy, err := json.Marshal(struct {
		*State
		Recent []Summary `json:"recent,omitempty"`
	}{s, s.RecentSummaries()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := StateCodec{}.Decode(legacy)
	if err != nil {
		t.Fatal(err)
	}
	s.Applied = Applied{} // the JSON form had no dedupe window
	if got := v.(*State); !reflect.DeepEqual(got, s) {
		t.Fatalf("state from JSON differs:\n got %+v\nwant %+v", got, s)
	}
}

func TestStateCodecReadsVersion1WithAnEmptyDedupeWindow(t *testing.T) {
	s := fullState()
	s.Applied = Applied{}
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 is version 3 without the trailing window, offsets and
	// outbox (here their counts, 0).
	v1 := append([]byte{1}, raw[1:len(raw)-3]...)
	v, err := StateCodec{}.Decode(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*State); !reflect.DeepEqual(got, s) {
		t.Fatalf("state from version 1 differs:\n got %+v\nwant %+v", got, s)
	}
	if _, err := (StateCodec{}).Decode(raw[:len(raw)-1]); err == nil {
		t.Fatal("version 2 without its dedupe window decoded")
	}
}

func TestStateCodecRejectsTruncatedOrUnknownState(t *testing.T) {
	raw, err := StateCodec{}.Encode(fullState())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(raw) {
		if _, err := (StateCodec{}).Decode(raw[:n]); err == nil {
			t.Fatalf("%d of %d bytes decoded without error", n, len(raw))
		}
	}
	if _, err := (StateCodec{}).Decode(append([]byte{stateVersion + 1}, raw[1:]...)); err == nil {
		t.Fatal("unknown version decoded")
	}
	if _, err := (StateCodec{}).Decode(append(raw, 0)); err == nil {
		t.Fatal("trailing bytes accepted")
	}
}

// BenchmarkStateCodec encodes and decodes a state with a full history (12
// retained windows) and a full dedupe window, what every event costs twice.
func BenchmarkStateCodec(b *testing.B) {
	s := fullState()
	for len(s.Recent) < 12 {
		s.Recent = append(s.Recent, s.Recent[len(s.Recent)%4])
	}
	s.Applied = Applied{}
	for i := range maxApplied {
		s.Applied.add("evt-" + strconv.Itoa(i))
	}
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := (StateCodec{}).Encode(s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "bytes/state")
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := (StateCodec{}).Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "bytes/state")
	})
}

// FuzzStateCodecDecode feeds damaged binary states to the decoder: an error,
// never a panic, and what it accepts encodes to a value it accepts again.
func FuzzStateCodecDecode(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/state-v2.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 && b[0] == '{' {
			return // the earlier JSON form, decoded by encoding/json
		}
		v, err := StateCodec{}.Decode(b)
		if err != nil {
			return
		}
		again, err := StateCodec{}.Encode(v)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		if _, err := (StateCodec{}).Decode(again); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
	})
}

// Version 3 keeps the redelivery offsets and the outbox.
func TestStateCodecKeepsOffsetsAndOutbox(t *testing.T) {
	s := fullState()
	s.Offsets = stream.Offsets{{Topic: "agent-metrics-events", Partition: 2, Offset: 1234567}, {Topic: "p-agent-quality-loop", Offset: 0}}
	s.Outbox = []Sent{{At: s.Offsets[0], Value: []byte(`{"event_id":"i1"}`)}, {At: s.Offsets[1], Value: []byte("x")}}
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := StateCodec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*State); !reflect.DeepEqual(got.Offsets, s.Offsets) || !reflect.DeepEqual(got.Outbox, s.Outbox) {
		t.Fatalf("offsets %+v outbox %+v, want %+v %+v", got.Offsets, got.Outbox, s.Offsets, s.Outbox)
	}
}
