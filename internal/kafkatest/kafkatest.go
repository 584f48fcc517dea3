// Package kafkatest gives integration tests a Kafka cluster: the real Apache
// Kafka broker named by AISTREAM_TEST_KAFKA (started by
// scripts/kafka-broker.sh), or else an in-process kfake broker. The same
// tests run against both.
package kafkatest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/IBM/sarama"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// EnvVar names the real broker's bootstrap servers.
const EnvVar = "AISTREAM_TEST_KAFKA"

var (
	embeddedOnce sync.Once
	embedded     []string
	embeddedErr  error
	seq          atomic.Int64
)

// Brokers returns the bootstrap servers of the test cluster.
func Brokers(t testing.TB) []string {
	t.Helper()
	if s := os.Getenv(EnvVar); s != "" {
		return strings.Split(s, ",")
	}
	embeddedOnce.Do(func() {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			embeddedErr = err
			return
		}
		embedded = c.ListenAddrs()
	})
	if embeddedErr != nil {
		t.Fatalf("start embedded kafka: %v", embeddedErr)
	}
	return embedded
}

// Real reports whether the tests run against the real broker.
func Real() bool { return os.Getenv(EnvVar) != "" }

// Setup returns an Env for the test cluster with its own state directory, a
// group prefix unique to the test, and every contract topic plus the groups'
// internal topics applied.
func Setup(t testing.TB, groups func(prefix string) []topology.Group) (*stream.Env, string) {
	t.Helper()
	brokers := Brokers(t)
	prefix := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, seq.Add(1))
	k := config.Kafka{BootstrapServers: brokers, SecurityProtocol: "PLAINTEXT", ClientID: "aistream-test", InitialOffset: "earliest"}
	sc, err := k.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	env := &stream.Env{
		Brokers: brokers, Sarama: sc, StateDir: t.TempDir(), Replication: 1,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(logLevel(t)), Metrics: stream.NewMetrics(),
		ChangelogFlush: config.DefaultChangelogFlushInterval,
	}
	var gs []topology.Group
	if groups != nil {
		gs = groups(prefix)
	}
	admin, err := sarama.NewClusterAdmin(brokers, sc)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	defer admin.Close()
	plan, err := topology.ResolveFor(admin, topology.All(gs))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = topology.Apply(admin, plan)
	if err != nil {
		t.Fatalf("apply topics: %v", err)
	}
	return env, prefix
}

// Client returns a franz-go client for producing and consuming in tests. Its
// default partitioner hashes keys with murmur2 like the Java client and
// aiokafka: an independent check that aistream partitions the same way.
func Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(Brokers(t)...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Produce writes records synchronously.
func Produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// ReadUntil consumes topic from the start and returns the records for which
// keep is true once done reports true over them; it fails the test after
// timeout.
func ReadUntil(t testing.TB, topic string, timeout time.Duration, keep func(*kgo.Record) bool, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl := Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for {
		if done(out) {
			return out
		}
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: condition not met within %s (kept %d records)", topic, timeout, len(out))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if keep(r) {
				out = append(out, r)
			}
		})
	}
}

// Eventually polls cond until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Header returns a record header's value.
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// RunGroups starts the groups (built with o), waits until they are ready
// (state recovered, partitions assigned) and stops them when the test ends.
func RunGroups(t testing.TB, env *stream.Env, o stream.Options, groups ...stream.Group) *stream.Runner {
	t.Helper()
	r := stream.NewRunner(env)
	for _, g := range groups {
		if _, err := r.AddGroup(g, o); err != nil {
			t.Fatal(err)
		}
	}
	start(t, r)
	return r
}

// RunModules starts every group of the modules with env's metrics and the
// default decoder, like "aistream run --processors=all --views=false".
func RunModules(t testing.TB, env *stream.Env, prefix string, mods ...*stream.Module) *stream.Runner {
	t.Helper()
	var groups []stream.Group
	for _, m := range mods {
		groups = append(groups, m.Groups...)
	}
	return RunGroups(t, env, stream.Options{Prefix: stream.Prefix(prefix), Metrics: env.Metrics}, groups...)
}

// start runs r until the test ends and waits until its processors are ready.
func start(t testing.TB, r *stream.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() error {
		var err error
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("processor failed: %v", err)
		}
	})
	ready, cancelReady := context.WithTimeout(ctx, 90*time.Second)
	defer cancelReady()
	if err := r.WaitReady(ready); err != nil {
		t.Fatal(err)
	}
}

// ModuleTopics is a Setup argument: the internal topics of the modules.
func ModuleTopics(mods ...*stream.Module) func(prefix string) []topology.Group {
	return func(prefix string) []topology.Group {
		gs, err := stream.Topics(stream.Prefix(prefix), mods)
		if err != nil {
			panic(err)
		}
		return gs
	}
}

// StartAtEnd commits, for every group of the modules, its input topics'
// end offsets: the groups then start after the shared topics' history of
// other tests and benchmarks, and consume every event the test produces
// afterwards (starting at "newest" instead would skip what is produced
// before sarama has resolved where "newest" is).
func StartAtEnd(t testing.TB, prefix string, mods ...*stream.Module) {
	t.Helper()
	StartAtEndWith(t, Client(t), prefix, mods...)
}

// StartAtEndWith is StartAtEnd through cl (e.g. a client of a secured
// listener).
func StartAtEndWith(t testing.TB, cl *kgo.Client, prefix string, mods ...*stream.Module) {
	t.Helper()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range mods {
		for _, g := range m.Groups {
			gg := g.Graph(stream.Options{Prefix: stream.Prefix(prefix)})
			ends, err := adm.ListEndOffsets(ctx, stream.Inputs(gg)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := adm.CommitAllOffsets(ctx, string(gg.Group()), ends.Offsets()); err != nil {
				t.Fatalf("commit start offsets of %s: %v", gg.Group(), err)
			}
		}
	}
}

// CommitAtEnd commits group's offsets at the current ends of topics, so a
// consumer of that group (e.g. a Python client's) reads only what is
// produced from now on, not the history other tests left on the broker.
func CommitAtEnd(t testing.TB, group string, topics ...string) {
	t.Helper()
	adm := kadm.NewClient(Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %v: %v", topics, err)
	}
	if err := adm.CommitAllOffsets(ctx, group, ends.Offsets()); err != nil {
		t.Fatalf("commit offsets of %s at the end of %v: %v", group, topics, err)
	}
}

// LogLevelEnvVar sets the level of the processors' log in tests (zerolog's
// names: debug shows goka's generations and partition changes); warn when
// unset.
const LogLevelEnvVar = "AISTREAM_TEST_LOG_LEVEL"

func logLevel(t testing.TB) zerolog.Level {
	v := os.Getenv(LogLevelEnvVar)
	if v == "" {
		return zerolog.WarnLevel
	}
	l, err := zerolog.ParseLevel(v)
	if err != nil {
		t.Fatalf("%s=%q: want one of debug, info, warn, error", LogLevelEnvVar, v)
	}
	return l
}
