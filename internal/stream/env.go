package stream

import (
	"fmt"
	"hash"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/topology"
)

// Env is what every goka processor, view and emitter in one process shares:
// the brokers, one sarama configuration (copied per client), the state
// directory, the replication the cluster can hold, logging and metrics.
type Env struct {
	Brokers []string
	Sarama  *sarama.Config
	// StateDir holds local table state: StateDir/processors and StateDir/views.
	// Each replica needs its own.
	StateDir string
	// Replication for topics goka would create itself (all topics are
	// normally applied up front; this is the clamped fallback).
	Replication int
	Log         zerolog.Logger
	Metrics     *Metrics
	// ChangelogFlush is how long a processor group's producer holds the
	// writes to the group's table changelog, merging a key's writes into
	// one record (changelog.go); 0 produces every write at once. The
	// commands set it from --changelog-flush-interval (default
	// config.DefaultChangelogFlushInterval).
	ChangelogFlush time.Duration
}

// SaramaConfig is a copy of the configuration every sarama client of env
// gets (its partitioner and group balance strategy set), with clientID if
// not "": for a client that is not goka's (the bench's sarama floor).
func (e *Env) SaramaConfig(clientID string) *sarama.Config { return e.config(clientID) }

func (e *Env) config(clientID string) *sarama.Config {
	c := *e.Sarama
	if clientID != "" {
		c.ClientID = clientID
	}
	c.Producer.Partitioner = sarama.NewCustomHashPartitioner(topology.NewHash)
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	return &c
}

func (e *Env) topicManagerBuilder() goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		tm := goka.NewTopicManagerConfig()
		tm.Table.Replication = e.Replication
		tm.Stream.Replication = e.Replication
		tm.Stream.Retention = 7 * 24 * time.Hour
		tm.MismatchBehavior = goka.TMConfigMismatchBehaviorWarn
		return goka.NewTopicManager(brokers, e.config("aistream-topic-manager"), tm)
	}
}

func (e *Env) producerBuilder(group string) goka.ProducerBuilder {
	// goka's hasher is topology.NewHash (ProcessorOptions); the client
	// partitions with topology.PartitionFor, the same placement
	// (producer.go).
	return func(brokers []string, clientID string, _ func() hash.Hash32) (goka.Producer, error) {
		cl, err := newFranzClient(brokers, e.config(clientID))
		if err != nil {
			return nil, err
		}
		return newProducer(cl, e.Metrics, group, e.ChangelogFlush), nil
	}
}

func (e *Env) partitions() *Partitions {
	if e.Metrics == nil {
		return nil
	}
	return e.Metrics.Partitions
}

// ProcessorOptions configures a goka processor for this environment.
//
// Failover (README "Failover"): with hot standby every replica keeps a
// local copy of every partition of the group's table up to date, so the
// one that takes over a partition has next to nothing to restore; the cost
// is that every replica consumes every table partition and stores the
// whole table. Recover-ahead restores all of them before the replica joins
// the group, so a restarting replica does not hold up the others' next
// generation with its restore.
func (e *Env) ProcessorOptions() []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithHasher(topology.NewHash),
		goka.WithStorageBuilder(e.partitions().trackStorage(e.Log, leveldbBuilder(filepath.Join(e.StateDir, "processors")))),
		goka.WithTopicManagerBuilder(e.topicManagerBuilder()),
		goka.WithProducerBuilder(e.producerBuilder("")),
		goka.WithConsumerGroupBuilder(func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
			c := e.config(clientID)
			cg, err := sarama.NewConsumerGroup(brokers, group, c)
			if err != nil {
				return nil, err
			}
			return &rejoiningGroup{ConsumerGroup: WrapConsumerGroup(cg), group: group,
				session: c.Consumer.Group.Session.Timeout, parts: e.partitions(), metrics: e.Metrics, log: e.Log}, nil
		}),
		goka.WithHotStandby(),
		goka.WithRecoverAhead(),
		// A tombstone on an input is dead-lettered (Accept, Keyed), not
		// dropped unseen. This applies to input callbacks only: table
		// recovery still deletes the key of a nil table record.
		goka.WithNilHandling(goka.NilProcess),
		goka.WithConsumerSaramaBuilder(func(brokers []string, clientID string) (sarama.Consumer, error) {
			return sarama.NewConsumer(brokers, e.config(clientID))
		}),
		goka.WithLogger(gokaLogger{e.Log}),
	}
}

// GroupProcessorOptions are ProcessorOptions for the processor of group:
// its producer labels what it produces with the group (metrics), and every
// record it emits (outputs, loop, dead letters; not its table's changelog)
// carries the group in HeaderGroup (producer.go). Every deployment on a
// cluster reads the same contract topics and derives the same ids from
// them, so the header is what tells which one wrote an output (README
// "Delivery and crashes").
func (e *Env) GroupProcessorOptions(group goka.Group) []goka.ProcessorOption {
	return append(e.ProcessorOptions(), goka.WithProducerBuilder(e.producerBuilder(string(group))))
}

// ViewOptions configures a goka view for this environment.
func (e *Env) ViewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewHasher(topology.NewHash),
		goka.WithViewStorageBuilder(leveldbBuilder(filepath.Join(e.StateDir, "views"))),
		goka.WithViewTopicManagerBuilder(e.topicManagerBuilder()),
		goka.WithViewConsumerSaramaBuilder(func(brokers []string, clientID string) (sarama.Consumer, error) {
			return sarama.NewConsumer(brokers, e.config(clientID))
		}),
		goka.WithViewLogger(gokaLogger{e.Log}),
		goka.WithViewAutoReconnect(),
	}
}

// gokaLogger sends goka's log lines to zerolog at debug level, except errors.
type gokaLogger struct{ log zerolog.Logger }

func (l gokaLogger) Print(v ...any)   { l.emit(fmt.Sprint(v...)) }
func (l gokaLogger) Println(v ...any) { l.emit(fmt.Sprint(v...)) }
func (l gokaLogger) Printf(format string, v ...any) {
	l.emit(fmt.Sprintf(format, v...))
}

func (l gokaLogger) emit(msg string) {
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "error") || strings.Contains(lower, "fail") {
		l.log.Warn().Str("component", "goka").Msg(strings.TrimSpace(msg))
		return
	}
	l.log.Debug().Str("component", "goka").Msg(strings.TrimSpace(msg))
}
