package audit_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/audit"
)

func fullBucket() *audit.Bucket {
	at := time.Date(2025, 3, 15, 10, 0, 0, 123456789, time.UTC)
	return &audit.Bucket{
		Events: []audit.Entry{
			{EventID: "aud-3", Time: at.Add(2 * time.Second), Source: "aistream", Actor: "tok-1", Action: "read", Resource: "GET /v1/traces/t-1",
				Outcome: "success", Details: map[string]string{"status": "200", "route": "/v1/traces/{trace_id}", "": "empty key"}},
			{EventID: "aud-2", Time: at.Add(time.Second), Source: "aistream", Actor: "tok-1", Action: "read", Resource: "GET /v1/traces/t-2", Outcome: "success"},
			{EventID: "aud-1", Time: at, Source: "ai-service", Actor: "", Action: "response.delivered", Resource: "", Outcome: "denied",
				Details: map[string]string{"reason": "ünïcode ✓"}},
		},
		Dropped: 7,
		Tenants: []string{"acme", "globex"},
		Offsets: stream.Offsets{{Topic: "audit-events", Partition: 3, Offset: 1 << 40}, {Topic: "loop", Partition: 0, Offset: 0}},
	}
}

func TestCodecRoundTripsEveryFieldAndIsDeterministic(t *testing.T) {
	b := fullBucket()
	raw, err := audit.Codec{}.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.Codec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, b) {
		t.Fatalf("decoded bucket differs:\n got %+v\nwant %+v", v, b)
	}
	for range 20 { // details maps must not change the bytes
		again, err := audit.Codec{}.Encode(v)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded bucket differs (%v)", err)
		}
	}
	js, _ := json.Marshal(b)
	if len(raw) >= len(js)/2 {
		t.Errorf("binary bucket of %d bytes against %d as JSON: want under half", len(raw), len(js))
	}
	empty, err := audit.Codec{}.Encode(&audit.Bucket{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := (audit.Codec{}).Decode(empty); err != nil || !reflect.DeepEqual(v, &audit.Bucket{}) {
		t.Fatalf("empty bucket decoded to %+v, %v", v, err)
	}
}

func TestCodecReadsTheJSONForm(t *testing.T) {
	b := fullBucket()
	js, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.Codec{}.Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, b) {
		t.Fatalf("bucket from JSON differs:\n got %+v\nwant %+v", v, b)
	}
}

func TestCodecRejectsCutAndForeignValues(t *testing.T) {
	raw, err := audit.Codec{}.Encode(fullBucket())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(raw) {
		if _, err := (audit.Codec{}).Decode(raw[:n]); err == nil {
			t.Fatalf("bucket cut at %d of %d bytes decoded", n, len(raw))
		}
	}
	if _, err := (audit.Codec{}).Decode(append(bytes.Clone(raw), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, err := (audit.Codec{}).Decode(append([]byte{9}, raw[1:]...)); err == nil {
		t.Fatal("unknown version accepted")
	}
	if _, err := (audit.Codec{}).Encode(audit.Bucket{}); err == nil {
		t.Fatal("a non-pointer bucket encoded")
	}
}

func FuzzCodec(f *testing.F) {
	raw, _ := audit.Codec{}.Encode(fullBucket())
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := audit.Codec{}.Decode(b)
		if err != nil || len(b) == 0 || b[0] == '{' {
			return
		}
		again, err := audit.Codec{}.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if v2, err := (audit.Codec{}).Decode(again); err != nil || !reflect.DeepEqual(v2, v) {
			t.Fatalf("re-encoded bucket decodes differently: %v", err)
		}
	})
}
