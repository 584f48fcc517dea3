// Package contextgraph keeps one context graph per trace and turns user
// feedback into learning signals joined with the context of the trace it
// rates.
//
// # Group "<prefix>-context-graph"
//
// Inputs: agent-thinking-events, agent-decision-events, agent-trace-events
// and ai-feedback-events (6 partitions each), decoded strictly; a message
// that fails, or whose event type does not belong on its topic, goes to the
// dead-letter topic with its original bytes. State: one Graph per trace in
// the group table under the trace_id exactly as the AI Service writes it (no
// tenant prefix), so that a trace produced by aiokafka or the Java client
// with key trace_id sits on the partition murmur2 picks and the view finds
// it under that key. An event under another key, or on a partition murmur2
// would not pick (kcat/librdkafka), is first re-keyed through the group's
// loop (6 partitions).
//
// Tenant isolation: a graph records the tenant of its first event. An event
// of another tenant for that trace is not applied: it goes to the dead-letter
// topic with reason tenant_conflict (as decoded: envelope re-serialised, its
// data bytes unchanged). The trace view answers 404 to other tenants.
//
// Order and duplicates: events arrive in any order and more than once. An
// event whose event_id is in the graph (entries carry their event_id; ids of
// events dropped past a bound are kept in a FIFO of 512) changes nothing and
// emits nothing. Thinking steps are ordered by (step, event time, event_id),
// decisions by (event time, decision_id), spans by (start_time, span_id),
// agents by the event time of their first appearance (then its event_id); a
// later event (event time, then event_id) for a known decision_id or span_id
// replaces it, and agents, time range and event count are derived from the
// entries kept. So the graph does not depend on arrival order within its
// bounds.
//
// Bounds (Config): at most MaxThinkingSteps steps, MaxSpans spans,
// MaxDecisions decisions and MaxFeedback feedback entries, and entries
// taking at most MaxStateBytes of the encoded graph (with the ids of dropped
// events, at most 64 KiB more, an encoded graph stays one Kafka record).
// Past a bound the first ones kept stay, later ones
// are counted in Graph.Dropped and not stored (a dropped feedback still gets
// its signal, but no revisions). Stored strings are clipped (thinking content
// to 2 KiB, reasons and error messages to 1 KiB, names and ids to 256 bytes),
// decisions keep their first 16 alternatives.
//
// # Learning signals
//
// Feedback is one more event on its trace's graph, so whichever arrives first
// the signal comes out complete: on a feedback, a signal is emitted to
// ai-learning-signals under codecs.TenantKey(tenant, response_id) with the
// context the graph holds (or context.missing=true when the trace was never
// seen). When a later thinking, decision or span event, of event time no
// later than the feedback's timestamp plus SignalHorizon, changes what the
// signal's context says, the signal is emitted again with the same
// signal_id and revision+1: at most one revision per incoming trace event,
// none for a duplicate. State update and emits happen in one goka callback,
// and goka commits the input offset only after both, so a restart mid-batch
// redelivers the input, which the event_id dedupe then absorbs: exactly one
// signal per feedback event per revision. Ids, types and the weight formula
// are in signal.go and SIGNALS.md.
package contextgraph

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Name is the group's short name.
const Name = "context-graph"

// Source is the envelope source of what aistream produces.
const Source = "aistream"

// SignalStream is ai-learning-signals as a goka stream.
var SignalStream = goka.Stream(topology.LearningSignals)

// Config holds the context-graph settings.
type Config struct {
	// SignalHorizon is how far past a feedback's timestamp (event time) a
	// trace event may still revise its signal.
	SignalHorizon    time.Duration
	MaxThinkingSteps int
	MaxSpans         int
	MaxDecisions     int
	MaxFeedback      int
	MaxStateBytes    int
	// A signal carries at most this many thinking steps, decisions and
	// span errors (the first in graph order); context.truncated says so.
	SignalThinkingSteps int
	SignalDecisions     int
	SignalSpanErrors    int
	// IndexRetention bounds the trace index in event time: an entry whose
	// start is older than its tenant's newest start minus this is deleted.
	IndexRetention time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		SignalHorizon:    15 * time.Minute,
		MaxThinkingSteps: 256, MaxSpans: 512, MaxDecisions: 128, MaxFeedback: 64,
		MaxStateBytes:       512 << 10,
		SignalThinkingSteps: 32, SignalDecisions: 32, SignalSpanErrors: 32,
		IndexRetention: 7 * 24 * time.Hour,
	}
}

// RegisterFlags registers --signals-horizon and --context-graph-* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.SignalHorizon, "signals-horizon", c.SignalHorizon, "event time after a feedback within which late trace context revises its learning signal")
	fs.IntVar(&c.MaxThinkingSteps, "context-graph-max-steps", c.MaxThinkingSteps, "thinking steps kept per trace")
	fs.IntVar(&c.MaxSpans, "context-graph-max-spans", c.MaxSpans, "spans kept per trace")
	fs.IntVar(&c.MaxDecisions, "context-graph-max-decisions", c.MaxDecisions, "decisions kept per trace")
	fs.IntVar(&c.MaxFeedback, "context-graph-max-feedback", c.MaxFeedback, "feedback entries kept per trace")
	fs.DurationVar(&c.IndexRetention, "trace-index-retention", c.IndexRetention, "event time a trace stays in GET /v1/traces: entries started longer before the tenant's newest trace are deleted")
	fs.IntVar(&c.MaxStateBytes, "context-graph-max-bytes", c.MaxStateBytes, "encoded bytes of the entries kept per trace (the graph stays under this + 72 KiB)")
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.SignalHorizon < 0 || c.SignalHorizon > 7*24*time.Hour {
		return fmt.Errorf("--signals-horizon=%s is not valid: want a duration from 0s to 168h", c.SignalHorizon)
	}
	if c.IndexRetention < indexBucket || c.IndexRetention > 400*24*time.Hour {
		return fmt.Errorf("--trace-index-retention=%s is not valid: want a duration from 10m to 9600h", c.IndexRetention)
	}
	if err := config.CheckInts(
		config.IntFlag{Flag: "context-graph-max-steps", Value: c.MaxThinkingSteps, Lo: 1, Hi: 4096},
		config.IntFlag{Flag: "context-graph-max-spans", Value: c.MaxSpans, Lo: 1, Hi: 4096},
		config.IntFlag{Flag: "context-graph-max-decisions", Value: c.MaxDecisions, Lo: 1, Hi: 4096},
		config.IntFlag{Flag: "context-graph-max-feedback", Value: c.MaxFeedback, Lo: 1, Hi: 1024},
		// A graph is one record of the table topic (1 MB by default).
		config.IntFlag{Flag: "context-graph-max-bytes", Value: c.MaxStateBytes, Lo: 16 << 10, Hi: 800 << 10},
	); err != nil {
		return err
	}
	if c.SignalThinkingSteps < 0 || c.SignalDecisions < 0 || c.SignalSpanErrors < 0 {
		return errors.New("signal context bounds must be >= 0")
	}
	return nil
}

// inputs are the AI Service's topics the group reads (their event types
// come from the codecs registry).
var inputs = []string{topology.ThinkingEvents, topology.DecisionEvents, topology.TraceEvents, topology.FeedbackEvents}

// graph builds the context-graph group.
func graph(o stream.Options, c Config) *goka.GroupGraph {
	p := &processor{cfg: c, m: o.Metrics, indexOut: o.Prefix.Stream(IndexStream), memo: newTableCodec()}
	var (
		edges []goka.Edge
		all   []string
	)
	for _, topic := range inputs {
		types := codecs.TypesOn(topic)
		edges = append(edges, goka.Input(goka.Stream(topic), new(codec.Bytes), stream.Accept(o.Decoder, o.Metrics, types, p.input)))
		all = append(all, types...)
	}
	edges = append(edges,
		goka.Loop(new(codec.Bytes), stream.Accept(o.Decoder, o.Metrics, all, p.handle)),
		goka.Persist(p.memo),
		goka.Output(SignalStream, new(codec.Bytes)),
		goka.Output(p.indexOut, new(codec.Bytes)),
		stream.DeadLetterOutput(),
	)
	return goka.DefineGroup(o.Group(Name), edges...)
}

// Module is the context-graph processor: group "context-graph" and the read
// model of GET /v1/traces/{trace_id}.
func Module() *stream.Module { return NewModule(DefaultConfig()) }

// NewModule is the module with the given settings (flags still override them).
func NewModule(c Config) *stream.Module {
	cfg := &c
	return &stream.Module{
		Name:     Name,
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Groups: []stream.Group{
			{Name: Name, Graph: func(o stream.Options) *goka.GroupGraph { return graph(o, *cfg) }},
			{Name: IndexName, Graph: func(o stream.Options) *goka.GroupGraph { return indexGraph(o, cfg.IndexRetention) }, Partitions: indexPartitions},
		},
		Read: func(p stream.Prefix, open api.Opener) ([]api.Route, error) {
			t, err := open(p.Table(Name), new(TableCodec))
			if err != nil {
				return nil, err
			}
			idx, err := open(p.Table(IndexName), new(indexCodec))
			if err != nil {
				return nil, err
			}
			return append(NewQuery(t).Routes(), indexRoutes(idx)...), nil
		},
	}
}
