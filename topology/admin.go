package topology

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Admin is the part of sarama.ClusterAdmin that apply and check use.
type Admin interface {
	ListTopics() (map[string]sarama.TopicDetail, error)
	DescribeCluster() ([]*sarama.Broker, int32, error)
	DescribeConfig(resource sarama.ConfigResource) ([]sarama.ConfigEntry, error)
	CreateTopic(topic string, detail *sarama.TopicDetail, validateOnly bool) error
	AlterConfig(resourceType sarama.ConfigResourceType, name string, entries map[string]*string, validateOnly bool) error
}

// Drift is one difference between a topic on the cluster and its definition.
type Drift struct {
	Topic   string
	Field   string // partitions, replication, retention.ms, cleanup.policy, missing
	Want    string
	Got     string
	Fixable bool // apply can fix it without moving keys
}

func (d Drift) String() string {
	if d.Field == "missing" {
		return fmt.Sprintf("%s: missing", d.Topic)
	}
	return fmt.Sprintf("%s: %s is %s, want %s", d.Topic, d.Field, d.Got, d.Want)
}

// Plan is a set of topics resolved against one cluster: replication clamped
// to the number of brokers, with a warning for each clamped topic.
type Plan struct {
	Topics   []Topic
	Warnings []string
	// Clamps are the clamped replications behind Warnings, one per
	// replication factor, in the order first met.
	Clamps []Clamp
}

// Clamp is one replication factor lowered to the number of brokers.
type Clamp struct {
	From, To int16
	Topics   []string
}

// Short is the clamp in one line without the topic names (for dev, where a
// one-broker cluster is expected).
func (c Clamp) Short() string {
	return fmt.Sprintf("replication %d clamped to %d for %d topics (one broker per replica needed; fine for dev)", c.From, c.To, len(c.Topics))
}

// Resolve clamps every topic's replication to brokers (a one-broker
// development cluster cannot hold three replicas), with one warning per
// clamped replication naming every topic it touched.
func Resolve(topics []Topic, brokers int) Plan {
	var p Plan
	clamped := map[int16][]string{}
	var order []int16
	for _, t := range topics {
		if brokers > 0 && int(t.Replication) > brokers {
			if clamped[t.Replication] == nil {
				order = append(order, t.Replication)
			}
			clamped[t.Replication] = append(clamped[t.Replication], t.Name)
			t.Replication = int16(brokers)
		}
		p.Topics = append(p.Topics, t)
	}
	for _, r := range order {
		p.Clamps = append(p.Clamps, Clamp{From: r, To: int16(brokers), Topics: clamped[r]})
		p.Warnings = append(p.Warnings, fmt.Sprintf("replication %d clamped to %d (the cluster has %d broker(s)) for topic(s) %s",
			r, brokers, brokers, strings.Join(clamped[r], ", ")))
	}
	return p
}

// ResolveFor counts the cluster's brokers and resolves topics against it.
func ResolveFor(admin Admin, topics []Topic) (Plan, error) {
	brokers, _, err := admin.DescribeCluster()
	if err != nil {
		return Plan{}, fmt.Errorf("describe cluster: %w", err)
	}
	return Resolve(topics, len(brokers)), nil
}

func (t Topic) configEntries() map[string]*string {
	cleanup := t.Cleanup
	entries := map[string]*string{"cleanup.policy": &cleanup}
	if t.Cleanup == CleanupDelete {
		ms := strconv.FormatInt(t.Retention.Milliseconds(), 10)
		entries["retention.ms"] = &ms
	}
	return entries
}

// Check compares the plan with the cluster and returns every drift, missing
// topics included. An empty result means the cluster matches.
func Check(admin Admin, plan Plan) ([]Drift, error) {
	existing, err := admin.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var drifts []Drift
	for _, t := range plan.Topics {
		got, ok := existing[t.Name]
		if !ok {
			drifts = append(drifts, Drift{Topic: t.Name, Field: "missing", Want: "present", Got: "absent", Fixable: true})
			continue
		}
		if got.NumPartitions != t.Partitions {
			drifts = append(drifts, Drift{Topic: t.Name, Field: "partitions", Want: itoa(int64(t.Partitions)), Got: itoa(int64(got.NumPartitions))})
		}
		if got.ReplicationFactor != t.Replication {
			drifts = append(drifts, Drift{Topic: t.Name, Field: "replication", Want: itoa(int64(t.Replication)), Got: itoa(int64(got.ReplicationFactor))})
		}
		cfg, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t.Name})
		if err != nil {
			return nil, fmt.Errorf("describe config of topic %s: %w", t.Name, err)
		}
		values := map[string]string{}
		for _, e := range cfg {
			values[e.Name] = e.Value
		}
		for key, want := range t.configEntries() {
			if values[key] != *want {
				drifts = append(drifts, Drift{Topic: t.Name, Field: key, Want: *want, Got: orNone(values[key]), Fixable: true})
			}
		}
	}
	sort.SliceStable(drifts, func(i, j int) bool { return drifts[i].Topic < drifts[j].Topic })
	return drifts, nil
}

// Apply creates the plan's missing topics and fixes configuration drift
// (retention, cleanup policy). It never changes partition counts or
// replication: more partitions would move keys away from their state, so
// those drifts are returned for an operator to decide. Apply is idempotent.
func Apply(admin Admin, plan Plan) (created []string, unfixable []Drift, err error) {
	drifts, err := Check(admin, plan)
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]Topic{}
	for _, t := range plan.Topics {
		byName[t.Name] = t
	}
	altered := map[string]bool{}
	for _, d := range drifts {
		t := byName[d.Topic]
		switch {
		case d.Field == "missing":
			detail := &sarama.TopicDetail{NumPartitions: t.Partitions, ReplicationFactor: t.Replication, ConfigEntries: t.configEntries()}
			if err := admin.CreateTopic(t.Name, detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
				return created, unfixable, fmt.Errorf("create topic %s: %w", t.Name, err)
			}
			created = append(created, t.Name)
		case d.Fixable:
			if altered[t.Name] {
				continue
			}
			altered[t.Name] = true
			if err := admin.AlterConfig(sarama.TopicResource, t.Name, t.configEntries(), false); err != nil {
				return created, unfixable, fmt.Errorf("alter config of topic %s: %w", t.Name, err)
			}
		default:
			unfixable = append(unfixable, d)
		}
	}
	if err := waitListed(admin, created); err != nil {
		return created, unfixable, err
	}
	return created, unfixable, nil
}

// waitListed blocks until the cluster's metadata lists every created topic:
// right after CreateTopics a broker may still answer without them, and
// goka's topic manager would then try to create them again and fail with
// "Topic already exists".
func waitListed(admin Admin, names []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for len(names) > 0 {
		existing, err := admin.ListTopics()
		if err == nil {
			missing := names[:0:0]
			for _, n := range names {
				if _, ok := existing[n]; !ok {
					missing = append(missing, n)
				}
			}
			names = missing
			if len(names) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("created topics %v are not in the cluster's metadata after 30s", names)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// RetentionString renders a retention for tables and docs ("7 days").
func RetentionString(d time.Duration) string {
	if d == 0 {
		return "compacted"
	}
	return fmt.Sprintf("%d days", int(d/day))
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
