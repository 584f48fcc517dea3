package responses

import (
	"fmt"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/stream"
)

// TableCodec is the group table's codec: JSON, written by hand-written
// appenders (byte for byte what codecs.JSON[Response] writes, tested), read
// by codecs.JSON[Response].
type TableCodec struct{}

// Encode implements goka.Codec.
func (TableCodec) Encode(v any) ([]byte, error) {
	var r *Response
	switch x := v.(type) {
	case *Response:
		r = x
	case Response:
		r = &x
	default:
		return nil, fmt.Errorf("codec for *responses.Response got %T", v)
	}
	if r == nil {
		return codecs.JSON[Response]{}.Encode(r)
	}
	bp := sizing.Get().(*[]byte)
	defer sizing.Put(bp)
	b, ok := r.appendJSON((*bp)[:0])
	if cap(b) <= 1<<20 {
		*bp = b // a rare huge state does not pin its buffer
	}
	if !ok {
		return codecs.JSON[Response]{}.Encode(r) // for its error
	}
	return append([]byte(nil), b...), nil
}

// Decode implements goka.Codec. A state as Encode writes it is read in one
// pass (codecs.Lexer); any other bytes by codecs.JSON[Response], the
// reference, whose result the lexer's equals (tested).
func (TableCodec) Decode(b []byte) (any, error) {
	if r, ok := lexResponse(b); ok {
		return r, nil
	}
	return codecs.JSON[Response]{}.Decode(b)
}

var (
	responseNames = codecs.Names[Response]()
	entryNames    = codecs.Names[Entry]()
	summaryNames  = codecs.Names[Summary]()
	offsetNames   = codecs.Names[stream.Offset]()
)

func lexResponse(b []byte) (*Response, bool) {
	x := codecs.NewLexer(b)
	defer x.Release()
	r := new(Response)
	ok := x.Object(responseNames, func(key string) (ok bool) {
		switch key {
		case "tenant_id":
			r.TenantID, ok = x.String()
		case "response_id":
			r.ResponseID, ok = x.String()
		case "signals":
			var null bool
			null, ok = x.Array(func() bool {
				r.Signals = append(r.Signals, Entry{})
				return lexEntry(x, &r.Signals[len(r.Signals)-1])
			})
			if ok && !null && r.Signals == nil {
				r.Signals = []Entry{}
			}
		case "dropped":
			r.Dropped, ok = x.Int()
		case "offsets":
			var null bool
			null, ok = x.Array(func() bool {
				r.Offsets = append(r.Offsets, stream.Offset{})
				o := &r.Offsets[len(r.Offsets)-1]
				return x.Object(offsetNames, func(key string) (ok bool) {
					switch key {
					case "topic":
						o.Topic, ok = x.String()
					case "partition":
						o.Partition, ok = x.Int32()
					case "offset":
						o.Offset, ok = x.Int64()
					}
					return ok
				})
			})
			if ok && !null && r.Offsets == nil {
				r.Offsets = stream.Offsets{}
			}
		}
		return ok
	})
	if !ok || !x.End() {
		return nil, false
	}
	return r, true
}

func lexEntry(x *codecs.Lexer, e *Entry) bool {
	return x.Object(entryNames, func(key string) (ok bool) {
		switch key {
		case "signal_id":
			e.SignalID, ok = x.String()
		case "event_id":
			e.EventID, ok = x.String()
		case "signal_type":
			e.SignalType, ok = x.String()
		case "revision":
			e.Revision, ok = x.Int()
		case "weight":
			e.Weight, ok = x.Float()
		case "trace_id":
			e.TraceID, ok = x.String()
		case "session_id":
			e.SessionID, ok = x.String()
		case "user_id":
			e.UserID, ok = x.String()
		case "agent":
			e.Agent, ok = x.String()
		case "model":
			e.Model, ok = x.String()
		case "feedback":
			ok = x.SignalFeedback(&e.Feedback)
		case "supersedes":
			e.Supersedes, ok = x.String()
		case "superseded_by":
			e.SupersededBy, ok = x.String()
		case "current":
			e.Current, ok = x.Bool()
		case "context":
			c := &e.Context
			ok = x.Object(summaryNames, func(key string) (ok bool) {
				switch key {
				case "missing":
					c.Missing, ok = x.Bool()
				case "agents":
					c.Agents, ok = x.Strings()
				case "models":
					c.Models, ok = x.Strings()
				case "decisions":
					c.Decisions, ok = x.Int()
				case "span_errors":
					c.SpanErrors, ok = x.Int()
				case "latency_ms":
					c.LatencyMS, ok = x.Float()
				case "tokens_in":
					c.TokensIn, ok = x.Int()
				case "tokens_out":
					c.TokensOut, ok = x.Int()
				case "truncated":
					c.Truncated, ok = x.Bool()
				}
				return ok
			})
		}
		return ok
	})
}

func (r *Response) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"tenant_id":`...)
	b = codecs.AppendString(b, r.TenantID)
	b = append(b, `,"response_id":`...)
	b = codecs.AppendString(b, r.ResponseID)
	b = append(b, `,"signals":`...)
	ok := true
	if r.Signals == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Signals {
			if i > 0 {
				b = append(b, ',')
			}
			var eok bool
			b, eok = r.Signals[i].appendJSON(b)
			ok = ok && eok
		}
		b = append(b, ']')
	}
	b = r.appendTail(b)
	return append(b, '}'), ok
}

// appendTail appends the fields after the signals.
func (r *Response) appendTail(b []byte) []byte {
	if r.Dropped != 0 {
		b = append(b, `,"dropped":`...)
		b = codecs.AppendInt(b, r.Dropped)
	}
	if len(r.Offsets) > 0 {
		b = append(b, `,"offsets":[`...)
		for i, o := range r.Offsets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"topic":`...)
			b = codecs.AppendString(b, o.Topic)
			b = append(b, `,"partition":`...)
			b = codecs.AppendInt(b, int(o.Partition))
			b = append(b, `,"offset":`...)
			b = codecs.AppendInt(b, int(o.Offset))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

func (e *Entry) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"signal_id":`...)
	b = codecs.AppendString(b, e.SignalID)
	b = append(b, `,"event_id":`...)
	b = codecs.AppendString(b, e.EventID)
	b = append(b, `,"signal_type":`...)
	b = codecs.AppendString(b, e.SignalType)
	b = append(b, `,"revision":`...)
	b = codecs.AppendInt(b, e.Revision)
	b = append(b, `,"weight":`...)
	b, ok := codecs.AppendFloat(b, e.Weight)
	b = append(b, `,"trace_id":`...)
	b = codecs.AppendString(b, e.TraceID)
	b = append(b, `,"session_id":`...)
	b = codecs.AppendString(b, e.SessionID)
	b = append(b, `,"user_id":`...)
	b = codecs.AppendString(b, e.UserID)
	b = append(b, `,"agent":`...)
	b = codecs.AppendString(b, e.Agent)
	b = append(b, `,"model":`...)
	b = codecs.AppendString(b, e.Model)
	b = append(b, `,"feedback":`...)
	b, fok := e.Feedback.AppendJSON(b)
	if e.Supersedes != "" {
		b = append(b, `,"supersedes":`...)
		b = codecs.AppendString(b, e.Supersedes)
	}
	if e.SupersededBy != "" {
		b = append(b, `,"superseded_by":`...)
		b = codecs.AppendString(b, e.SupersededBy)
	}
	b = append(b, `,"current":`...)
	b = codecs.AppendBool(b, e.Current)
	c := &e.Context
	b = append(b, `,"context":{"missing":`...)
	b = codecs.AppendBool(b, c.Missing)
	if len(c.Agents) > 0 {
		b = append(b, `,"agents":`...)
		b = codecs.AppendStrings(b, c.Agents)
	}
	if len(c.Models) > 0 {
		b = append(b, `,"models":`...)
		b = codecs.AppendStrings(b, c.Models)
	}
	b = append(b, `,"decisions":`...)
	b = codecs.AppendInt(b, c.Decisions)
	b = append(b, `,"span_errors":`...)
	b = codecs.AppendInt(b, c.SpanErrors)
	b = append(b, `,"latency_ms":`...)
	b, lok := codecs.AppendFloat(b, c.LatencyMS)
	b = append(b, `,"tokens_in":`...)
	b = codecs.AppendInt(b, c.TokensIn)
	b = append(b, `,"tokens_out":`...)
	b = codecs.AppendInt(b, c.TokensOut)
	if c.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, "}}"...), ok && fok && lok
}
