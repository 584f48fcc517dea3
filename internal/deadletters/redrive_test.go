package deadletters_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

const feedback = `{"event_id":"evt-1","event_type":"feedback.submitted","tenant_id":"acme","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"response_id":"r","trace_id":"t","session_id":"s","user_id":"u","agent":"a","model":"m","thumbs":"up"}}`

// deadRecord is a dead letter as stream.DeadLetter writes it.
func deadRecord(partition int32, offset int64, key, value []byte, reason codecs.Reason, extra ...kgo.RecordHeader) *kgo.Record {
	return &kgo.Record{
		Topic: topology.DeadLetters, Partition: partition, Offset: offset, Key: key, Value: value,
		Timestamp: time.Date(2025, 3, 15, 10, 0, int(offset), 0, time.UTC),
		Headers: append([]kgo.RecordHeader{
			{Key: stream.HeaderReason, Value: []byte(reason)},
			{Key: stream.HeaderError, Value: []byte(string(reason) + ": handler failed")},
			{Key: stream.HeaderTopic, Value: []byte(topology.FeedbackEvents)},
			{Key: stream.HeaderPartition, Value: []byte("2")},
			{Key: stream.HeaderOffset, Value: []byte("881")},
			{Key: stream.HeaderGroup, Value: []byte("aistream-context-graph")},
		}, extra...),
	}
}

func TestFromRecordReadsTheProvenanceHeaders(t *testing.T) {
	d := deadletters.FromRecord(deadRecord(3, 1042, []byte("t"), []byte(feedback), codecs.ReasonProcessing))
	if d.ID() != "aistream-dead-letters/3/1042" || d.Reason != "processing_failed" || d.Error != "processing_failed: handler failed" ||
		d.SourceTopic != topology.FeedbackEvents || d.SourcePartition != 2 || d.SourceOffset != 881 || d.Group != "aistream-context-graph" || d.Truncated() {
		t.Errorf("FromRecord = %+v", d)
	}
	// Written by a producer that marks a null key instead of writing one.
	marked := deadletters.FromRecord(deadRecord(0, 1, []byte{}, []byte(feedback), codecs.ReasonProcessing, kgo.RecordHeader{Key: stream.HeaderNullKey}))
	if marked.Key != nil {
		t.Errorf("a key marked null is %q, want nil", marked.Key)
	}
	empty := deadletters.FromRecord(deadRecord(0, 1, []byte{}, []byte(feedback), codecs.ReasonProcessing))
	if empty.Key == nil {
		t.Error("an empty key became null")
	}
	cut := deadletters.FromRecord(deadRecord(0, 2, nil, []byte(feedback[:40]), codecs.ReasonOversized, kgo.RecordHeader{Key: stream.HeaderTruncated, Value: []byte("2000000")}))
	if !cut.Truncated() || cut.TruncatedFrom != 2000000 {
		t.Errorf("truncated dead letter: %+v", cut)
	}
}

func TestPlanRefusesWhatCannotBeRedrivenAndRedrivesAMessageOnce(t *testing.T) {
	dl := func(offset int64, key []byte, value string, extra ...kgo.RecordHeader) deadletters.DeadLetter {
		v := []byte(value)
		if value == "(null)" {
			v = nil
		}
		return deadletters.FromRecord(deadRecord(1, offset, key, v, codecs.ReasonProcessing, extra...))
	}
	other := `{"event_id":"evt-2"}`
	sel := []deadletters.DeadLetter{
		dl(1, []byte("t"), feedback),
		dl(2, []byte("t"), feedback), // another group rejected the same message
		dl(3, nil, feedback),         // the same bytes under a null key are another record
		dl(4, []byte("t"), other),
		dl(5, []byte("t"), feedback[:40], kgo.RecordHeader{Key: stream.HeaderTruncated, Value: []byte("2000000")}),
		dl(6, []byte("t"), "(null)"),
		dl(7, []byte("t"), feedback, kgo.RecordHeader{Key: stream.HeaderTopic, Value: []byte(topology.DeadLetters)}),
	}
	sel[6].SourceTopic = topology.DeadLetters
	p := deadletters.NewPlan(sel)
	ids := func(ds []deadletters.DeadLetter) (out []int64) {
		for _, d := range ds {
			out = append(out, d.Offset)
		}
		return out
	}
	for name, c := range map[string]struct{ got, want []int64 }{
		"re-driven":  {ids(p.Redrive), []int64{1, 3, 4}},
		"duplicates": {ids(p.Duplicates), []int64{2}},
		"truncated":  {ids(p.Truncated), []int64{5}},
		"tombstones": {ids(p.Tombstones), []int64{6}},
		"no source":  {ids(p.NoSource), []int64{7}},
	} {
		if len(c.got) != len(c.want) {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
			continue
		}
		for i := range c.got {
			if c.got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", name, c.got, c.want)
			}
		}
	}
	if c := p.Counts(); len(c) != 1 || c[0] != (deadletters.Count{SourceTopic: topology.FeedbackEvents, Reason: "processing_failed", Records: 3}) {
		t.Errorf("Counts = %+v", c)
	}
}

func TestRecordKeepsKeyAndBytesAndMarksTheRedrive(t *testing.T) {
	at := time.Date(2025, 3, 16, 8, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, key := range [][]byte{[]byte("trace-1"), nil, {}} {
		d := deadletters.FromRecord(deadRecord(4, 17, key, []byte(feedback), codecs.ReasonProcessing))
		r := deadletters.Record(d, at)
		if r.Topic != topology.FeedbackEvents || string(r.Value) != feedback || (r.Key == nil) != (key == nil) || string(r.Key) != string(key) {
			t.Errorf("key %q: record topic %s key %q value %q", key, r.Topic, r.Key, r.Value)
		}
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if len(h) != 2 || h[deadletters.HeaderRedrivenFrom] != "aistream-dead-letters/4/17" || h[deadletters.HeaderRedrivenAt] != "2025-03-16T07:30:00Z" {
			t.Errorf("headers %v", h)
		}
	}
}
