package codecs

import (
	"reflect"
	"slices"
	"sort"

	"github.com/aistream/aistream/topology"
)

// Event types the AI Service publishes. The registry says which payload each
// carries and which topic it belongs on.
const (
	TypeFeedback = "feedback.submitted"
	TypeThinking = "agent.thinking"
	TypeDecision = "agent.decision"
	TypeSpan     = "agent.span"
	TypeMetrics  = "agent.metrics"
	TypeLineage  = "query.lineage"
	TypeAudit    = "audit.recorded"
)

// Payload is a typed event body that validates itself.
type Payload interface {
	Validate() error
}

// EventType is one event type of the AI Service's contract.
type EventType struct {
	Name    string       // the envelope's event_type
	Payload reflect.Type // the struct "data" decodes into; Decode returns a pointer to it
	Topic   string       // the topic it is published on
	new     func() Payload
}

// NewPayload returns an empty payload to decode into.
func (t EventType) NewPayload() Payload { return t.new() }

// registry is the one table of event type → payload → topic, in the seed
// document's order.
var registry = []EventType{
	register[Feedback](TypeFeedback, topology.FeedbackEvents),
	register[Thinking](TypeThinking, topology.ThinkingEvents),
	register[Decision](TypeDecision, topology.DecisionEvents),
	register[Span](TypeSpan, topology.TraceEvents),
	register[Metrics](TypeMetrics, topology.MetricsEvents),
	register[Lineage](TypeLineage, topology.LineageEvents),
	register[Audit](TypeAudit, topology.AuditEvents),
}

func register[T any, P interface {
	*T
	Payload
}](name, topic string) EventType {
	return EventType{Name: name, Payload: reflect.TypeFor[T](), Topic: topic, new: func() Payload { return P(new(T)) }}
}

var byName = func() map[string]EventType {
	m := make(map[string]EventType, len(registry))
	for _, t := range registry {
		m[t.Name] = t
	}
	return m
}()

// EventTypes lists the registry in the seed document's order.
func EventTypes() []EventType { return slices.Clone(registry) }

// LookupType returns the registry entry of an event type.
func LookupType(name string) (EventType, bool) {
	t, ok := byName[name]
	return t, ok
}

// TypesOn lists the event types that belong on topic, in registry order.
func TypesOn(topic string) []string {
	var out []string
	for _, t := range registry {
		if t.Topic == topic {
			out = append(out, t.Name)
		}
	}
	return out
}

// KnownTypes lists the event types Decode accepts, sorted.
func KnownTypes() []string {
	out := make([]string, 0, len(registry))
	for _, t := range registry {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}
