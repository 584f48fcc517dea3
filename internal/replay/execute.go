package replay

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/aistream/aistream/topology"
)

// Result is what Execute changed.
type Result struct {
	// Tables are the recreated table topics.
	Tables []Recreated
	// Committed counts the partitions whose offsets were committed.
	Committed int
}

// Recreated is a table topic deleted and created again.
type Recreated struct {
	Topic        string
	OldID, NewID string
}

// recreateTimeout bounds waiting for a deleted topic to go and its
// successor to have leaders.
const recreateTimeout = 90 * time.Second

// Execute applies the plan: it checks again that no group has live members,
// recreates the table topic of every stateful group, then commits every
// partition's target. On an error part of it may be done; running the same
// replay again completes it (the tables are recreated again, which is what
// the replay does anyway). Do not start replicas before it succeeded.
func Execute(ctx context.Context, adm *kadm.Client, p *Plan) (Result, error) {
	var res Result
	var groups []Group
	for _, g := range p.Groups {
		groups = append(groups, g.Group)
	}
	live, err := describe(ctx, adm, groups)
	if err != nil {
		return res, err
	}
	for i := range p.Groups {
		p.Groups[i].Live = live[p.Groups[i].Group.Group]
	}
	if err := p.Live(); err != nil {
		return res, err
	}
	for _, g := range p.Groups {
		if g.Table == nil {
			continue
		}
		r, err := recreate(ctx, adm, *g.Table)
		if err != nil {
			return res, fmt.Errorf("group %s: %w", g.Group.Group, err)
		}
		res.Tables = append(res.Tables, r)
	}
	for _, g := range p.Groups {
		offsets := kadm.Offsets{}
		for _, pp := range g.Partitions {
			if pp.Kept {
				continue
			}
			offsets.Add(kadm.Offset{Topic: pp.Topic, Partition: pp.Partition, At: pp.Target, LeaderEpoch: -1})
		}
		if err := adm.CommitAllOffsets(ctx, g.Group.Group, offsets); err != nil {
			return res, fmt.Errorf("commit the target offsets of group %s: %w (did a replica start? stop it and run the replay again)", g.Group.Group, err)
		}
		offsets.Each(func(kadm.Offset) { res.Committed++ })
	}
	return res, nil
}

// recreate deletes topic t and creates it again as "topics apply" does
// (partitions, cleanup policy, replication clamped to the brokers), so that
// it has a new topic id; it returns once the new topic has a leader on
// every partition.
func recreate(ctx context.Context, adm *kadm.Client, t topology.Topic) (Recreated, error) {
	md, err := adm.Metadata(ctx, t.Name)
	if err != nil {
		return Recreated{}, fmt.Errorf("metadata of %s: %w", t.Name, err)
	}
	r := Recreated{Topic: t.Name}
	if td, ok := md.Topics[t.Name]; ok && td.Err == nil {
		r.OldID = topicID(td.ID)
	}
	t = topology.Resolve([]topology.Topic{t}, len(md.Brokers)).Topics[0]
	if _, err := adm.DeleteTopic(ctx, t.Name); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return r, fmt.Errorf("delete table topic %s: %w", t.Name, err)
	}
	deadline := time.Now().Add(recreateTimeout)
	wait := func(what string) error {
		if time.Now().After(deadline) {
			return fmt.Errorf("table topic %s: %s within %s; check the cluster, then run the replay again", t.Name, what, recreateTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
			return nil
		}
	}
	// A broker deletes a topic asynchronously: until it is gone, creating
	// it again fails with "already exists".
	for {
		_, err := adm.CreateTopic(ctx, t.Partitions, t.Replication, topicConfigs(t), t.Name)
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.TopicAlreadyExists) {
			return r, fmt.Errorf("create table topic %s again: %w", t.Name, err)
		}
		if err := wait("the deleted topic is not gone"); err != nil {
			return r, err
		}
	}
	for {
		md, err := adm.Metadata(ctx, t.Name)
		if err == nil {
			if td, ok := md.Topics[t.Name]; ok && td.Err == nil && (r.OldID == "" || topicID(td.ID) != r.OldID) && int32(len(td.Partitions)) == t.Partitions && led(td.Partitions) {
				r.NewID = topicID(td.ID)
				return r, nil
			}
		}
		if err := wait("the recreated topic has no leader on every partition"); err != nil {
			return r, err
		}
	}
}

func led(ps kadm.PartitionDetails) bool {
	for _, p := range ps {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// topicConfigs are the topic's configuration as topology.Apply writes it.
func topicConfigs(t topology.Topic) map[string]*string {
	configs := map[string]*string{"cleanup.policy": kadm.StringPtr(t.Cleanup)}
	if t.Cleanup == topology.CleanupDelete {
		configs["retention.ms"] = kadm.StringPtr(strconv.FormatInt(t.Retention.Milliseconds(), 10))
	}
	return configs
}

// topicID spells a topic id as Kafka's tools and the local state do.
func topicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}
