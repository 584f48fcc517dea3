// Package responses keeps, per AI response, the feedback users gave it and
// the latest revision of every learning signal that feedback produced.
//
// Group "<prefix>-responses" reads ai-learning-signals (written by the
// context-graph group under the key tenant|response_id, murmur2-partitioned
// over its 3 partitions) into a table under the same key. A signal found
// under another key or partition (written by some other producer) is
// re-keyed through the group's loop first. A message that is not a learning
// signal goes to the dead-letter topic.
//
// State per response: one Entry per signal_id, the highest revision seen
// (lower or equal revisions are redeliveries or stale and change nothing),
// ordered by the feedback's timestamp then event_id. Each user's current
// entry is the last in that order (a user who changes their rating
// supersedes their earlier one). Bound: MaxSignals entries, and 768 KiB
// encoded; past either the oldest are evicted and counted in Dropped (a
// redelivered evicted signal may be counted again). An entry keeps a summary
// of the trace context (at most 16 agents and 16 models, truncated: true if
// the signal had more); the full context is in the signal on the topic and
// in the trace view.
package responses

import (
	"encoding/json"
	"flag"
	"slices"
	"strings"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Name is the group's short name.
const Name = "responses"

// Config holds the group's settings.
type Config struct {
	// MaxSignals bounds the signals kept per response.
	MaxSignals int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxSignals: 64} }

// RegisterFlags registers --responses-* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxSignals, "responses-max-signals", c.MaxSignals, "learning signals kept per response in the responses view (oldest evicted past it)")
}

// Validate checks the settings.
func (c Config) Validate() error {
	return config.CheckInts(config.IntFlag{Flag: "responses-max-signals", Value: c.MaxSignals, Lo: 1, Hi: 1024})
}

// Response is the table value, stored under codecs.TenantKey(tenant, response_id).
type Response struct {
	TenantID   string  `json:"tenant_id"`
	ResponseID string  `json:"response_id"`
	Signals    []Entry `json:"signals"`
	Dropped    int     `json:"dropped,omitempty"`
	// Offsets are the highest input offsets applied: a redelivery of one
	// rewrites the state, whose changelog write a crash may have lost.
	Offsets stream.Offsets `json:"offsets,omitempty"`
}

// Entry is the latest revision of one learning signal.
type Entry struct {
	SignalID     string                `json:"signal_id"`
	EventID      string                `json:"event_id"` // of this revision's envelope
	SignalType   string                `json:"signal_type"`
	Revision     int                   `json:"revision"`
	Weight       float64               `json:"weight"`
	TraceID      string                `json:"trace_id"`
	SessionID    string                `json:"session_id"`
	UserID       string                `json:"user_id"`
	Agent        string                `json:"agent"`
	Model        string                `json:"model"`
	Feedback     codecs.SignalFeedback `json:"feedback"`
	Supersedes   string                `json:"supersedes,omitempty"`
	SupersededBy string                `json:"superseded_by,omitempty"`
	// Current is true for the user's latest feedback on the response.
	Current bool    `json:"current"`
	Context Summary `json:"context"`
}

// Summary is an entry's digest of the signal's trace context.
type Summary struct {
	Missing    bool     `json:"missing"`
	Agents     []string `json:"agents,omitempty"`
	Models     []string `json:"models,omitempty"`
	Decisions  int      `json:"decisions"`
	SpanErrors int      `json:"span_errors"`
	LatencyMS  float64  `json:"latency_ms"`
	TokensIn   int      `json:"tokens_in"`
	TokensOut  int      `json:"tokens_out"`
	Truncated  bool     `json:"truncated,omitempty"`
}

// graph builds the group.
func graph(o stream.Options, c Config) *goka.GroupGraph {
	p := &processor{cfg: c, m: o.Metrics}
	input, loop := stream.Keyed(o.Metrics, decodeKeyed, p.apply)
	return goka.DefineGroup(o.Group(Name),
		goka.Input(goka.Stream(topology.LearningSignals), new(codec.Bytes), input),
		goka.Loop(new(codec.Bytes), loop),
		goka.Persist(new(TableCodec)),
		stream.DeadLetterOutput(),
	)
}

type processor struct {
	cfg Config
	m   *stream.Metrics
}

// decode reads a learning signal written by the context-graph group. The
// common signal is decoded in one pass (codecs.DecodeSignal); any other
// message as encoding/json decodes it, which is what DecodeSignal's result
// equals.
func decode(raw []byte) (*codecs.Envelope, *codecs.Signal, error) {
	env, s, ok := codecs.DecodeSignal(raw)
	if !ok {
		var err error
		if env, s, err = decodeJSON(raw); err != nil {
			return nil, nil, err
		}
	}
	return check(env, s)
}

// decodeJSON decodes with encoding/json, the envelope, then its data.
func decodeJSON(raw []byte) (*codecs.Envelope, *codecs.Signal, error) {
	var env codecs.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, nil, codecs.Reject(codecs.ReasonNotJSON, "", "not a learning signal envelope: %v", err)
	}
	if err := checkEnvelope(&env); err != nil {
		return nil, nil, err
	}
	var s codecs.Signal
	if err := json.Unmarshal(env.Data, &s); err != nil {
		return nil, nil, codecs.Reject(codecs.ReasonWrongType, "data", "not a learning signal: %v", err)
	}
	return &env, &s, nil
}

// checkEnvelope checks what a signal's envelope must say.
func checkEnvelope(env *codecs.Envelope) error {
	if !strings.HasPrefix(env.EventType, codecs.SignalTypePrefix) {
		return codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q is not a learning signal (%s*)", env.EventType, codecs.SignalTypePrefix)
	}
	if !codecs.ValidTenant(env.TenantID) {
		return codecs.Reject(codecs.ReasonInvalidValue, "tenant_id", "%q is not a valid tenant id", env.TenantID)
	}
	return nil
}

// check checks the envelope and the signal's fields.
func check(env *codecs.Envelope, s *codecs.Signal) (*codecs.Envelope, *codecs.Signal, error) {
	if err := checkEnvelope(env); err != nil {
		return nil, nil, err
	}
	switch {
	case s.SignalID == "":
		return nil, nil, codecs.Reject(codecs.ReasonMissingField, "data.signal_id", "required")
	case s.ResponseID == "":
		return nil, nil, codecs.Reject(codecs.ReasonMissingField, "data.response_id", "required")
	case s.Revision < 1:
		return nil, nil, codecs.Reject(codecs.ReasonInvalidValue, "data.revision", "must be >= 1, got %d", s.Revision)
	}
	return env, s, nil
}

// signalMsg is a decoded learning signal.
type signalMsg struct {
	env *codecs.Envelope
	s   *codecs.Signal
}

// decodeKeyed places a signal under tenant|response_id.
func decodeKeyed(raw []byte) (string, signalMsg, error) {
	env, s, err := decode(raw)
	if err != nil {
		return "", signalMsg{}, err
	}
	return codecs.TenantKey(env.TenantID, s.ResponseID), signalMsg{env, s}, nil
}

func (p *processor) apply(ctx goka.Context, msg signalMsg) {
	env, s := msg.env, msg.s
	r, _ := ctx.Value().(*Response)
	if r == nil {
		r = &Response{TenantID: env.TenantID, ResponseID: s.ResponseID}
	}
	e := entry(env, s)
	if i := slices.IndexFunc(r.Signals, func(x Entry) bool { return x.SignalID == s.SignalID }); i >= 0 {
		if r.Signals[i].Revision >= s.Revision {
			if r.Offsets.Redelivered(ctx) {
				ctx.SetValue(r)
			}
			return // a redelivery or an older revision
		}
		r.Signals = slices.Delete(r.Signals, i, i+1)
	}
	i, _ := slices.BinarySearchFunc(r.Signals, e, compare)
	r.Signals = slices.Insert(r.Signals, i, e)
	n := max(len(r.Signals)-p.cfg.MaxSignals, 0)
	n = max(n, overBudget(r))
	r.Signals = slices.Delete(r.Signals, 0, n)
	r.Dropped += n
	markCurrent(r.Signals)
	r.Offsets.Advance(ctx)
	ctx.SetValue(r)
}

// maxResponseBytes bounds an encoded Response, well under Kafka's 1 MiB
// record limit, whatever the signals' strings: entries of up to 8 KiB
// comments and 256-byte ids, many of them escaped, can exceed it long
// before MaxSignals.
const maxResponseBytes = 768 << 10

// overBudget is how many of the oldest entries must go for r to encode
// within maxResponseBytes (all of them if even the newest alone is over).
func overBudget(r *Response) int {
	bp := sizing.Get().(*[]byte)
	defer sizing.Put(bp)
	head := *r
	head.Signals = nil
	size := encodedLen(bp, head.appendJSON)
	for i := len(r.Signals) - 1; i >= 0; i-- {
		size += encodedLen(bp, r.Signals[i].appendJSON) + 1
		if size > maxResponseBytes {
			return i + 1
		}
	}
	return 0
}

// sizing holds scratch buffers to encode or measure states in.
var sizing = sync.Pool{New: func() any { return new([]byte) }}

// encodedLen is the length of what appendJSON writes, as TableCodec writes
// it. Only a NaN, an infinity or a time outside years 0-9999 fails to
// encode, which decoding refuses, so a failure is a bug and panics (the
// handler's guard dead-letters the event that triggered it).
func encodedLen(bp *[]byte, appendJSON func([]byte) ([]byte, bool)) int {
	b, ok := appendJSON((*bp)[:0])
	if !ok {
		panic("responses: a state entry cannot be encoded")
	}
	if cap(b) <= 1<<20 {
		*bp = b
	}
	return len(b)
}

// compare orders entries by feedback timestamp, then feedback event_id.
func compare(a, b Entry) int {
	if c := a.Feedback.Timestamp.Compare(b.Feedback.Timestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Feedback.EventID, b.Feedback.EventID)
}

// markCurrent flags each user's last entry.
func markCurrent(es []Entry) {
	last := map[string]int{}
	for i := range es {
		es[i].Current = false
		last[es[i].UserID] = i
	}
	for _, i := range last {
		es[i].Current = true
	}
}

// maxSummaryNames bounds the agents and models an entry's summary lists
// (the first ones; truncated says when there were more).
const maxSummaryNames = 16

func entry(env *codecs.Envelope, s *codecs.Signal) Entry {
	c := s.Context
	if len(c.Agents) > maxSummaryNames || len(c.Models) > maxSummaryNames {
		c.Truncated = true
		c.Agents = c.Agents[:min(len(c.Agents), maxSummaryNames)]
		c.Models = c.Models[:min(len(c.Models), maxSummaryNames)]
	}
	return Entry{
		SignalID: s.SignalID, EventID: env.EventID, SignalType: s.SignalType, Revision: s.Revision, Weight: s.Weight,
		TraceID: s.TraceID, SessionID: s.SessionID, UserID: s.UserID, Agent: s.Agent, Model: s.Model,
		Feedback: s.Feedback, Supersedes: s.Supersedes, SupersededBy: s.SupersededBy,
		Context: Summary{
			Missing: c.Missing, Agents: c.Agents, Models: c.Models, Decisions: len(c.Decisions), SpanErrors: len(c.SpanErrors),
			LatencyMS: c.LatencyMS, TokensIn: c.TokensIn, TokensOut: c.TokensOut, Truncated: c.Truncated,
		},
	}
}
