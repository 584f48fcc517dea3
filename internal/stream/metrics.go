// Package stream is the plumbing every aistream processor and view shares:
// goka options wired to one sarama configuration and the project's murmur2
// partitioning, strict decoding with dead letters, and the Prometheus metrics
// of the seed document.
package stream

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the process's Prometheus metrics. The first four are the seed
// document's; the rest are aistream's own.
type Metrics struct {
	Registry       *prometheus.Registry
	Produced       *prometheus.CounterVec   // ai_kafka_messages_produced_total{topic,group}
	Consumed       *prometheus.CounterVec   // ai_kafka_messages_consumed_total{topic,group}
	Lag            *prometheus.GaugeVec     // ai_kafka_consumer_lag{group,topic,partition}
	ProduceLatency *prometheus.HistogramVec // ai_kafka_produce_latency_seconds{topic}
	ProduceErrors  *prometheus.CounterVec   // aistream_produce_errors_total{topic}
	DeadLetters    *prometheus.CounterVec   // aistream_dead_letters_total{source_topic,reason}
	Late           *prometheus.CounterVec   // aistream_late_events_total{group}
	Dropped        *prometheus.CounterVec   // aistream_dropped_events_total{group,event_type}
	PartitionState *prometheus.GaugeVec     // aistream_partition_state{group,partition,state}
	Rebalances     *prometheus.CounterVec   // aistream_rebalances_total{group}
	LagSeconds     *prometheus.GaugeVec     // aistream_consumer_lag_seconds{group,topic,partition}
	HTTPRequests   *prometheus.CounterVec   // aistream_http_requests_total{route,method,code}
	HTTPDuration   *prometheus.HistogramVec // aistream_http_request_duration_seconds{route,method}
	BuildInfo      *prometheus.GaugeVec     // aistream_build_info{version,revision,go_version}
	// ChangelogMerged counts table writes a later write of their key
	// replaced before they were produced (changelog.go).
	ChangelogMerged *prometheus.CounterVec // aistream_changelog_writes_merged_total{group}
	// Partitions holds the states behind PartitionState, for /readyz.
	Partitions *Partitions
	// processed holds, per group, topic and partition (a processedKey), the
	// timestamp of the last record processed there (*atomic.Int64, Unix ns).
	processed sync.Map
}

type processedKey struct {
	group, topic string
	partition    int32
}

// markProcessed records that group processed a record of topic/partition
// with timestamp ts.
func (m *Metrics) markProcessed(group, topic string, partition int32, ts time.Time) {
	k := processedKey{group, topic, partition}
	v, ok := m.processed.Load(k)
	if !ok {
		v, _ = m.processed.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(ts.UnixNano())
}

// lastProcessed is the timestamp markProcessed last recorded, if any.
func (m *Metrics) lastProcessed(group, topic string, partition int32) (time.Time, bool) {
	v, ok := m.processed.Load(processedKey{group, topic, partition})
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, v.(*atomic.Int64).Load()), true
}

// NewMetrics registers the metrics on a fresh registry (plus Go and process
// collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ai_kafka_messages_produced_total", Help: "Total messages produced by topic, and by the processor group that produced them (empty outside a group).",
		}, []string{"topic", "group"}),
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ai_kafka_messages_consumed_total", Help: "Total messages consumed by topic.",
		}, []string{"topic", "group"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ai_kafka_consumer_lag", Help: "Consumer group lag by partition (newest offset minus committed offset), exported only by the replica that processes the partition, so a sum over replicas counts each partition once.",
		}, []string{"group", "topic", "partition"}),
		LagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aistream_consumer_lag_seconds", Help: "How far behind a partition's processing is in time: now minus the timestamp of the last record processed, while records wait (0 when none do); only from the replica processing the partition.",
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
		}, []string{"source_topic", "reason"}),
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
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aistream_http_requests_total", Help: "HTTP requests answered, by route pattern (never the raw path), method and status class (2xx, 4xx, 5xx).",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aistream_http_request_duration_seconds", Help: "HTTP request latency, from routing to the last byte written, by route pattern and method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"route", "method"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aistream_build_info", Help: "Always 1; the labels say which build of aistream runs (module version, VCS revision, Go version).",
		}, []string{"version", "revision", "go_version"}),
	}
	m.ChangelogMerged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aistream_changelog_writes_merged_total", Help: "Table writes not produced to the group table's changelog because a later write of the same key replaced them first (--changelog-flush-interval), by group.",
	}, []string{"group"})
	m.BuildInfo.WithLabelValues(buildInfo()).Set(1)
	m.Partitions = newPartitions(m.PartitionState)
	m.Registry.MustRegister(m.Produced, m.Consumed, m.Lag, m.ProduceLatency, m.ProduceErrors, m.DeadLetters, m.Late, m.Dropped,
		m.PartitionState, m.Rebalances, m.LagSeconds, m.HTTPRequests, m.HTTPDuration, m.BuildInfo, m.ChangelogMerged,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// buildInfo is the binary's module version, VCS revision (with "-dirty"
// for a modified tree) and Go version, from the build information the Go
// toolchain embeds; "unknown" for what a build does not record.
func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	goVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		version = v
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && revision != "unknown" {
		revision += "-dirty"
	}
	return
}

// StatusClass is an HTTP status as the metrics label it: "2xx", "4xx", ….
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// MethodLabel is an HTTP method as the metrics label it: the standard
// methods as sent, anything else "other" (a client names the method, so it
// must not create series at will).
func MethodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}
