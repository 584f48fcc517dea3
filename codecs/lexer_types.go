package codecs

// The lexer's decoders of the envelope, the payloads and learning signals:
// one per struct, each field as encoding/json decodes it (a null leaves it
// zero, an empty array or object is empty and not nil). The key names come
// from the structs' tags (names), so a field missing here fails every
// message that has it (the slow path decodes them) rather than dropping
// it; the differential tests catch that as well.

// lexable is a struct the lexer decodes.
type lexable interface {
	lex(l *lexer) bool
}

var (
	envelopeNames       = names[Envelope]()
	feedbackNames       = names[Feedback]()
	thinkingNames       = names[Thinking]()
	alternativeNames    = names[Alternative]()
	decisionNames       = names[Decision]()
	spanErrorNames      = names[SpanError]()
	spanNames           = names[Span]()
	metricsNames        = names[Metrics]()
	columnRefNames      = names[ColumnRef]()
	columnMappingNames  = names[ColumnMapping]()
	lineageNames        = names[Lineage]()
	auditNames          = names[Audit]()
	signalNames         = names[Signal]()
	signalFeedbackNames = names[SignalFeedback]()
	signalContextNames  = names[SignalContext]()
	signalDecisionNames = names[SignalDecision]()
	signalThinkingNames = names[SignalThinking]()
	signalSpanErrNames  = names[SignalSpanError]()
)

// structs consumes an array of T (a null element is a zero T).
func structs[T any, P interface {
	*T
	lexable
}](l *lexer) ([]T, bool) {
	var out []T
	null, ok := l.array(func() bool {
		out = append(out, *new(T))
		return P(&out[len(out)-1]).lex(l)
	})
	if ok && !null && out == nil {
		out = []T{}
	}
	return out, ok
}

// stringMap consumes an object of strings (keys as lexer.key takes them).
func (l *lexer) stringMap() (map[string]string, bool) {
	if l.null() {
		return nil, true
	}
	if l.peek() != '{' {
		return nil, false
	}
	l.i++
	m := map[string]string{}
	if l.peek() == '}' {
		l.i++
		return m, true
	}
	for len(m) < maxKeys {
		if l.peek() != '"' {
			return nil, false
		}
		key, ok := l.key()
		if !ok || l.peek() != ':' {
			return nil, false
		}
		l.i++
		if _, dup := m[key]; dup {
			return nil, false
		}
		if m[key], ok = l.str(); !ok {
			return nil, false
		}
		switch l.peek() {
		case ',':
			l.i++
		case '}':
			l.i++
			return m, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// envelope consumes the envelope; data is called positioned at the value of
// "data" and must consume it. The caller checks what follows.
func (e *Envelope) lexWith(l *lexer, data func() bool) bool {
	if l.peek() != '{' {
		return false // an object is required, null included
	}
	return l.object(envelopeNames, func(key string) (ok bool) {
		switch key {
		case "event_id":
			e.EventID, ok = l.str()
		case "event_type":
			e.EventType, ok = l.str()
		case "tenant_id":
			e.TenantID, ok = l.str()
		case "timestamp":
			e.Timestamp, ok = l.time()
		case "source":
			e.Source, ok = l.str()
		case "data":
			if l.peek() != '{' {
				return false
			}
			start := l.i
			ok = data()
			e.Data = l.b[start:l.i]
		}
		return ok
	})
}

func (p *Feedback) lex(l *lexer) bool {
	return l.object(feedbackNames, func(key string) (ok bool) {
		switch key {
		case "response_id":
			p.ResponseID, ok = l.str()
		case "trace_id":
			p.TraceID, ok = l.str()
		case "session_id":
			p.SessionID, ok = l.str()
		case "user_id":
			p.UserID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "model":
			p.Model, ok = l.str()
		case "thumbs":
			p.Thumbs, ok = l.str()
		case "score":
			p.Score, ok = l.intPtr()
		case "categories":
			p.Categories, ok = l.strs()
		case "comment":
			p.Comment, ok = l.str()
		}
		return ok
	})
}

func (p *Thinking) lex(l *lexer) bool {
	return l.object(thinkingNames, func(key string) (ok bool) {
		switch key {
		case "trace_id":
			p.TraceID, ok = l.str()
		case "span_id":
			p.SpanID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "step":
			p.Step, ok = l.integer()
		case "kind":
			p.Kind, ok = l.str()
		case "content":
			p.Content, ok = l.str()
		case "tokens":
			p.Tokens, ok = l.integer()
		}
		return ok
	})
}

func (p *Alternative) lex(l *lexer) bool {
	return l.object(alternativeNames, func(key string) (ok bool) {
		switch key {
		case "option":
			p.Option, ok = l.str()
		case "score":
			p.Score, ok = l.float()
		}
		return ok
	})
}

func (p *Decision) lex(l *lexer) bool {
	return l.object(decisionNames, func(key string) (ok bool) {
		switch key {
		case "trace_id":
			p.TraceID, ok = l.str()
		case "decision_id":
			p.DecisionID, ok = l.str()
		case "span_id":
			p.SpanID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "decision_type":
			p.DecisionType, ok = l.str()
		case "chosen":
			p.Chosen, ok = l.str()
		case "alternatives":
			p.Alternatives, ok = structs[Alternative](l)
		case "confidence":
			p.Confidence, ok = l.float()
		case "reason":
			p.Reason, ok = l.str()
		}
		return ok
	})
}

func (p *SpanError) lex(l *lexer) bool {
	return l.object(spanErrorNames, func(key string) (ok bool) {
		switch key {
		case "type":
			p.Type, ok = l.str()
		case "message":
			p.Message, ok = l.str()
		}
		return ok
	})
}

func (p *Span) lex(l *lexer) bool {
	return l.object(spanNames, func(key string) (ok bool) {
		switch key {
		case "trace_id":
			p.TraceID, ok = l.str()
		case "span_id":
			p.SpanID, ok = l.str()
		case "parent_span_id":
			p.ParentSpanID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "name":
			p.Name, ok = l.str()
		case "status":
			p.Status, ok = l.str()
		case "start_time":
			p.StartTime, ok = l.time()
		case "end_time":
			p.EndTime, ok = l.time()
		case "model":
			p.Model, ok = l.str()
		case "tokens_in":
			p.TokensIn, ok = l.integer()
		case "tokens_out":
			p.TokensOut, ok = l.integer()
		case "error":
			if l.null() {
				return true
			}
			p.Error = new(SpanError)
			ok = p.Error.lex(l)
		}
		return ok
	})
}

func (p *Metrics) lex(l *lexer) bool {
	return l.object(metricsNames, func(key string) (ok bool) {
		switch key {
		case "agent":
			p.Agent, ok = l.str()
		case "model":
			p.Model, ok = l.str()
		case "trace_id":
			p.TraceID, ok = l.str()
		case "latency_ms":
			p.LatencyMS, ok = l.float()
		case "tokens_in":
			p.TokensIn, ok = l.integer()
		case "tokens_out":
			p.TokensOut, ok = l.integer()
		case "cost_usd":
			p.CostUSD, ok = l.float()
		case "status":
			p.Status, ok = l.str()
		case "error_type":
			p.ErrorType, ok = l.str()
		case "quality_score":
			p.QualityScore, ok = l.floatPtr()
		}
		return ok
	})
}

func (p *ColumnRef) lex(l *lexer) bool {
	return l.object(columnRefNames, func(key string) (ok bool) {
		switch key {
		case "dataset":
			p.Dataset, ok = l.str()
		case "column":
			p.Column, ok = l.str()
		}
		return ok
	})
}

func (p *ColumnMapping) lex(l *lexer) bool {
	return l.object(columnMappingNames, func(key string) (ok bool) {
		switch key {
		case "target":
			ok = p.Target.lex(l)
		case "sources":
			p.Sources, ok = structs[ColumnRef](l)
		}
		return ok
	})
}

func (p *Lineage) lex(l *lexer) bool {
	return l.object(lineageNames, func(key string) (ok bool) {
		switch key {
		case "query_id":
			p.QueryID, ok = l.str()
		case "sql":
			p.SQL, ok = l.str()
		case "sql_hash":
			p.SQLHash, ok = l.str()
		case "dialect":
			p.Dialect, ok = l.str()
		case "sources":
			p.Sources, ok = l.strs()
		case "targets":
			p.Targets, ok = l.strs()
		case "columns":
			p.Columns, ok = structs[ColumnMapping](l)
		case "user_id":
			p.UserID, ok = l.str()
		case "trace_id":
			p.TraceID, ok = l.str()
		case "status":
			p.Status, ok = l.str()
		}
		return ok
	})
}

func (p *Audit) lex(l *lexer) bool {
	return l.object(auditNames, func(key string) (ok bool) {
		switch key {
		case "actor":
			p.Actor, ok = l.str()
		case "action":
			p.Action, ok = l.str()
		case "resource":
			p.Resource, ok = l.str()
		case "outcome":
			p.Outcome, ok = l.str()
		case "details":
			p.Details, ok = l.stringMap()
		}
		return ok
	})
}

func (p *Signal) lex(l *lexer) bool {
	return l.object(signalNames, func(key string) (ok bool) {
		switch key {
		case "signal_id":
			p.SignalID, ok = l.str()
		case "revision":
			p.Revision, ok = l.integer()
		case "signal_type":
			p.SignalType, ok = l.str()
		case "weight":
			p.Weight, ok = l.float()
		case "response_id":
			p.ResponseID, ok = l.str()
		case "trace_id":
			p.TraceID, ok = l.str()
		case "session_id":
			p.SessionID, ok = l.str()
		case "user_id":
			p.UserID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "model":
			p.Model, ok = l.str()
		case "feedback":
			ok = p.Feedback.lex(l)
		case "supersedes":
			p.Supersedes, ok = l.str()
		case "superseded_by":
			p.SupersededBy, ok = l.str()
		case "context":
			ok = p.Context.lex(l)
		}
		return ok
	})
}

func (p *SignalFeedback) lex(l *lexer) bool {
	return l.object(signalFeedbackNames, func(key string) (ok bool) {
		switch key {
		case "event_id":
			p.EventID, ok = l.str()
		case "timestamp":
			p.Timestamp, ok = l.time()
		case "thumbs":
			p.Thumbs, ok = l.str()
		case "score":
			p.Score, ok = l.intPtr()
		case "categories":
			p.Categories, ok = l.strs()
		case "comment":
			p.Comment, ok = l.str()
		}
		return ok
	})
}

func (p *SignalContext) lex(l *lexer) bool {
	return l.object(signalContextNames, func(key string) (ok bool) {
		switch key {
		case "missing":
			p.Missing, ok = l.boolean()
		case "agents":
			p.Agents, ok = l.strs()
		case "decisions":
			p.Decisions, ok = structs[SignalDecision](l)
		case "thinking":
			p.Thinking, ok = structs[SignalThinking](l)
		case "span_errors":
			p.SpanErrors, ok = structs[SignalSpanError](l)
		case "spans":
			p.Spans, ok = l.integer()
		case "latency_ms":
			p.LatencyMS, ok = l.float()
		case "models":
			p.Models, ok = l.strs()
		case "tokens_in":
			p.TokensIn, ok = l.integer()
		case "tokens_out":
			p.TokensOut, ok = l.integer()
		case "thinking_tokens":
			p.ThinkingTokens, ok = l.integer()
		case "truncated":
			p.Truncated, ok = l.boolean()
		}
		return ok
	})
}

func (p *SignalDecision) lex(l *lexer) bool {
	return l.object(signalDecisionNames, func(key string) (ok bool) {
		switch key {
		case "decision_id":
			p.DecisionID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "decision_type":
			p.DecisionType, ok = l.str()
		case "chosen":
			p.Chosen, ok = l.str()
		case "alternatives":
			p.Alternatives, ok = structs[Alternative](l)
		case "confidence":
			p.Confidence, ok = l.float()
		case "reason":
			p.Reason, ok = l.str()
		}
		return ok
	})
}

func (p *SignalThinking) lex(l *lexer) bool {
	return l.object(signalThinkingNames, func(key string) (ok bool) {
		switch key {
		case "agent":
			p.Agent, ok = l.str()
		case "step":
			p.Step, ok = l.integer()
		case "kind":
			p.Kind, ok = l.str()
		case "content":
			p.Content, ok = l.str()
		}
		return ok
	})
}

func (p *SignalSpanError) lex(l *lexer) bool {
	return l.object(signalSpanErrNames, func(key string) (ok bool) {
		switch key {
		case "span_id":
			p.SpanID, ok = l.str()
		case "agent":
			p.Agent, ok = l.str()
		case "name":
			p.Name, ok = l.str()
		case "type":
			p.Type, ok = l.str()
		case "message":
			p.Message, ok = l.str()
		}
		return ok
	})
}

// DecodeSignal decodes a learning signal as json.Unmarshal of the message
// into an Envelope and of its data into a Signal decodes them, in one pass
// and without reflection. ok is false when the message is not of the
// common shape (a rejection, or merely unusual input such as an escaped
// key): decode it with encoding/json then, whose result is the reference.
func DecodeSignal(raw []byte) (env *Envelope, s *Signal, ok bool) {
	l := newLexer(raw)
	defer l.release()
	env, s = new(Envelope), new(Signal)
	seen := false
	if !env.lexWith(&l, func() bool { seen = true; return s.lex(&l) }) || !seen || !l.end() {
		return nil, nil, false
	}
	return env, s, true
}
