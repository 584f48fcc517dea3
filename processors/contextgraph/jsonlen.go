package contextgraph

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/aistream/aistream/codecs"
)

// The byte budget (Graph.Bytes, MaxStateBytes) counts entries by the length
// of their JSON as codecs.JSON encodes them (codecs.EncodedLen), which
// states hold, so the count must not change. Encoding each new entry to
// measure it was a tenth of the handler's CPU and a dozen allocations per
// event; the jsonLen methods below compute the same lengths field by field
// with codecs' appenders (the escaping and number forms of encoding/json,
// which goccy's encoder shares: TestJSONLenIsEncodedLen and FuzzJSONLen
// check every entry kind against codecs.EncodedLen).

// jsonObject adds up the length of a JSON object, field by field.
type jsonObject struct {
	n, fields int
}

// field counts a field whose value's JSON is n bytes long.
func (o *jsonObject) field(key string, n int) {
	o.n += len(key) + 3 + n // "key":value
	o.fields++
}

func (o *jsonObject) str(key, s string) { o.field(key, jsonStringLen(s)) }

// optStr is a string field with omitempty.
func (o *jsonObject) optStr(key, s string) {
	if s != "" {
		o.str(key, s)
	}
}

func (o *jsonObject) time(key string, t codecs.Time) { o.field(key, jsonTimeLen(t)) }

func (o *jsonObject) int(key string, n int) { o.field(key, jsonIntLen(n)) }

// optInt is an int field with omitempty.
func (o *jsonObject) optInt(key string, n int) {
	if n != 0 {
		o.int(key, n)
	}
}

func (o *jsonObject) float(key string, f float64) { o.field(key, jsonFloatLen(f)) }

// len is the object's length: braces, fields and the commas between them.
func (o *jsonObject) len() int {
	if o.fields == 0 {
		return 2
	}
	return o.n + o.fields - 1 + 2
}

// escapeScratch holds the escaped form of a string that needs escapes.
var escapeScratch = sync.Pool{New: func() any { return new([]byte) }}

// jsonStringLen is the length of s as a JSON string (codecs.AppendString).
func jsonStringLen(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			bp := escapeScratch.Get().(*[]byte)
			b := codecs.AppendString((*bp)[:0], s)
			if cap(b) <= 64<<10 {
				*bp = b
			}
			escapeScratch.Put(bp)
			return len(b)
		}
	}
	return len(s) + 2
}

// jsonTimeLen is the length of t's JSON (codecs.Time.MarshalJSON). Like
// codecs.EncodedLen, it panics for a time JSON cannot hold (outside years
// 0-9999), which decoding refuses, so it is a bug.
func jsonTimeLen(t codecs.Time) int {
	var buf [64]byte
	b, ok := codecs.AppendTime(buf[:0], t)
	if !ok {
		_, err := t.MarshalJSON()
		panic(err)
	}
	return len(b)
}

func jsonIntLen(n int) int {
	var buf [24]byte
	return len(strconv.AppendInt(buf[:0], int64(n), 10))
}

// jsonFloatLen is the length of f's JSON; it panics for a non-finite f,
// which JSON cannot hold and decoding refuses (see jsonTimeLen).
func jsonFloatLen(f float64) int {
	var buf [32]byte
	b, ok := codecs.AppendFloat(buf[:0], f)
	if !ok {
		panic("encode context graph entry: a non-finite number " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	return len(b)
}

// jsonLener is an entry whose JSON length the budget counts.
type jsonLener interface{ jsonLen() int }

func (s Step) jsonLen() int {
	var o jsonObject
	o.str("event_id", s.EventID)
	o.time("timestamp", s.Timestamp)
	o.optStr("span_id", s.SpanID)
	o.str("agent", s.Agent)
	o.int("step", s.Step)
	o.optStr("kind", s.Kind)
	o.str("content", s.Content)
	o.optInt("tokens", s.Tokens)
	return o.len()
}

func (d DecisionNode) jsonLen() int {
	var o jsonObject
	o.str("event_id", d.EventID)
	o.time("timestamp", d.Timestamp)
	o.str("decision_id", d.DecisionID)
	o.optStr("span_id", d.SpanID)
	o.str("agent", d.Agent)
	o.str("decision_type", d.DecisionType)
	o.str("chosen", d.Chosen)
	if len(d.Alternatives) > 0 {
		n := 2 + len(d.Alternatives) - 1 // brackets, commas
		for _, a := range d.Alternatives {
			var ao jsonObject
			ao.str("option", a.Option)
			ao.float("score", a.Score)
			n += ao.len()
		}
		o.field("alternatives", n)
	}
	o.float("confidence", d.Confidence)
	o.optStr("reason", d.Reason)
	return o.len()
}

func (s SpanNode) jsonLen() int {
	var o jsonObject
	o.str("event_id", s.EventID)
	o.time("timestamp", s.Timestamp)
	o.str("span_id", s.SpanID)
	o.optStr("parent_span_id", s.ParentSpanID)
	o.str("agent", s.Agent)
	o.str("name", s.Name)
	o.str("status", s.Status)
	o.time("start_time", s.StartTime)
	o.time("end_time", s.EndTime)
	o.float("latency_ms", s.LatencyMS)
	o.optStr("model", s.Model)
	o.optInt("tokens_in", s.TokensIn)
	o.optInt("tokens_out", s.TokensOut)
	if s.Error != nil {
		var eo jsonObject
		eo.str("type", s.Error.Type)
		eo.optStr("message", s.Error.Message)
		o.field("error", eo.len())
	}
	return o.len()
}

func (f FeedbackEntry) jsonLen() int {
	var o jsonObject
	o.str("event_id", f.EventID)
	o.time("timestamp", f.Timestamp)
	o.str("response_id", f.ResponseID)
	o.str("session_id", f.SessionID)
	o.str("user_id", f.UserID)
	o.str("agent", f.Agent)
	o.str("model", f.Model)
	o.optStr("thumbs", f.Thumbs)
	if f.Score != nil {
		o.int("score", *f.Score)
	}
	if len(f.Categories) > 0 {
		n := 2 + len(f.Categories) - 1
		for _, c := range f.Categories {
			n += jsonStringLen(c)
		}
		o.field("categories", n)
	}
	o.optStr("comment", f.Comment)
	o.str("signal_id", f.SignalID)
	o.str("signal_type", f.SignalType)
	o.int("revision", f.Revision)
	o.float("weight", f.Weight)
	o.optStr("supersedes", f.Supersedes)
	o.optStr("superseded_by", f.SupersededBy)
	o.str("context_fingerprint", f.Fingerprint)
	return o.len()
}

func (a Agent) jsonLen() int {
	var o jsonObject
	o.str("name", a.Name)
	o.time("first_seen", a.FirstSeen)
	return o.len()
}

func (f SpanFailure) jsonLen() int {
	var o jsonObject
	o.str("span_id", f.SpanID)
	o.str("agent", f.Agent)
	o.str("name", f.Name)
	o.str("type", f.Type)
	o.optStr("message", f.Message)
	return o.len()
}
