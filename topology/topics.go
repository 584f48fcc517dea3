// Package topology holds aistream's topics as data — the seed's nine plus the
// internal ones the processor groups need — and applies or checks them
// against a cluster.
package topology

import (
	"sort"
	"sync"
	"time"
)

// Topic names of the AI Service's contract (seed document).
const (
	FeedbackEvents  = "ai-feedback-events"
	LearningSignals = "ai-learning-signals"
	Insights        = "ai-insights"
	ThinkingEvents  = "agent-thinking-events"
	DecisionEvents  = "agent-decision-events"
	TraceEvents     = "agent-trace-events"
	MetricsEvents   = "agent-metrics-events"
	LineageEvents   = "query-lineage-events"
	AuditEvents     = "audit-events"

	// LineageRecords carries one lineage record per processed lineage event
	// for downstream catalogs (named in the seed's style).
	LineageRecords = "ai-lineage-records"
	// DeadLetters holds every message a processor could not decode or
	// validate, with its original key and bytes and the reason in headers.
	DeadLetters = "aistream-dead-letters"
)

// Cleanup policies.
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

const day = 24 * time.Hour

// Topic is one topic as aistream expects it on the cluster.
type Topic struct {
	Name        string
	Partitions  int32
	Replication int16
	// Retention is retention.ms; zero for compacted topics (kept forever).
	Retention time.Duration
	Cleanup   string
	Internal  bool
	Purpose   string
}

// Contract returns the seed's topics plus the project's own output and
// dead-letter topics. The partition counts are part of the AI Service's
// contract: changing one moves keys to other partitions.
func Contract() []Topic {
	return []Topic{
		{Name: FeedbackEvents, Partitions: 6, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "User feedback on AI responses"},
		{Name: LearningSignals, Partitions: 3, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Processed signals for model improvement"},
		{Name: Insights, Partitions: 3, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Analytical insights for alerting"},
		{Name: ThinkingEvents, Partitions: 6, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Agent reasoning traces for Context Graph"},
		{Name: DecisionEvents, Partitions: 6, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Router and orchestrator decisions"},
		{Name: TraceEvents, Partitions: 6, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Full execution traces"},
		{Name: MetricsEvents, Partitions: 3, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Purpose: "Quality and performance metrics"},
		{Name: LineageEvents, Partitions: 3, Replication: 3, Retention: 30 * day, Cleanup: CleanupDelete, Purpose: "SQL lineage and provenance"},
		{Name: AuditEvents, Partitions: 6, Replication: 3, Retention: 90 * day, Cleanup: CleanupDelete, Purpose: "Read-only audit trail"},
		{Name: LineageRecords, Partitions: 3, Replication: 3, Retention: 30 * day, Cleanup: CleanupDelete, Purpose: "Lineage records for downstream catalogs"},
		{Name: DeadLetters, Partitions: 6, Replication: 3, Retention: 30 * day, Cleanup: CleanupDelete, Internal: true, Purpose: "Messages that failed to decode or validate, original bytes kept"},
	}
}

// Group is one processor group's internal topics: its table (compacted) and,
// when it re-keys, its loop; extra lists further internal streams it owns.
type Group struct {
	Name       string // full group name, prefix included
	Partitions int32  // equal to its input topics' (goka co-partitioning)
	Table      bool
	Loop       bool
	Extra      []string
}

// GroupTable is goka's table topic name for a group.
func GroupTable(group string) string { return group + "-table" }

// GroupLoop is goka's loop topic name for a group.
func GroupLoop(group string) string { return group + "-loop" }

// Internal returns the topics the given groups need.
func Internal(groups []Group) []Topic {
	var out []Topic
	for _, g := range groups {
		if g.Table {
			out = append(out, Topic{Name: GroupTable(g.Name), Partitions: g.Partitions, Replication: 3, Cleanup: CleanupCompact, Internal: true, Purpose: "state of group " + g.Name})
		}
		if g.Loop {
			out = append(out, Topic{Name: GroupLoop(g.Name), Partitions: g.Partitions, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Internal: true, Purpose: "re-keyed input of group " + g.Name})
		}
		for _, e := range g.Extra {
			out = append(out, Topic{Name: e, Partitions: g.Partitions, Replication: 3, Retention: 7 * day, Cleanup: CleanupDelete, Internal: true, Purpose: "repartitioned input of group " + g.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// All returns the contract topics followed by the given groups' internal ones.
func All(groups []Group) []Topic { return append(Contract(), Internal(groups)...) }

// Find returns the topic named name.
func Find(topics []Topic, name string) (Topic, bool) {
	for _, t := range topics {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

// PartitionsOf returns the partition count of a contract topic. Every
// re-keying handler asks it for every event, so it reads a map built once
// from Contract instead of building the list each time.
func PartitionsOf(name string) (int32, bool) {
	n, ok := contractPartitions()[name]
	return n, ok
}

// contractPartitions is the partition count of every contract topic.
var contractPartitions = sync.OnceValue(func() map[string]int32 {
	m := map[string]int32{}
	for _, t := range Contract() {
		m[t.Name] = t.Partitions
	}
	return m
})
