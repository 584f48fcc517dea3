package codecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aistream/aistream/codecs"
)

const (
	validDir   = "../testdata/events/valid"
	invalidDir = "../testdata/events/invalid"
)

// readDir returns the contents of every example file in dir by name,
// skipping documentation.
func readDir(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func decode(t *testing.T, dir, name string) *codecs.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := codecs.Decoder{}.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestValidExamplesCoverEveryType(t *testing.T) {
	files := readDir(t, validDir)
	var names []string
	for n := range files {
		names = append(names, strings.TrimSuffix(n, ".json"))
	}
	sort.Strings(names)
	if want := codecs.KnownTypes(); !reflect.DeepEqual(names, want) {
		t.Fatalf("valid examples %v, want one per known type %v", names, want)
	}
}

func TestDecodeValidExamples(t *testing.T) {
	const trace = "trace-7f3a9c"
	cases := []struct {
		eventType string
		eventID   string
		timestamp string
		want      any
	}{
		{codecs.TypeFeedback, "evt-fb-0001", "2025-03-15T10:00:05Z", &codecs.Feedback{
			ResponseID: "resp-42b1", TraceID: trace, SessionID: "sess-19d2", UserID: "user-1001",
			Agent: "sql-agent", Model: "gpt-4o", Thumbs: "down", Score: ptr(2),
			Categories: []string{"incorrect", "incomplete"},
			Comment:    "The revenue total ignores refunds issued in March.",
		}},
		{codecs.TypeThinking, "evt-th-0001", "2025-03-15T10:00:01Z", &codecs.Thinking{
			TraceID: trace, SpanID: "span-02", Agent: "sql-agent", Step: 1, Kind: "plan",
			Content: "The user wants March revenue by day. I need sales.orders joined with sales.refunds, grouped by order date.",
			Tokens:  57,
		}},
		{codecs.TypeDecision, "evt-dc-0001", "2025-03-15T10:00:00Z", &codecs.Decision{
			TraceID: trace, DecisionID: "dec-01", SpanID: "span-01", Agent: "router", DecisionType: "route",
			Chosen:       "sql-agent",
			Alternatives: []codecs.Alternative{{Option: "rag-agent", Score: 0.31}, {Option: "chat-agent", Score: 0.12}},
			Confidence:   0.87, Reason: "The question asks for an aggregate over tabular sales data.",
		}},
		{codecs.TypeSpan, "evt-sp-0002", "2025-03-15T10:00:03Z", &codecs.Span{
			TraceID: trace, SpanID: "span-02", ParentSpanID: "span-01", Agent: "sql-agent", Name: "generate_sql",
			Status: "ok", StartTime: codecs.NewTime(ts("2025-03-15T10:00:01Z")), EndTime: codecs.NewTime(ts("2025-03-15T10:00:03.25Z")),
			Model: "gpt-4o", TokensIn: 812, TokensOut: 96,
		}},
		{codecs.TypeMetrics, "evt-mt-0001", "2025-03-15T10:00:04Z", &codecs.Metrics{
			Agent: "sql-agent", Model: "gpt-4o", TraceID: trace, LatencyMS: 2250.5, TokensIn: 812, TokensOut: 96,
			CostUSD: 0.00426, Status: "ok", QualityScore: ptr(0.92),
		}},
		{codecs.TypeLineage, "evt-ln-0001", "2025-03-15T10:00:03Z", &codecs.Lineage{
			QueryID: "q-5521",
			SQL:     "INSERT INTO analytics.daily_revenue (day, revenue) SELECT o.order_date, SUM(o.amount) - COALESCE(SUM(r.amount), 0) FROM sales.orders o LEFT JOIN sales.refunds r ON r.order_id = o.id GROUP BY o.order_date",
			Dialect: "postgres", Sources: []string{"sales.orders", "sales.refunds"}, Targets: []string{"analytics.daily_revenue"},
			Columns: []codecs.ColumnMapping{
				{Target: codecs.ColumnRef{Dataset: "analytics.daily_revenue", Column: "day"},
					Sources: []codecs.ColumnRef{{Dataset: "sales.orders", Column: "order_date"}}},
				{Target: codecs.ColumnRef{Dataset: "analytics.daily_revenue", Column: "revenue"},
					Sources: []codecs.ColumnRef{{Dataset: "sales.orders", Column: "amount"}, {Dataset: "sales.refunds", Column: "amount"}}},
			},
			UserID: "user-1001", TraceID: trace, Status: "success",
		}},
		{codecs.TypeAudit, "evt-au-0001", "2025-03-15T10:00:06Z", &codecs.Audit{
			Actor: "user-1001", Action: "view.read", Resource: "views/agent-quality", Outcome: "success",
			Details: map[string]string{"view": "agent-quality", "ip": "10.0.4.17"},
		}},
	}
	for _, c := range cases {
		t.Run(c.eventType, func(t *testing.T) {
			ev := decode(t, validDir, c.eventType+".json")
			if ev.EventType != c.eventType || ev.EventID != c.eventID || ev.TenantID != "acme-corp" || ev.Source != "ai-service" {
				t.Errorf("envelope = %s/%s/%s/%s", ev.EventType, ev.EventID, ev.TenantID, ev.Source)
			}
			if want := ts(c.timestamp); !ev.Timestamp.Equal(want) {
				t.Errorf("timestamp = %v, want %v", ev.Timestamp, want)
			}
			if reflect.TypeOf(ev.Payload) != reflect.TypeOf(c.want) {
				t.Fatalf("payload is %T, want %T", ev.Payload, c.want)
			}
			if !reflect.DeepEqual(ev.Payload, c.want) {
				t.Errorf("payload\n got %+v\nwant %+v", ev.Payload, c.want)
			}
		})
	}

	// Derived values of the examples.
	if fb := decode(t, validDir, "feedback.submitted.json").Payload.(*codecs.Feedback); fb.Positive() || !fb.HasCategory("incomplete") || fb.HasCategory("unsafe") {
		t.Errorf("feedback: Positive=%v HasCategory(incomplete)=%v", fb.Positive(), fb.HasCategory("incomplete"))
	}
	if sp := decode(t, validDir, "agent.span.json").Payload.(*codecs.Span); sp.LatencyMS() != 2250 {
		t.Errorf("span LatencyMS = %v, want 2250", sp.LatencyMS())
	}
}

func ptr[T any](v T) *T { return &v }

// invalidCases maps every file of testdata/events/invalid to why it must be
// rejected.
var invalidCases = map[string]struct {
	reason codecs.Reason
	field  string
}{
	"empty.bin":                             {codecs.ReasonNotJSON, ""},
	"not_json.bin":                          {codecs.ReasonNotJSON, ""},
	"truncated.bin":                         {codecs.ReasonNotJSON, ""},
	"top_level_array.json":                  {codecs.ReasonWrongType, ""},
	"missing_event_id.json":                 {codecs.ReasonMissingField, "event_id"},
	"event_id_wrong_type.json":              {codecs.ReasonWrongType, "event_id"},
	"empty_tenant.json":                     {codecs.ReasonMissingField, "tenant_id"},
	"tenant_bad_chars.json":                 {codecs.ReasonInvalidValue, "tenant_id"},
	"missing_timestamp.json":                {codecs.ReasonMissingField, "timestamp"},
	"bad_timestamp.json":                    {codecs.ReasonBadTimestamp, "timestamp"},
	"timestamp_year_out_of_range.json":      {codecs.ReasonBadTimestamp, "timestamp"},
	"timestamp_before_1970.json":            {codecs.ReasonBadTimestamp, "timestamp"},
	"metrics_cost_too_large.json":           {codecs.ReasonInvalidValue, "data.cost_usd"},
	"metrics_error_type_too_long.json":      {codecs.ReasonInvalidValue, "data.error_type"},
	"span_trace_id_too_long.json":           {codecs.ReasonInvalidValue, "data.trace_id"},
	"unknown_event_type.json":               {codecs.ReasonUnknownType, "event_type"},
	"missing_data.json":                     {codecs.ReasonMissingField, "data"},
	"data_not_object.json":                  {codecs.ReasonWrongType, "data"},
	"wrong_type_score.json":                 {codecs.ReasonWrongType, "data.score"},
	"feedback_no_rating.json":               {codecs.ReasonMissingField, "data.thumbs"},
	"feedback_score_out_of_range.json":      {codecs.ReasonInvalidValue, "data.score"},
	"feedback_unknown_category.json":        {codecs.ReasonInvalidValue, "data.categories[1]"},
	"thinking_negative_step.json":           {codecs.ReasonInvalidValue, "data.step"},
	"thinking_empty_content.json":           {codecs.ReasonMissingField, "data.content"},
	"decision_confidence_out_of_range.json": {codecs.ReasonInvalidValue, "data.confidence"},
	"span_bad_start_time.json":              {codecs.ReasonBadTimestamp, "data.start_time"},
	"span_end_before_start.json":            {codecs.ReasonInvalidValue, "data.end_time"},
	"span_error_without_type.json":          {codecs.ReasonMissingField, "data.error.type"},
	"metrics_negative_latency.json":         {codecs.ReasonInvalidValue, "data.latency_ms"},
	"metrics_error_without_type.json":       {codecs.ReasonMissingField, "data.error_type"},
	"lineage_no_datasets.json":              {codecs.ReasonMissingField, "data.sources"},
	"audit_bad_outcome.json":                {codecs.ReasonInvalidValue, "data.outcome"},
	// encoding/json matches keys without case; Python does not.
	"tenant_id_case_variant.json":    {codecs.ReasonInvalidValue, "TENANT_ID"},
	"decision_key_case_variant.json": {codecs.ReasonInvalidValue, "data.alternatives[1].Score"},
	// Python's json.loads(value.decode("utf-8")) fails on bytes that are not
	// UTF-8, which Go would read as U+FFFD; and reads a lone surrogate Go
	// would read as U+FFFD.
	"feedback_comment_latin1.bin":      {codecs.ReasonInvalidUTF8, "data.comment"},
	"envelope_source_invalid_utf8.bin": {codecs.ReasonInvalidUTF8, "source"},
	"unknown_field_invalid_utf8.bin":   {codecs.ReasonInvalidUTF8, "data.x_debug.raw[1]"},
	"key_invalid_utf8.bin":             {codecs.ReasonInvalidUTF8, "data"},
	"thinking_lone_surrogate.json":     {codecs.ReasonInvalidUTF8, "data.content"},
	// Go keeps one value or merges repeated objects, Python keeps the last.
	"duplicate_tenant_id.json":         {codecs.ReasonDuplicateKey, "tenant_id"},
	"span_duplicate_trace_id.json":     {codecs.ReasonDuplicateKey, "data.trace_id"},
	"span_duplicate_error.json":        {codecs.ReasonDuplicateKey, "data.error"},
	"unknown_field_duplicate_key.json": {codecs.ReasonDuplicateKey, "data.x_router.weights[0].w"},
	"audit_duplicate_detail.json":      {codecs.ReasonDuplicateKey, "data.details.ip"},
	"duplicate_escaped_key.json":       {codecs.ReasonDuplicateKey, "data.step"},
	// Python's json.loads skips only JSON whitespace; Go's bytes.TrimSpace
	// more.
	"leading_nbsp.bin": {codecs.ReasonNotJSON, ""},
}

func TestDecodeInvalidExamples(t *testing.T) {
	files := readDir(t, invalidDir)
	for name := range files {
		if _, ok := invalidCases[name]; !ok {
			t.Errorf("%s has no expectation in invalidCases", name)
		}
	}
	for name, want := range invalidCases {
		t.Run(name, func(t *testing.T) {
			b, ok := files[name]
			if !ok {
				t.Fatalf("missing file %s/%s", invalidDir, name)
			}
			ev, err := codecs.Decoder{}.Decode(b)
			if err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
			if ev != nil {
				t.Errorf("rejected but returned an event: %+v", ev)
			}
			var de *codecs.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T (%v) is not a *codecs.DecodeError", err, err)
			}
			if de.Reason != want.reason || de.Field != want.field {
				t.Errorf("got reason %q field %q (%v), want reason %q field %q", de.Reason, de.Field, err, want.reason, want.field)
			}
			if de.Detail == "" {
				t.Errorf("no detail in %v", err)
			}
			if de.Reason == codecs.ReasonInvalidUTF8 {
				if got, want := detailOffset(de), invalidUTF8Offset(b); got != want {
					t.Errorf("%v: names byte %d, want %d", err, got, want)
				}
			}
		})
	}
}

var byteOffset = regexp.MustCompile(`\bbyte (\d+)\b`)

// detailOffset is the byte offset an invalid_utf8 rejection names, or -1.
func detailOffset(de *codecs.DecodeError) int {
	m := byteOffset.FindStringSubmatch(de.Detail)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// invalidUTF8Offset is where b stops being UTF-8, or else where its first
// \u escape of a surrogate is (no example has a pair before a lone one).
func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	if loc := surrogateEscape.FindIndex(b); loc != nil {
		return loc[0]
	}
	return -1
}

var surrogateEscape = regexp.MustCompile(`(?i)\\ud[89a-f]`)

func TestDecodeOversized(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(validDir, "audit.recorded.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (codecs.Decoder{MaxBytes: len(b)}).Decode(b); err != nil {
		t.Fatalf("a message of exactly MaxBytes was rejected: %v", err)
	}
	_, err = codecs.Decoder{MaxBytes: len(b) - 1}.Decode(b)
	var de *codecs.DecodeError
	if !errors.As(err, &de) || de.Reason != codecs.ReasonOversized || de.Field != "" {
		t.Fatalf("got %v, want reason %q", err, codecs.ReasonOversized)
	}
	// The default limit applies when MaxBytes is 0.
	big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), codecs.DefaultMaxBytes)...), `"}`...)
	_, err = codecs.Decoder{}.Decode(big)
	if !errors.As(err, &de) || de.Reason != codecs.ReasonOversized {
		t.Fatalf("got %v, want reason %q under the default limit", err, codecs.ReasonOversized)
	}
}

// A null record value (a tombstone) is told apart from an empty one.
func TestDecodeNullValue(t *testing.T) {
	for in, want := range map[string]struct {
		value  []byte
		reason codecs.Reason
	}{
		"null":  {nil, codecs.ReasonNullValue},
		"empty": {[]byte{}, codecs.ReasonNotJSON},
	} {
		ev, err := codecs.Decoder{}.Decode(want.value)
		var de *codecs.DecodeError
		if ev != nil || !errors.As(err, &de) || de.Reason != want.reason {
			t.Errorf("%s value: got %v, %v; want reason %q", in, ev, err, want.reason)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for name, b := range readDir(t, validDir) {
		t.Run(name, func(t *testing.T) {
			ev, err := codecs.Decoder{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			out, err := codecs.Encode(ev.Envelope, ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			again, err := codecs.Decoder{}.Decode(out)
			if err != nil {
				t.Fatalf("re-decode of %s: %v", out, err)
			}
			if err := sameEvent(ev, again); err != nil {
				t.Fatal(err)
			}
			// The encoding is semantically the example itself.
			var want, got any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("encoding differs from the example\n got %s\nwant %s", out, b)
			}
		})
	}

	// From typed values, as aistream itself publishes (audit events).
	env := codecs.Envelope{EventID: "evt-1", EventType: codecs.TypeAudit, TenantID: "acme-corp",
		Timestamp: codecs.NewTime(ts("2025-03-15T11:00:00+01:00")), Source: "aistream"}
	p := &codecs.Audit{Actor: "svc", Action: "view.read", Resource: "views/x", Outcome: "denied"}
	out, err := codecs.Encode(env, p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event_id":"evt-1","event_type":"audit.recorded","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"aistream","data":{"actor":"svc","action":"view.read","resource":"views/x","outcome":"denied"}}`
	if string(out) != want {
		t.Fatalf("Encode\n got %s\nwant %s", out, want)
	}
	ev, err := codecs.Decoder{}.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Payload, p) || !ev.Timestamp.Equal(env.Timestamp.Time) {
		t.Fatalf("round trip: %+v", ev)
	}
}

// sameEvent compares two decoded events: envelope fields (timestamps as
// instants; Data is the raw bytes, which legitimately differ) and payloads.
func sameEvent(a, b *codecs.Event) error {
	ea, eb := a.Envelope, b.Envelope
	if ea.EventID != eb.EventID || ea.EventType != eb.EventType || ea.TenantID != eb.TenantID || ea.Source != eb.Source {
		return fmt.Errorf("envelope %+v != %+v", ea, eb)
	}
	if !ea.Timestamp.Equal(eb.Timestamp.Time) {
		return fmt.Errorf("timestamp %v != %v", ea.Timestamp, eb.Timestamp)
	}
	pa, pb := normalize(a.Payload), normalize(b.Payload)
	if !reflect.DeepEqual(pa, pb) {
		return fmt.Errorf("payload\n%#v\n!=\n%#v", pa, pb)
	}
	return nil
}

// normalize returns a copy of a payload with its times in UTC (an instant
// decoded with a zone offset equals the same instant decoded from its UTC
// encoding) and empty slices and maps nil (omitempty drops them).
func normalize(p any) any {
	v := reflect.New(reflect.TypeOf(p)).Elem()
	v.Set(deepCopy(reflect.ValueOf(p)))
	return v.Interface()
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Struct:
		if t, ok := v.Interface().(codecs.Time); ok {
			return reflect.ValueOf(codecs.NewTime(t.UTC()))
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return c
	}
	return v
}

func TestDecodeKeysAreCaseSensitive(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(validDir, "agent.span.json"))
	if err != nil {
		t.Fatal(err)
	}
	span := string(b)
	cases := []struct {
		old, new, field string
	}{
		{`"source"`, `"Source"`, "Source"},
		{`"source"`, `"\u017fource"`, "\u017fource"}, // ſ folds to s in encoding/json
		{`"source"`, `"source": "x", "SOURCE"`, "SOURCE"},
		{`"data"`, `"Data"`, "Data"},
		{`"span_id": "span-02"`, `"span_id": "span-02", "Span_Id": "span-99"`, "data.Span_Id"},
		{`"status": "ok"`, `"status": "error", "error": {"TYPE": "timeout"}`, "data.error.TYPE"},
	}
	for _, c := range cases {
		in := strings.Replace(span, c.old, c.new, 1)
		var want string
		if err := json.Unmarshal([]byte(`"`+c.field+`"`), &want); err != nil {
			t.Fatal(err)
		}
		_, err := codecs.Decoder{}.Decode([]byte(in))
		var de *codecs.DecodeError
		if !errors.As(err, &de) || de.Reason != codecs.ReasonInvalidValue || de.Field != want {
			t.Errorf("%s → %s: got %v, want %s on %q", c.old, c.new, err, codecs.ReasonInvalidValue, want)
		}
	}

	// Keys that name no field, and keys of maps, may be anything.
	for _, in := range []string{
		strings.Replace(span, `"model"`, `"x_extra": {"Model": [{"SPAN_ID": 1}]}, "model"`, 1),
		strings.Replace(span, `"trace_id"`, `"TraceID": "t", "trace_id"`, 1),
	} {
		if _, err := (codecs.Decoder{}).Decode([]byte(in)); err != nil {
			t.Errorf("rejected %s: %v", in, err)
		}
	}
	audit, err := os.ReadFile(filepath.Join(validDir, "audit.recorded.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Replace(string(audit), `"view":`, `"Actor": "a", "OUTCOME": "b", "view":`, 1)
	ev, err := codecs.Decoder{}.Decode([]byte(in))
	if err != nil {
		t.Fatalf("detail keys are free: %v", err)
	}
	if d := ev.Payload.(*codecs.Audit).Details; d["Actor"] != "a" || d["OUTCOME"] != "b" {
		t.Errorf("details = %v", d)
	}
}

func TestTimeJSON(t *testing.T) {
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC), `"2025-03-15T10:00:00Z"`},
		{time.Date(2025, 3, 15, 11, 0, 0, 0, time.FixedZone("CET", 3600)), `"2025-03-15T10:00:00Z"`},
		{time.Date(2025, 3, 15, 5, 30, 0, 0, time.FixedZone("", -(4*3600+30*60))), `"2025-03-15T10:00:00Z"`},
		{time.Date(2025, 3, 15, 10, 0, 0, 250_000_000, time.UTC), `"2025-03-15T10:00:00.25Z"`},
		{time.Date(2025, 3, 15, 10, 0, 0, 1, time.UTC), `"2025-03-15T10:00:00.000000001Z"`},
	}
	for _, c := range cases {
		b, err := json.Marshal(codecs.NewTime(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%v: got %s, want %s", c.in, b, c.want)
		}
		var back codecs.Time
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(c.in) || codecs.CheckTime("t", back, true) != nil {
			t.Errorf("%s: read back %v (%v)", b, back, err)
		}
	}

	// A year RFC 3339 cannot express is refused, not written as garbage.
	if b, err := json.Marshal(codecs.NewTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))); err == nil {
		t.Errorf("year 10000 written as %s", b)
	}

	bad := map[string]codecs.Reason{
		`"2025-03-15"`:                codecs.ReasonBadTimestamp,
		`1742032800`:                  codecs.ReasonBadTimestamp,
		`"2025-03-15T10:00:00"`:       codecs.ReasonBadTimestamp,
		`"0000-01-01T00:00:00+01:00"`: codecs.ReasonBadTimestamp,
		`null`:                        codecs.ReasonMissingField,
	}
	for in, reason := range bad {
		var tm codecs.Time
		if err := json.Unmarshal([]byte(in), &tm); err != nil {
			t.Fatalf("%s: Unmarshal must not fail, got %v", in, err)
		}
		err := codecs.CheckTime("start_time", tm, true)
		var de *codecs.DecodeError
		if !errors.As(err, &de) || de.Reason != reason || de.Field != "start_time" {
			t.Errorf("%s: CheckTime = %v, want %s on start_time", in, err, reason)
		}
	}
}

// TestDecodeAsPythonReadsBytes: what Python's json.loads(value.decode("utf-8"))
// would fail on or read differently is rejected, whatever field it is in;
// UTF-8 it reads the same is accepted.
func TestDecodeAsPythonReadsBytes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(validDir, "agent.span.json"))
	if err != nil {
		t.Fatal(err)
	}
	span := string(b)
	model := `"model": "gpt-4o"`
	manyKeys := func(repeat string) string {
		var sb strings.Builder
		for i := range 40 {
			fmt.Fprintf(&sb, `"k%d": %d, `, i, i)
		}
		return `"x_many": {` + sb.String() + `"` + repeat + `": 1}, ` + model
	}
	cases := []struct {
		name, old, new string
		reason         codecs.Reason // "" when accepted
		field          string
	}{
		{"overlong", model, `"model": "gpt` + "\xc0\xaf" + `4o"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"above U+10FFFF", model, `"model": "` + "\xf4\x90\x80\x80" + `"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"UTF-8 of a surrogate", model, `"model": "` + "\xed\xb0\x80" + `"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"cut sequence", model, `"model": "gpt-4o` + "\xe2\x82" + `"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"lone low surrogate", model, `"model": "\udc00"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"high surrogate then a letter", model, `"model": "\ud83d\u0041"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"high surrogate at the end", model, `"model": "gpt\uD83D"`, codecs.ReasonInvalidUTF8, "data.model"},
		{"after the JSON", "\n}\n", "\n}\n\xff", codecs.ReasonInvalidUTF8, ""},
		{"after a syntax error", `"tokens_out": 96`, `"tokens_out": 96,, "x": "` + "\xff" + `"`, codecs.ReasonInvalidUTF8, ""},
		{"syntax error before a repeated key", `"tokens_out": 96`, `"tokens_out": 96, "model": "x", "y": tru`, codecs.ReasonNotJSON, ""},
		{"repeated among many keys", model, manyKeys("k7"), codecs.ReasonDuplicateKey, "data.x_many.k7"},
		{"repeated key in an array's object", model, `"x": [{}, {"a": {"b": 1, "b": 2}}], ` + model, codecs.ReasonDuplicateKey, "data.x[1].a.b"},
		{"repeated key, one escaped with a pair", model, `"x": {"😀": 1, "\ud83d\ude00": 2}, ` + model, codecs.ReasonDuplicateKey, "data.x.😀"},
		{"first finding wins", model, `"x": {"a": 1, "a": 2}, "model": "\udc00"`, codecs.ReasonDuplicateKey, "data.x.a"},
		{"vertical tab", "{\n", "\v{\n", codecs.ReasonNotJSON, ""},
		{"trailing NEL", "\n}\n", "\n}\u0085", codecs.ReasonNotJSON, ""},

		{"many distinct keys", model, manyKeys("k40"), "", ""},
		{"same key in sibling objects", model, `"x": [{"a": 1}, {"a": 1}], "y": {"a": {"a": 1}}, ` + model, "", ""},
		{"keys that differ in case", model, `"x": {"a": 1, "A": 2}, ` + model, "", ""},
		{"multi-byte text", model, `"model": "日本語 naïve 👩‍💻 ` + "\U0010FFFF" + `"`, "", ""},
		{"escaped surrogate pair", model, `"model": "\ud83d\ude00 \uD834\uDD1E"`, "", ""},
		{"replacement character as written", model, `"model": "\ufffd ` + "\uFFFD" + `"`, "", ""},
		{"JSON whitespace", "{\n", " \t\r\n{\n", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(span, c.old) {
				t.Fatalf("%q is not in the example", c.old)
			}
			in := []byte(strings.Replace(span, c.old, c.new, 1))
			_, err := codecs.Decoder{}.Decode(in)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("rejected %q: %v", in, err)
				}
				return
			}
			var de *codecs.DecodeError
			if !errors.As(err, &de) || de.Reason != c.reason || de.Field != c.field {
				t.Fatalf("got %v, want %s on %q", err, c.reason, c.field)
			}
			if c.reason == codecs.ReasonInvalidUTF8 {
				if got, want := detailOffset(de), invalidUTF8Offset(in); got != want {
					t.Errorf("%v: names byte %d, want %d", err, got, want)
				}
			}
		})
	}
}

// The nesting limit of encoding/json still holds: every decoder after the
// check sees only what json.Valid accepts.
func TestDecodeNestingLimit(t *testing.T) {
	const limit = 10000
	deep := func(n int) []byte {
		return []byte(`{"x":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	for _, n := range []int{limit, limit + 1} {
		in := deep(n)
		_, err := codecs.Decoder{}.Decode(in)
		var de *codecs.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("depth %d: %v", n, err)
		}
		if notJSON := de.Reason == codecs.ReasonNotJSON; notJSON == json.Valid(in) {
			t.Errorf("depth %d: json.Valid = %v, Decode: %v", n, json.Valid(in), err)
		}
	}
}
