package codecs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// pythonRoundTrip has Python json.loads each input line and print it back
// with json.dumps(sort_keys=True, ensure_ascii=False), as UTF-8, one line
// each (json.dumps escapes newlines within strings).
const pythonRoundTrip = `import json, sys
for line in sys.stdin.buffer:
    obj = json.loads(line)
    out = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False)
    sys.stdout.buffer.write(out.encode("utf-8") + b"\n")`

// python3 finds the interpreter; without one the test is skipped, or fails
// when AISTREAM_REQUIRE_PYTHON=1 (kafkatest.RequirePythonEnvVar, which CI
// sets).
func python3(t *testing.T) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("AISTREAM_REQUIRE_PYTHON") == "1" {
			t.Fatalf("python3 is not on PATH: %v", err)
		}
		t.Skip("python3 is not on PATH")
	}
	return python
}

// throughPython sends each document through pythonRoundTrip.
func throughPython(t *testing.T, python string, docs ...[]byte) [][]byte {
	t.Helper()
	var in bytes.Buffer
	for _, d := range docs {
		if bytes.ContainsAny(d, "\r\n") {
			t.Fatalf("Encode wrote a raw line break: %s", d)
		}
		in.Write(d)
		in.WriteByte('\n')
	}
	cmd := exec.Command(python, "-c", pythonRoundTrip)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != len(docs) {
		t.Fatalf("python3 printed %d lines for %d documents:\n%s", len(lines), len(docs), out)
	}
	return lines
}

var trickyStrings = map[string]string{
	"ascii":      "plain text",
	"unicode":    "Grüße, naïve café, Ελληνικά, 日本語, עברית",
	"emoji":      "👍🏽 👩‍💻 🇫🇷 😀",
	"astral":     "𝄞 𝕏 \U0010FFFD",
	"html":       `<script>alert("x")</script> & <b>`,
	"quotes":     `"double" 'single' \backslash\ /slash/`,
	"newlines":   "line1\nline2\r\nline3\ttab",
	"control":    "nul\x00 bell\x07 esc\x1b us\x1f del\x7f",
	"separators": "ls\u2028ps\u2029",
	"bom":        "\ufeffbom",
	"combining":  "e\u0301 vs \u00e9",
	"empty":      "",
	"json-like":  `{"a":1}`,
}

func TestPythonReadsEncodeUnchanged(t *testing.T) {
	python := python3(t)

	q := 0.92
	payload := map[string]any{
		"strings": trickyStrings,
		"ints": map[string]any{
			"zero":        0,
			"negative":    -42,
			"max_int64":   int64(math.MaxInt64),
			"min_int64":   int64(math.MinInt64),
			"max_uint64":  uint64(math.MaxUint64),
			"above_2_53":  int64(1<<53 + 1),
			"big_float64": 1e20, // Go writes 100000000000000000000
		},
		"floats": map[string]any{
			"tenth":       0.1,
			"tiny":        1e-7,
			"third":       1.0 / 3,
			"sum":         0.1 + 0.2,
			"whole":       3.0,
			"huge":        1e21,
			"max":         math.MaxFloat64,
			"smallest":    math.SmallestNonzeroFloat64,
			"negative":    -2.5e-300,
			"cost_usd":    0.00426,
			"latency_ms":  2250.5,
			"pi":          math.Pi,
			"below_2_53":  float64(1<<53 - 1),
			"float32ish":  float64(float32(0.1)),
			"small_exp":   1.5e-5,
			"exp_cutover": 1e-6,
		},
		"nested": map[string]any{
			"a":    map[string]any{"b": map[string]any{"c": []any{1, "two", 3.5, nil, true, false, map[string]any{}}}},
			"z":    []any{},
			"ключ": map[string]any{"🔑": "значение", "<&>": "\"\n"},
		},
		"metrics": &codecs.Metrics{Agent: "sql-agent", Model: "gpt-4o", LatencyMS: 0.1, TokensIn: math.MaxInt32,
			CostUSD: 1e-7, Status: "ok", QualityScore: &q},
		"span": &codecs.Span{TraceID: "trace-7f3a9c", SpanID: "span-02", Agent: "sql-agent", Name: "tool \"call\"\n",
			Status: "error", StartTime: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)),
			EndTime: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 1, 500_000_000, time.UTC)),
			Error:   &codecs.SpanError{Type: "timeout", Message: "déjà vu <&> \x00"}},
		"audit": &codecs.Audit{Actor: "ü", Action: "view.read", Resource: "views/<x>", Outcome: "success", Details: trickyStrings},
	}
	env := codecs.Envelope{EventID: "evt-py-0001", EventType: codecs.TypeAudit, TenantID: "acme-corp",
		Timestamp: codecs.NewTime(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)), Source: "ai-service"}
	encoded, err := codecs.Encode(env, payload)
	if err != nil {
		t.Fatal(err)
	}

	fromPython := throughPython(t, python, encoded)[0]

	want := canonical(t, encoded)
	got := canonical(t, fromPython)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Python read something else\n Go: %s\n Py: %s", encoded, fromPython)
	}

	// And what came back is what went in: the strings byte for byte, the
	// numbers exactly.
	var back struct {
		Data struct {
			Strings map[string]string  `json:"strings"`
			Floats  map[string]float64 `json:"floats"`
			Ints    struct {
				MaxInt64  int64  `json:"max_int64"`
				MinInt64  int64  `json:"min_int64"`
				MaxUint64 uint64 `json:"max_uint64"`
				Above253  int64  `json:"above_2_53"`
			} `json:"ints"`
			Audit codecs.Audit `json:"audit"`
		} `json:"data"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(fromPython, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Data.Strings, trickyStrings) || !reflect.DeepEqual(back.Data.Audit.Details, trickyStrings) {
		t.Errorf("strings changed: %q", back.Data.Strings)
	}
	for k, v := range payload["floats"].(map[string]any) {
		if back.Data.Floats[k] != v.(float64) {
			t.Errorf("float %s: %v came back as %v", k, v, back.Data.Floats[k])
		}
	}
	if i := back.Data.Ints; i.MaxInt64 != math.MaxInt64 || i.MinInt64 != math.MinInt64 || i.MaxUint64 != math.MaxUint64 || i.Above253 != 1<<53+1 {
		t.Errorf("ints changed: %+v", i)
	}
	if back.Timestamp != "2025-03-15T10:00:00Z" {
		t.Errorf("timestamp came back as %q", back.Timestamp)
	}
}

// TestPythonReadsExamples checks every valid example the same way, after a
// Go decode and re-encode.
func TestPythonReadsExamples(t *testing.T) {
	python := python3(t)
	var names []string
	var docs [][]byte
	for name, b := range readDir(t, validDir) {
		ev, err := codecs.Decoder{}.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		encoded, err := codecs.Encode(ev.Envelope, ev.Payload)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		docs = append(docs, encoded)
	}
	for i, out := range throughPython(t, python, docs...) {
		if got, want := canonical(t, out), canonical(t, docs[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Python read something else\n Go: %s\n Py: %s", names[i], docs[i], out)
		}
	}
}

// pythonConsumer reads each file named on its command line as the AI
// Service's consumer reads a message value, and as it writes one back
// (UTF-8), printing "ok" or the exception's type, one line each.
const pythonConsumer = `import json, sys
for path in sys.argv[1:]:
    v = open(path, "rb").read()
    try:
        obj = json.loads(v.decode("utf-8"))
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
        print("ok")
    except Exception as e:
        print(type(e).__name__)`

// TestPythonRejectsWhatIsNotJSONToIt: every example rejected as not JSON or
// not UTF-8 is one the AI Service's consumer fails on too, so those
// examples test what they say.
func TestPythonRejectsWhatIsNotJSONToIt(t *testing.T) {
	python := python3(t)
	var names, paths []string
	for name, want := range invalidCases {
		if want.reason == codecs.ReasonNotJSON || want.reason == codecs.ReasonInvalidUTF8 {
			names = append(names, name)
			paths = append(paths, filepath.Join(invalidDir, name))
		}
	}
	var stderr bytes.Buffer
	cmd := exec.Command(python, append([]string{"-c", pythonConsumer}, paths...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(string(out))
	if len(got) != len(names) {
		t.Fatalf("python3 printed %q for %d files", out, len(names))
	}
	for i, name := range names {
		if got[i] == "ok" {
			t.Errorf("%s (%s): Python reads it", name, invalidCases[name].reason)
		}
	}
}

// canonical decodes JSON with exact numbers: an integer literal becomes its
// arbitrary-precision value (Python's int), any other number the float64 it
// denotes (Python's float) — so "1e-7" and "1e-07" are equal, 2^53+1 and
// 2^53 are not.
func canonical(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("trailing data after JSON value in %s", b)
	}
	return exactNumbers(t, v)
}

type exactInt string   // decimal digits of a *big.Int
type exactFloat uint64 // math.Float64bits

func exactNumbers(t *testing.T, v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = exactNumbers(t, x)
		}
	case []any:
		for i, x := range v {
			v[i] = exactNumbers(t, x)
		}
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			n, ok := new(big.Int).SetString(s, 10)
			if !ok {
				t.Fatalf("bad integer %q", s)
			}
			return exactInt(n.String())
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad float %q: %v", s, err)
		}
		return exactFloat(math.Float64bits(f))
	}
	return v
}

func (f exactFloat) String() string { return fmt.Sprint(math.Float64frombits(uint64(f))) }
