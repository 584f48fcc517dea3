package stream

import (
	"context"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
)

// statsTimeout bounds how long a scrape waits for goka's statistics.
const statsTimeout = 2 * time.Second

var (
	tableOffsetDesc = prometheus.NewDesc("aistream_table_offset",
		"Last table-topic offset a local table partition has applied (recovered or processed), from goka's statistics; read against aistream_table_high_watermark for recovery progress.",
		[]string{"kind", "table", "partition"}, nil)
	tableHwmDesc = prometheus.NewDesc("aistream_table_high_watermark",
		"Next offset to be written to a table partition's topic, as goka last saw it (refreshed at least every minute).",
		[]string{"kind", "table", "partition"}, nil)
	tableStatusDesc = prometheus.NewDesc("aistream_table_status",
		"1 for goka's state of a local table partition (stopped, initializing, connecting, recovering, preparing, running), 0 for the others.",
		[]string{"kind", "table", "partition", "status"}, nil)
)

// gokaStatuses names goka's partition statuses, indexed by their value.
var gokaStatuses = []string{"stopped", "initializing", "connecting", "recovering", "preparing", "running"}

// StatsCollector exports goka's processor and view statistics at each
// scrape: per local table partition its status and recovery progress
// (offset applied against the high watermark). kind is "processor" for a
// processor group's own table copy and "view" for a view's.
func (r *Runner) StatsCollector() prometheus.Collector { return runnerStats{r} }

type runnerStats struct{ r *Runner }

func (s runnerStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- tableOffsetDesc
	ch <- tableHwmDesc
	ch <- tableStatusDesc
}

func (s runnerStats) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	for _, p := range s.r.Processors() {
		st := p.StatsWithContext(ctx)
		if st == nil || p.Graph().GroupTable() == nil {
			continue
		}
		table := p.Graph().GroupTable().Topic()
		for part, ps := range st.Group {
			if ps != nil {
				collectTable(ch, "processor", table, part, ps.TableStats)
			}
		}
	}
	s.r.mu.Lock()
	views := append([]*goka.View(nil), s.r.views...)
	s.r.mu.Unlock()
	for _, v := range views {
		st := v.Stats(ctx)
		if st == nil {
			continue
		}
		for part, ts := range st.Partitions {
			collectTable(ch, "view", v.Topic(), part, ts)
		}
	}
}

func collectTable(ch chan<- prometheus.Metric, kind, table string, part int32, ts *goka.TableStats) {
	if ts == nil {
		return
	}
	label := strconv.Itoa(int(part))
	if rs := ts.Recovery; rs != nil {
		ch <- prometheus.MustNewConstMetric(tableOffsetDesc, prometheus.GaugeValue, float64(rs.Offset), kind, table, label)
		ch <- prometheus.MustNewConstMetric(tableHwmDesc, prometheus.GaugeValue, float64(rs.Hwm), kind, table, label)
	}
	for i, name := range gokaStatuses {
		v := 0.0
		if int(ts.Status) == i {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(tableStatusDesc, prometheus.GaugeValue, v, kind, table, label, name)
	}
}
