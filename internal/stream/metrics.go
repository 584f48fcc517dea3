// Package stream is the plumbing every aistream processor and view shares:
// goka options wired to one sarama configuration and the project's murmur2
// partitioning, strict decoding with dead letters, and the Prometheus metrics
// of the seed document.
package stream

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the process's Prometheus metrics. The first four are the seed
// document's; the rest are aistream's own.
type Metrics struct {
	Registry       *prometheus.Registry
	Produced       *prometheus.CounterVec   // ai_kafka_messages_produced_total{topic}
	Consumed       *prometheus.CounterVec   // ai_kafka_messages_consumed_total{topic,group}
	Lag            *prometheus.GaugeVec     // ai_kafka_consumer_lag{group,topic,partition}
	ProduceLatency *prometheus.HistogramVec // ai_kafka_produce_latency_seconds{topic}
	ProduceErrors  *prometheus.CounterVec   // aistream_produce_errors_total{topic}
	DeadLetters    *prometheus.CounterVec   // aistream_dead_letters_total{topic,reason}
	Late           *prometheus.CounterVec   // aistream_late_events_total{group}
	Dropped        *prometheus.CounterVec   // aistream_dropped_events_total{group,event_type}
	PartitionState *prometheus.GaugeVec     // aistream_partition_state{group,partition,state}
	Rebalances     *prometheus.CounterVec   // aistream_rebalances_total{group}
	// Partitions holds the states behind PartitionState, for /readyz.
	Partitions *Partitions
}

// NewMetrics registers the metrics on a fresh registry (plus Go and process
// collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ai_kafka_messages_produced_total", Help: "Total messages produced by topic.",
		}, []string{"topic"}),
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ai_kafka_messages_consumed_total", Help: "Total messages consumed by topic.",
		}, []string{"topic", "group"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ai_kafka_consumer_lag", Help: "Consumer group lag by partition (newest offset minus committed offset).",
		}, []string{"group", "topic", "partition"}),
		ProduceLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ai_kafka_produce_latency_seconds", Help: "Producer send latency, from emit to broker acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"topic"}),
		ProduceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_produce_errors_total", Help: "Messages the producer failed to deliver, by topic.",
		}, []string{"topic"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_dead_letters_total", Help: "Messages sent to the dead-letter topic, by source topic and reason.",
		}, []string{"topic", "reason"}),
		Late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_late_events_total", Help: "Events that arrived after their window's grace period, by group.",
		}, []string{"group"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_dropped_events_total", Help: "Valid events not kept in state because a bound was reached, by group and event type.",
		}, []string{"group", "event_type"}),
		PartitionState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aistream_partition_state", Help: "1 for the state (recovering, standby, running) a partition of a processor group is in on this replica, 0 for the others; no series for a partition the replica does not hold.",
		}, []string{"group", "partition", "state"}),
		Rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_rebalances_total", Help: "Consumer group generations this replica joined (its first join included), by group.",
		}, []string{"group"}),
	}
	m.Partitions = newPartitions(m.PartitionState)
	m.Registry.MustRegister(m.Produced, m.Consumed, m.Lag, m.ProduceLatency, m.ProduceErrors, m.DeadLetters, m.Late, m.Dropped,
		m.PartitionState, m.Rebalances,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
