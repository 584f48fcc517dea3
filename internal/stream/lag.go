package stream

import (
	"context"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// pollEvery is how often the lag monitor asks the cluster.
const pollEvery = 5 * time.Second

// MonitorLag sets ai_kafka_consumer_lag for the input partitions every
// group processes on this replica from the cluster's view (newest offset
// minus the group's committed offset), and aistream_consumer_lag_seconds
// from the last record processed, until ctx ends. It measures what an
// operator's tools would, independent of how goka consumes. A partition
// another replica processes has no series here (its owner exports it), so
// a sum over replicas counts each partition once.
func MonitorLag(ctx context.Context, env *Env, procs []*Processor) {
	if env.Metrics == nil {
		return
	}
	client, err := sarama.NewClient(env.Brokers, env.config("aistream-lag-monitor"))
	if err != nil {
		env.Log.Warn().Err(err).Msg("consumer lag monitor disabled: cannot connect")
		return
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		env.Log.Warn().Err(err).Msg("consumer lag monitor disabled")
		return
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		for _, p := range procs {
			pollLag(env, client, admin, p.Graph())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func pollLag(env *Env, client sarama.Client, admin sarama.ClusterAdmin, gg *goka.GroupGraph) {
	group := string(gg.Group())
	parts := map[string][]int32{}
	for _, topic := range Inputs(gg) {
		ps, err := client.Partitions(topic)
		if err != nil {
			continue
		}
		parts[topic] = ps
	}
	committed, err := admin.ListConsumerGroupOffsets(group, parts)
	if err != nil {
		env.Log.Debug().Err(err).Str("group", group).Msg("lag: list offsets")
		return
	}
	setLag(env.Metrics, group, parts, env.Metrics.Partitions.Running(group), time.Now(), func(topic string, p int32) (int64, bool) {
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, false
		}
		lag := newest
		if b := committed.GetBlock(topic, p); b != nil && b.Offset >= 0 {
			lag = newest - b.Offset
		}
		return max(lag, 0), true
	})
}

// setLag sets the lag series of group's input partitions parts: only those
// in owned (the partitions this replica processes; input partition n is
// group partition n, the inputs being co-partitioned), deleting the
// others'. lag returns a partition's offset lag, false when unknown.
func setLag(m *Metrics, group string, parts map[string][]int32, owned map[int32]bool, now time.Time, lag func(string, int32) (int64, bool)) {
	for topic, ps := range parts {
		for _, p := range ps {
			label := strconv.Itoa(int(p))
			if !owned[p] {
				m.Lag.DeleteLabelValues(group, topic, label)
				m.LagSeconds.DeleteLabelValues(group, topic, label)
				continue
			}
			n, ok := lag(topic, p)
			if !ok {
				continue
			}
			m.Lag.WithLabelValues(group, topic, label).Set(float64(n))
			secs := 0.0
			if last, seen := m.lastProcessed(group, topic, p); n > 0 && seen {
				secs = max(now.Sub(last).Seconds(), 0)
			}
			m.LagSeconds.WithLabelValues(group, topic, label).Set(secs)
		}
	}
}
