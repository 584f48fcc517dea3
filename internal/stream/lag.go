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

// MonitorLag sets ai_kafka_consumer_lag for every group's input partitions
// from the cluster's view (newest offset minus the group's committed offset)
// until ctx ends. It measures what an operator's tools would, independent of
// how goka consumes.
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
	for topic, ps := range parts {
		for _, p := range ps {
			newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				continue
			}
			lag := newest
			if b := committed.GetBlock(topic, p); b != nil && b.Offset >= 0 {
				lag = newest - b.Offset
			}
			if lag < 0 {
				lag = 0
			}
			env.Metrics.Lag.WithLabelValues(group, topic, strconv.Itoa(int(p))).Set(float64(lag))
		}
	}
}
