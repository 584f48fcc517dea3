package codecs

import (
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// JSONAppender is a value that writes its own JSON: byte for byte what
// Marshal writes for it, without reflection. AppendJSON reports false
// where Marshal would fail (a NaN or an infinity, a time outside years
// 0-9999); Encode then takes Marshal's path, for its error.
type JSONAppender interface {
	AppendJSON(dst []byte) ([]byte, bool)
}

// appenderOf returns payload as a JSONAppender, nil if it is none or a nil
// pointer (which Marshal writes as null).
func appenderOf(payload any) JSONAppender {
	switch p := payload.(type) {
	case Signal:
		return &p
	case JSONAppender:
		if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
			return nil
		}
		return p
	}
	return nil
}

var scratch = sync.Pool{New: func() any { return new([]byte) }}

// appendEvent is Encode's output for a payload that writes itself, ok false
// where Marshal fails: AppendEvent into a pooled buffer, then copied out.
func appendEvent(env Envelope, payload JSONAppender) ([]byte, bool) {
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	b, ok := AppendEvent((*bp)[:0], env, payload)
	if cap(b) <= 1<<20 {
		*bp = b // a rare huge event does not pin its buffer
	}
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// AppendEvent appends Encode's output for a payload that writes itself to
// dst, ok false where Marshal fails (Encode then gives the error). A
// caller that knows about how long the record is appends it to a buffer of
// that capacity: one allocation, one copy of every byte.
func AppendEvent(dst []byte, env Envelope, payload JSONAppender) ([]byte, bool) {
	b := append(dst, `{"event_id":`...)
	b = AppendString(b, env.EventID)
	b = append(b, `,"event_type":`...)
	b = AppendString(b, env.EventType)
	b = append(b, `,"tenant_id":`...)
	b = AppendString(b, env.TenantID)
	b = append(b, `,"timestamp":`...)
	b, ok := AppendTime(b, env.Timestamp)
	b = append(b, `,"source":`...)
	b = AppendString(b, env.Source)
	b = append(b, `,"data":`...)
	var okData bool
	b, okData = payload.AppendJSON(b)
	return append(b, '}'), ok && okData
}

// AppendString appends s as encoding/json writes a string without HTML
// escaping: \" \\ \b \f \n \r \t, other control characters as \u00XX, a
// byte that is not UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// AppendFloat appends f as encoding/json writes a float64; false for a NaN
// or an infinity, which it refuses.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// AppendInt appends n.
func AppendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// AppendBool appends b.
func AppendBool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// AppendTime appends t as Time.MarshalJSON writes it; false where it fails.
func AppendTime(dst []byte, t Time) ([]byte, bool) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	dst = append(dst, '"')
	dst = u.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), true
}

// AppendStrings appends a []string (nil as null).
func AppendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendJSON implements JSONAppender.
func (s *Signal) AppendJSON(b []byte) ([]byte, bool) {
	b, ok := s.appendHead(b)
	b, ok = s.Context.appendJSON(b, ok)
	return append(b, '}'), ok
}

// AppendJSONWithContext is AppendJSON with context, the JSON of a
// SignalContext (its AppendJSON), in place of s.Context: a caller that
// emits several signals with one context encodes it once.
func (s *Signal) AppendJSONWithContext(b, context []byte) ([]byte, bool) {
	b, ok := s.appendHead(b)
	b = append(b, context...)
	return append(b, '}'), ok
}

// appendHead appends the signal up to its context's value.
func (s *Signal) appendHead(b []byte) ([]byte, bool) {
	ok := true
	b = append(b, `{"signal_id":`...)
	b = AppendString(b, s.SignalID)
	b = append(b, `,"revision":`...)
	b = AppendInt(b, s.Revision)
	b = append(b, `,"signal_type":`...)
	b = AppendString(b, s.SignalType)
	b = append(b, `,"weight":`...)
	b, ok = appendFloat(b, s.Weight, ok)
	b = append(b, `,"response_id":`...)
	b = AppendString(b, s.ResponseID)
	b = append(b, `,"trace_id":`...)
	b = AppendString(b, s.TraceID)
	b = append(b, `,"session_id":`...)
	b = AppendString(b, s.SessionID)
	b = append(b, `,"user_id":`...)
	b = AppendString(b, s.UserID)
	b = append(b, `,"agent":`...)
	b = AppendString(b, s.Agent)
	b = append(b, `,"model":`...)
	b = AppendString(b, s.Model)
	b = append(b, `,"feedback":`...)
	b, ok = s.Feedback.appendJSON(b, ok)
	if s.Supersedes != "" {
		b = append(b, `,"supersedes":`...)
		b = AppendString(b, s.Supersedes)
	}
	if s.SupersededBy != "" {
		b = append(b, `,"superseded_by":`...)
		b = AppendString(b, s.SupersededBy)
	}
	return append(b, `,"context":`...), ok
}

// appendFloat is AppendFloat accumulating ok.
func appendFloat(b []byte, f float64, ok bool) ([]byte, bool) {
	b, fok := AppendFloat(b, f)
	return b, ok && fok
}

// AppendJSON implements JSONAppender.
func (f *SignalFeedback) AppendJSON(b []byte) ([]byte, bool) { return f.appendJSON(b, true) }

func (f *SignalFeedback) appendJSON(b []byte, ok bool) ([]byte, bool) {
	b = append(b, `{"event_id":`...)
	b = AppendString(b, f.EventID)
	b = append(b, `,"timestamp":`...)
	b, tok := AppendTime(b, f.Timestamp)
	ok = ok && tok
	if f.Thumbs != "" {
		b = append(b, `,"thumbs":`...)
		b = AppendString(b, f.Thumbs)
	}
	if f.Score != nil {
		b = append(b, `,"score":`...)
		b = AppendInt(b, *f.Score)
	}
	if len(f.Categories) > 0 {
		b = append(b, `,"categories":`...)
		b = AppendStrings(b, f.Categories)
	}
	if f.Comment != "" {
		b = append(b, `,"comment":`...)
		b = AppendString(b, f.Comment)
	}
	return append(b, '}'), ok
}

// AppendJSON implements JSONAppender.
func (c *SignalContext) AppendJSON(b []byte) ([]byte, bool) { return c.appendJSON(b, true) }

func (c *SignalContext) appendJSON(b []byte, ok bool) ([]byte, bool) {
	b = append(b, `{"missing":`...)
	b = AppendBool(b, c.Missing)
	if len(c.Agents) > 0 {
		b = append(b, `,"agents":`...)
		b = AppendStrings(b, c.Agents)
	}
	if len(c.Decisions) > 0 {
		b = append(b, `,"decisions":[`...)
		for i := range c.Decisions {
			if i > 0 {
				b = append(b, ',')
			}
			b, ok = c.Decisions[i].appendJSON(b, ok)
		}
		b = append(b, ']')
	}
	if len(c.Thinking) > 0 {
		b = append(b, `,"thinking":[`...)
		for i, t := range c.Thinking {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"agent":`...)
			b = AppendString(b, t.Agent)
			b = append(b, `,"step":`...)
			b = AppendInt(b, t.Step)
			if t.Kind != "" {
				b = append(b, `,"kind":`...)
				b = AppendString(b, t.Kind)
			}
			b = append(b, `,"content":`...)
			b = AppendString(b, t.Content)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(c.SpanErrors) > 0 {
		b = append(b, `,"span_errors":[`...)
		for i, e := range c.SpanErrors {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"span_id":`...)
			b = AppendString(b, e.SpanID)
			b = append(b, `,"agent":`...)
			b = AppendString(b, e.Agent)
			b = append(b, `,"name":`...)
			b = AppendString(b, e.Name)
			b = append(b, `,"type":`...)
			b = AppendString(b, e.Type)
			if e.Message != "" {
				b = append(b, `,"message":`...)
				b = AppendString(b, e.Message)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"spans":`...)
	b = AppendInt(b, c.Spans)
	b = append(b, `,"latency_ms":`...)
	b, ok = appendFloat(b, c.LatencyMS, ok)
	if len(c.Models) > 0 {
		b = append(b, `,"models":`...)
		b = AppendStrings(b, c.Models)
	}
	b = append(b, `,"tokens_in":`...)
	b = AppendInt(b, c.TokensIn)
	b = append(b, `,"tokens_out":`...)
	b = AppendInt(b, c.TokensOut)
	b = append(b, `,"thinking_tokens":`...)
	b = AppendInt(b, c.ThinkingTokens)
	if c.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}'), ok
}

func (d *SignalDecision) appendJSON(b []byte, ok bool) ([]byte, bool) {
	b = append(b, `{"decision_id":`...)
	b = AppendString(b, d.DecisionID)
	b = append(b, `,"agent":`...)
	b = AppendString(b, d.Agent)
	b = append(b, `,"decision_type":`...)
	b = AppendString(b, d.DecisionType)
	b = append(b, `,"chosen":`...)
	b = AppendString(b, d.Chosen)
	if len(d.Alternatives) > 0 {
		b = append(b, `,"alternatives":[`...)
		for i, a := range d.Alternatives {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"option":`...)
			b = AppendString(b, a.Option)
			b = append(b, `,"score":`...)
			b, ok = appendFloat(b, a.Score, ok)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"confidence":`...)
	b, ok = appendFloat(b, d.Confidence, ok)
	if d.Reason != "" {
		b = append(b, `,"reason":`...)
		b = AppendString(b, d.Reason)
	}
	return append(b, '}'), ok
}
