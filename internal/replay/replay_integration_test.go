package replay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/replay"
	"github.com/aistream/aistream/topology"
)

// A group of the test's own: input prefix-in (2 partitions), its loop and
// its table, so that offsets and timestamps are the test's alone.
func testGroup(t *testing.T) (replay.Group, *kadm.Client, *kgo.Client) {
	t.Helper()
	var name string
	_, prefix := kafkatest.Setup(t, func(prefix string) []topology.Group {
		name = prefix + "-g"
		return []topology.Group{{Name: name, Partitions: 2, Table: true, Loop: true, Extra: []string{prefix + "-in"}}}
	})
	table := topology.Internal([]topology.Group{{Name: name, Partitions: 2, Table: true}})[0]
	g := replay.Group{Name: "g", Group: name, Inputs: []string{prefix + "-in"}, Internal: []string{topology.GroupLoop(name)}, Table: &table}
	cl := kafkatest.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	return g, kadm.NewClient(cl), cl
}

func committed(t *testing.T, adm *kadm.Client, group string) map[string]map[int32]int64 {
	t.Helper()
	c, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	c.Each(func(o kadm.OffsetResponse) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

func topicID(t *testing.T, adm *kadm.Client, topic string) kadm.TopicID {
	t.Helper()
	md, err := adm.Metadata(context.Background(), topic)
	if err != nil || md.Topics[topic].Err != nil {
		t.Fatalf("metadata of %s: %v %v", topic, err, md.Topics[topic].Err)
	}
	return md.Topics[topic].ID
}

// By record timestamp: each input partition moves to its first record at
// or after the time, the loop to its end; the dry run (Compute) changes
// nothing; Execute recreates the table (new topic id, empty, compacted)
// and commits exactly the plan; the replicas' progress is followed to the
// end.
func TestIntegrationReplayToDatetime(t *testing.T) {
	ctx := context.Background()
	g, adm, cl := testGroup(t)
	in, loop := g.Inputs[0], g.Internal[0]
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var recs []*kgo.Record
	for i, n := range []int{5, 3} {
		for j := range n {
			recs = append(recs, &kgo.Record{Topic: in, Partition: int32(i), Value: []byte("x"), Timestamp: t0.Add(time.Duration(j) * time.Second)})
		}
	}
	for range 4 {
		recs = append(recs, &kgo.Record{Topic: loop, Partition: 0, Value: []byte("l")})
	}
	recs = append(recs, &kgo.Record{Topic: g.Table.Name, Partition: 1, Key: []byte("k"), Value: []byte("state")})
	kafkatest.Produce(t, cl, recs...)
	start := kadm.Offsets{}
	for _, o := range []kadm.Offset{{Topic: in, Partition: 0, At: 5}, {Topic: in, Partition: 1, At: 3}, {Topic: loop, Partition: 0, At: 2}} {
		o.LeaderEpoch = -1
		start.Add(o)
	}
	if err := adm.CommitAllOffsets(ctx, g.Group, start); err != nil {
		t.Fatal(err)
	}
	before, oldID := committed(t, adm, g.Group), topicID(t, adm, g.Table.Name)

	plan, err := replay.Compute(ctx, adm, []replay.Group{g}, replay.Target{Kind: replay.ToDatetime, At: t0.Add(2 * time.Second)}, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := plan.Print(&b); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, pp := range plan.Groups[0].Partitions {
		got[fmt.Sprintf("%s:%d", pp.Topic, pp.Partition)] = fmt.Sprintf("%d/%d/%d", pp.Committed, pp.Target, pp.End)
	}
	want := map[string]string{in + ":0": "5/2/5", in + ":1": "3/2/3", loop + ":0": "2/4/4", loop + ":1": "-1/0/0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s committed/target/end %s, want %s\n%s", k, got[k], v, b.String())
		}
	}
	if plan.Records() != 4 {
		t.Errorf("%d records to reprocess, want 4 (3 of partition 0, 1 of partition 1)", plan.Records())
	}
	if after := committed(t, adm, g.Group); !equal(before, after) || topicID(t, adm, g.Table.Name) != oldID {
		t.Fatalf("planning changed the cluster: offsets %v → %v", before, after)
	}

	res, err := replay.Execute(ctx, adm, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != 1 || res.Tables[0].NewID == res.Tables[0].OldID || topicID(t, adm, g.Table.Name) == oldID {
		t.Errorf("table topic not recreated: %+v", res.Tables)
	}
	ends, err := adm.ListEndOffsets(ctx, g.Table.Name)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("recreated table %s[%d] ends at %d, want empty", o.Topic, o.Partition, o.Offset)
		}
	})
	cfg, err := adm.DescribeTopicConfigs(ctx, g.Table.Name)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.On(g.Table.Name, nil); err != nil || !hasConfig(c, "cleanup.policy", "compact") {
		t.Errorf("recreated table is not compacted: %+v %v", c, err)
	}
	wantCommitted := map[string]map[int32]int64{in: {0: 2, 1: 2}, loop: {0: 4, 1: 0}}
	if after := committed(t, adm, g.Group); !equal(after, wantCommitted) {
		t.Errorf("committed %v after execute, want %v", after, wantCommitted)
	}

	// A replica reprocesses: a group consumer that commits what it reads.
	worker := kafkatest.Client(t, kgo.ConsumerGroup(g.Group), kgo.ConsumeTopics(in, loop), kgo.AutoCommitInterval(100*time.Millisecond))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for wctx.Err() == nil {
			worker.PollFetches(wctx)
		}
	}()
	var out bytes.Buffer
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	sum, err := replay.Follower{Out: &out, Poll: 100 * time.Millisecond, LogEvery: time.Second}.Follow(fctx, adm, plan.Spans())
	if err != nil {
		t.Fatalf("follow: %v\n%s", err, out.String())
	}
	if sum.Records != 4 || !strings.Contains(out.String(), "4/4 records") || !strings.Contains(out.String(), "done") {
		t.Errorf("summary %v, progress:\n%s", sum, out.String())
	}
}

// A live member refuses the replay, planned or executed, and nothing
// changes; a group that never ran is no group.
func TestIntegrationReplayRefusesLiveMembers(t *testing.T) {
	ctx := context.Background()
	g, adm, _ := testGroup(t)
	if _, err := replay.Compute(ctx, adm, []replay.Group{g}, replay.Target{Kind: replay.ToEarliest}, time.Now(), false); !errors.Is(err, replay.ErrNoGroup) {
		t.Fatalf("a group that never ran: %v, want ErrNoGroup", err)
	}
	member := kafkatest.Client(t, kgo.ConsumerGroup(g.Group), kgo.ConsumeTopics(g.Inputs[0]), kgo.ClientID("replica-7"))
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for mctx.Err() == nil {
			member.PollFetches(mctx)
		}
	}()
	kafkatest.Eventually(t, 30*time.Second, "the member joined", func() bool {
		d, err := adm.DescribeGroups(ctx, g.Group)
		return err == nil && len(d[g.Group].Members) == 1 && d[g.Group].State == "Stable"
	})
	oldID := topicID(t, adm, g.Table.Name)
	plan, err := replay.Compute(ctx, adm, []replay.Group{g}, replay.Target{Kind: replay.ToEarliest}, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	var live *replay.LiveError
	if err := plan.Live(); !errors.As(err, &live) || !strings.Contains(err.Error(), "(client id replica-7, host ") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("plan with a live member: %v", err)
	}
	before := committed(t, adm, g.Group)
	if _, err := replay.Execute(ctx, adm, plan); !errors.As(err, &live) {
		t.Errorf("execute with a live member: %v, want a refusal", err)
	}
	if topicID(t, adm, g.Table.Name) != oldID || !equal(before, committed(t, adm, g.Group)) {
		t.Error("a refused replay changed the cluster")
	}
}

func hasConfig(c kadm.ResourceConfig, key, value string) bool {
	for _, e := range c.Configs {
		if e.Key == key && e.Value != nil && *e.Value == value {
			return true
		}
	}
	return false
}

func equal(a, b map[string]map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for t, ps := range a {
		if len(ps) != len(b[t]) {
			return false
		}
		for p, o := range ps {
			if bo, ok := b[t][p]; !ok || bo != o {
				return false
			}
		}
	}
	return true
}
