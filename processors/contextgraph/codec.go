package contextgraph

import (
	"errors"
	"fmt"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/codecs/bin"
	"github.com/aistream/aistream/internal/dedupe"
	"github.com/aistream/aistream/internal/stream"
)

// GraphCodec stores Graph in the table in a compact binary form; Decode
// returns *Graph. Every event decodes and re-encodes its trace's graph, and
// as JSON that was most of the group's CPU (and all of a hot trace's). It is
// not readable with Kafka tools: the trace view serves it.
//
// Format: the version byte graphVersion, then the fields in declaration
// order in codecs/bin's encodings; a list is its length plus one (0: nil,
// so that a graph decodes to exactly what was encoded), a pointer a
// presence byte. Deterministic: equal graphs encode to equal bytes. A value
// starting with '{' is the earlier JSON form and is still decoded, so
// tables written before this codec keep their state. Graph.Bytes still
// counts the JSON form of the entries (cost): MaxStateBytes means what it
// meant.
type GraphCodec struct{}

const graphVersion = 1

// Encode implements goka.Codec.
func (GraphCodec) Encode(v any) ([]byte, error) {
	var g *Graph
	switch x := v.(type) {
	case *Graph:
		g = x
	case Graph:
		g = &x
	default:
		return nil, fmt.Errorf("codec for *contextgraph.Graph got %T", v)
	}
	if g == nil {
		return nil, errors.New("codec for *contextgraph.Graph got nil")
	}
	b, _ := encodeGraph(g, "", layout{}, 0)
	return b, nil
}

// The head of an encoded graph (the fields before Events) is a prelude
// (tenant, trace, start and end) and one section per list, in this order;
// the tail (Events onwards: the counts, the dropped-feedback window and the
// offsets) follows. A layout is where each section and the tail start in
// one encoding.
const (
	secAgents = iota
	secThinking
	secDecisions
	secSpans
	secErrors
	secFeedback
	nSections
)

// sections is a set of sections (bit 1<<sec).
type sections uint8

// allSections is every section.
const allSections sections = 1<<nSections - 1

// layout holds where sections 0..nSections-1 start, then where the tail
// starts; the zero layout is unknown.
type layout [nSections + 1]int

// known reports whether l was filled in.
func (l *layout) known() bool { return l[nSections] > 0 }

// encodeGraph encodes g and returns its layout. With prev, an earlier
// encoding of g of layout at, it copies the sections in clean from prev
// instead of encoding them again: the caller vouches that g's fields in
// those sections have not changed since prev (TableCodec: an event
// rewrites the sections it changed; a feedback dropped past its bound
// rewrites only the tail). The bytes are the same either way.
func encodeGraph(g *Graph, prev string, at layout, clean sections) ([]byte, layout) {
	if prev == "" || !at.known() {
		clean = 0
	}
	w := graphWriter{bin.NewWriter(make([]byte, 0, max(256+g.Bytes/2, len(prev)+1024)))}
	w.Byte(graphVersion)
	w.prelude(g)
	var out layout
	for sec := range nSections {
		out[sec] = len(w.Bytes())
		if clean&(1<<sec) != 0 {
			w.Writer = bin.NewWriter(append(w.Bytes(), prev[at[sec]:at[sec+1]]...))
		} else {
			w.section(g, sec)
		}
	}
	out[nSections] = len(w.Bytes())
	w.tail(g)
	return w.Bytes(), out
}

// Decode implements goka.Codec.
func (GraphCodec) Decode(b []byte) (any, error) {
	if len(b) > 0 && b[0] == '{' {
		return codecs.JSON[Graph]{}.Decode(b)
	}
	if len(b) == 0 || b[0] != graphVersion {
		return nil, errors.New("decode context graph: unknown format")
	}
	// Strings are substrings of one copy of b (one allocation instead of one
	// per string): the graph is most of b, and it is what stays alive.
	g, _, err := decodeGraph(b)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// decodeGraph decodes the binary form and returns its layout (see
// encodeGraph).
func decodeGraph(b []byte) (*Graph, layout, error) {
	r := graphReader{bin.NewSharedReader(b[1:])}
	g := &Graph{}
	var at layout
	r.prelude(g)
	for sec := range nSections {
		at[sec] = len(b) - r.Remaining()
		r.section(g, sec)
	}
	at[nSections] = len(b) - r.Remaining()
	r.tail(g)
	if err := r.Complete(); err != nil {
		return nil, layout{}, fmt.Errorf("decode context graph: %w", err)
	}
	return g, at, nil
}

type graphWriter struct{ bin.Writer }

func (w *graphWriter) list(n int, isNil bool) {
	if isNil {
		w.Count(0)
		return
	}
	w.Count(n + 1)
}

func (w *graphWriter) time(t codecs.Time) { w.Time(t.Time) }

func (w *graphWriter) optTime(t *codecs.Time) {
	w.Bool(t != nil)
	if t != nil {
		w.time(*t)
	}
}

func (w *graphWriter) int(n int) { w.Varint(int64(n)) }

// prelude writes the fields before the sections.
func (w *graphWriter) prelude(g *Graph) {
	w.String(g.TenantID)
	w.String(g.TraceID)
	w.optTime(g.Started)
	w.optTime(g.Ended)
}

// section writes one section of the head.
func (w *graphWriter) section(g *Graph, sec int) {
	switch sec {
	case secAgents:
		w.agents(g)
	case secThinking:
		w.thinking(g)
	case secDecisions:
		w.decisions(g)
	case secSpans:
		w.spans(g)
	case secErrors:
		w.errors(g)
	case secFeedback:
		w.feedback(g)
	}
}

func (w *graphWriter) agents(g *Graph) {
	w.list(len(g.Agents), g.Agents == nil)
	for _, a := range g.Agents {
		w.String(a.Name)
		w.time(a.FirstSeen)
	}
}

func (w *graphWriter) thinking(g *Graph) {
	w.list(len(g.Thinking), g.Thinking == nil)
	for _, s := range g.Thinking {
		w.String(s.EventID)
		w.time(s.Timestamp)
		w.String(s.SpanID)
		w.String(s.Agent)
		w.int(s.Step)
		w.String(s.Kind)
		w.String(s.Content)
		w.int(s.Tokens)
	}
}

func (w *graphWriter) decisions(g *Graph) {
	w.list(len(g.Decisions), g.Decisions == nil)
	for _, d := range g.Decisions {
		w.String(d.EventID)
		w.time(d.Timestamp)
		w.String(d.DecisionID)
		w.String(d.SpanID)
		w.String(d.Agent)
		w.String(d.DecisionType)
		w.String(d.Chosen)
		w.list(len(d.Alternatives), d.Alternatives == nil)
		for _, a := range d.Alternatives {
			w.String(a.Option)
			w.Float(a.Score)
		}
		w.Float(d.Confidence)
		w.String(d.Reason)
	}
}

func (w *graphWriter) spans(g *Graph) {
	w.list(len(g.Spans), g.Spans == nil)
	for _, s := range g.Spans {
		w.String(s.EventID)
		w.time(s.Timestamp)
		w.String(s.SpanID)
		w.String(s.ParentSpanID)
		w.String(s.Agent)
		w.String(s.Name)
		w.String(s.Status)
		w.time(s.StartTime)
		w.time(s.EndTime)
		w.Float(s.LatencyMS)
		w.String(s.Model)
		w.int(s.TokensIn)
		w.int(s.TokensOut)
		w.Bool(s.Error != nil)
		if s.Error != nil {
			w.String(s.Error.Type)
			w.String(s.Error.Message)
		}
	}
}

func (w *graphWriter) errors(g *Graph) {
	w.list(len(g.Errors), g.Errors == nil)
	for _, f := range g.Errors {
		w.String(f.SpanID)
		w.String(f.Agent)
		w.String(f.Name)
		w.String(f.Type)
		w.String(f.Message)
	}
}

func (w *graphWriter) feedback(g *Graph) {
	w.list(len(g.Feedback), g.Feedback == nil)
	for _, f := range g.Feedback {
		w.String(f.EventID)
		w.time(f.Timestamp)
		w.String(f.ResponseID)
		w.String(f.SessionID)
		w.String(f.UserID)
		w.String(f.Agent)
		w.String(f.Model)
		w.String(f.Thumbs)
		w.Bool(f.Score != nil)
		if f.Score != nil {
			w.int(*f.Score)
		}
		w.list(len(f.Categories), f.Categories == nil)
		for _, c := range f.Categories {
			w.String(c)
		}
		w.String(f.Comment)
		w.String(f.SignalID)
		w.String(f.SignalType)
		w.int(f.Revision)
		w.Float(f.Weight)
		w.String(f.Supersedes)
		w.String(f.SupersededBy)
		w.String(f.Fingerprint)
	}
}

// tail writes the fields from Events on.
func (w *graphWriter) tail(g *Graph) {
	w.int(g.Events)
	d := g.Dropped
	w.int(d.Thinking)
	w.int(d.Decisions)
	w.int(d.Spans)
	w.int(d.Feedback)
	w.int(d.Bytes)
	t := g.Truncated
	w.Bool(t.Thinking)
	w.Bool(t.Decisions)
	w.Bool(t.Spans)
	w.Bool(t.Bytes)
	w.int(g.Bytes)
	w.list(len(g.DroppedFeedback.Marks), g.DroppedFeedback.Marks == nil)
	for _, m := range g.DroppedFeedback.Marks {
		w.Varint(m.At)
		w.U64(m.Digest)
	}
	w.Bool(g.DroppedFeedback.Floor != nil)
	if f := g.DroppedFeedback.Floor; f != nil {
		w.Varint(f.At)
		w.U64(f.Digest)
	}
	w.list(len(g.Offsets), g.Offsets == nil)
	for _, o := range g.Offsets {
		o.WriteBinary(&w.Writer)
	}
}

type graphReader struct{ bin.Reader }

// list reads a list's length: -1 for nil. least is the fewest bytes an
// element takes, so that a corrupt length cannot allocate much.
// The length is stored plus one, so the bound applies to the decremented
// count (a one-element list near the end of the value is not truncated).
func (r *graphReader) list(least int) int {
	n := r.Uvarint()
	if r.Err() != nil || n == 0 {
		return -1
	}
	if n-1 > uint64(r.Remaining()/least) {
		r.Fail(bin.ErrTruncated)
		return -1
	}
	return int(n - 1)
}

func (r *graphReader) time() codecs.Time { return codecs.NewTime(r.Time()) }

func (r *graphReader) optTime() *codecs.Time {
	if !r.Bool() {
		return nil
	}
	t := r.time()
	return &t
}

func (r *graphReader) int() int { return int(r.Varint()) }

// make returns nil for n < 0, else a slice of length n.
func mk[T any](n int) []T {
	if n < 0 {
		return nil
	}
	return make([]T, n)
}

// prelude reads the fields before the sections.
func (r *graphReader) prelude(g *Graph) {
	g.TenantID = r.String()
	g.TraceID = r.String()
	g.Started = r.optTime()
	g.Ended = r.optTime()
}

// section reads one section of the head.
func (r *graphReader) section(g *Graph, sec int) {
	switch sec {
	case secAgents:
		r.agents(g)
	case secThinking:
		r.thinking(g)
	case secDecisions:
		r.decisions(g)
	case secSpans:
		r.spans(g)
	case secErrors:
		r.errors(g)
	case secFeedback:
		r.feedback(g)
	}
}

func (r *graphReader) agents(g *Graph) {
	g.Agents = mk[Agent](r.list(3))
	for i := range g.Agents {
		g.Agents[i] = Agent{Name: r.String(), FirstSeen: r.time()}
	}
}

func (r *graphReader) thinking(g *Graph) {
	g.Thinking = mk[Step](r.list(9))
	for i := range g.Thinking {
		s := &g.Thinking[i]
		s.EventID, s.Timestamp, s.SpanID, s.Agent = r.String(), r.time(), r.String(), r.String()
		s.Step, s.Kind, s.Content, s.Tokens = r.int(), r.String(), r.String(), r.int()
	}
}

func (r *graphReader) decisions(g *Graph) {
	g.Decisions = mk[DecisionNode](r.list(11))
	for i := range g.Decisions {
		d := &g.Decisions[i]
		d.EventID, d.Timestamp, d.DecisionID, d.SpanID = r.String(), r.time(), r.String(), r.String()
		d.Agent, d.DecisionType, d.Chosen = r.String(), r.String(), r.String()
		d.Alternatives = mk[codecs.Alternative](r.list(2))
		for j := range d.Alternatives {
			d.Alternatives[j] = codecs.Alternative{Option: r.String(), Score: r.Float()}
		}
		d.Confidence, d.Reason = r.Float(), r.String()
	}
}

func (r *graphReader) spans(g *Graph) {
	g.Spans = mk[SpanNode](r.list(17))
	for i := range g.Spans {
		s := &g.Spans[i]
		s.EventID, s.Timestamp, s.SpanID, s.ParentSpanID = r.String(), r.time(), r.String(), r.String()
		s.Agent, s.Name, s.Status = r.String(), r.String(), r.String()
		s.StartTime, s.EndTime, s.LatencyMS = r.time(), r.time(), r.Float()
		s.Model, s.TokensIn, s.TokensOut = r.String(), r.int(), r.int()
		if r.Bool() {
			s.Error = &codecs.SpanError{Type: r.String(), Message: r.String()}
		}
	}
}

func (r *graphReader) errors(g *Graph) {
	g.Errors = mk[SpanFailure](r.list(5))
	for i := range g.Errors {
		g.Errors[i] = SpanFailure{SpanID: r.String(), Agent: r.String(), Name: r.String(), Type: r.String(), Message: r.String()}
	}
}

func (r *graphReader) feedback(g *Graph) {
	g.Feedback = mk[FeedbackEntry](r.list(20))
	for i := range g.Feedback {
		f := &g.Feedback[i]
		f.EventID, f.Timestamp, f.ResponseID, f.SessionID = r.String(), r.time(), r.String(), r.String()
		f.UserID, f.Agent, f.Model, f.Thumbs = r.String(), r.String(), r.String(), r.String()
		if r.Bool() {
			s := r.int()
			f.Score = &s
		}
		f.Categories = mk[string](r.list(1))
		for j := range f.Categories {
			f.Categories[j] = r.String()
		}
		f.Comment, f.SignalID, f.SignalType = r.String(), r.String(), r.String()
		f.Revision, f.Weight = r.int(), r.Float()
		f.Supersedes, f.SupersededBy, f.Fingerprint = r.String(), r.String(), r.String()
	}
}

func (r *graphReader) tail(g *Graph) {
	g.Events = r.int()
	g.Dropped = Dropped{Thinking: r.int(), Decisions: r.int(), Spans: r.int(), Feedback: r.int(), Bytes: r.int()}
	g.Truncated = Truncated{Thinking: r.Bool(), Decisions: r.Bool(), Spans: r.Bool(), Bytes: r.Bool()}
	g.Bytes = r.int()
	g.DroppedFeedback.Marks = mk[dedupe.Mark](r.list(9))
	for i := range g.DroppedFeedback.Marks {
		g.DroppedFeedback.Marks[i] = dedupe.Mark{At: r.Varint(), Digest: r.U64()}
	}
	if r.Bool() {
		g.DroppedFeedback.Floor = &dedupe.Mark{At: r.Varint(), Digest: r.U64()}
	}
	g.Offsets = mk[stream.Offset](r.list(3))
	for i := range g.Offsets {
		g.Offsets[i] = stream.ReadOffset(&r.Reader)
	}
}
