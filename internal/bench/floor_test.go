package bench

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"github.com/IBM/sarama/mocks"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

// The sarama floor forwards exactly the records of its range: one before
// it and one past it (another writer's on the shared contract topics,
// possibly too large to produce) are counted as read, marked and skipped.
func TestFloorHandlerForwardsOnlyTheRange(t *testing.T) {
	seen := newRangeCount(positions{"in": {0: 10}}, positions{"in": {0: 12}})
	cfg := mocks.NewTestConfig()
	cfg.Producer.Return.Successes = true
	prod := mocks.NewAsyncProducer(t, cfg) // an input past its expectations fails the test
	prod.ExpectInputAndSucceed()
	prod.ExpectInputAndSucceed()
	h := &floorHandler{out: "out", prod: prod, seen: seen, ready: make(chan struct{}), claims: map[int32]map[string]*claimStats{}}
	msgs := make(chan *sarama.ConsumerMessage, 4)
	for _, o := range []int64{9, 10, 11, 12} {
		msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: 0, Offset: o, Key: []byte("k"), Value: []byte("v")}
	}
	close(msgs)
	sess := &markSession{}
	if err := h.ConsumeClaim(sess, claim{msgs}); err != nil {
		t.Fatal(err)
	}
	for want := int64(10); want <= 11; want++ {
		m := <-prod.Successes()
		if in := m.Metadata.(*sarama.ConsumerMessage); m.Topic != "out" || in.Offset != want {
			t.Errorf("produced offset %d to %s, want offset %d to out", in.Offset, m.Topic, want)
		}
	}
	if err := prod.Close(); err != nil {
		t.Error(err)
	}
	if n := seen.total(); n != 2 {
		t.Errorf("%d records of the range counted, want 2", n)
	}
	if in := h.stats().Group[0].Input["in"]; in.Count != 4 || in.LastOffset != 12 {
		t.Errorf("stats: %d read up to %d, want 4 up to 12", in.Count, in.LastOffset)
	}
	if len(sess.marked) != 2 || sess.marked[0] != 9 || sess.marked[1] != 12 {
		t.Errorf("marked %v without producing, want [9 12]", sess.marked)
	}
}

// claim is a ConsumerGroupClaim of partition 0 of "in".
type claim struct{ msgs chan *sarama.ConsumerMessage }

func (claim) Topic() string                              { return "in" }
func (claim) Partition() int32                           { return 0 }
func (claim) InitialOffset() int64                       { return 0 }
func (claim) HighWaterMarkOffset() int64                 { return 0 }
func (c claim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

// markSession is a ConsumerGroupSession that records marked offsets.
type markSession struct{ marked []int64 }

func (*markSession) Claims() map[string][]int32               { return nil }
func (*markSession) MemberID() string                         { return "" }
func (*markSession) GenerationID() int32                      { return 0 }
func (*markSession) MarkOffset(string, int32, int64, string)  {}
func (*markSession) Commit()                                  {}
func (*markSession) ResetOffset(string, int32, int64, string) {}
func (s *markSession) MarkMessage(m *sarama.ConsumerMessage, _ string) {
	s.marked = append(s.marked, m.Offset)
}
func (*markSession) Context() context.Context { return context.Background() }

// The goka floors emit (and the emit+table floor stores) exactly the
// records of their range; the tester numbers "in"'s messages from 0 in
// partition 0, and the range holds offset 1 only.
func TestFloorGroupsProcessOnlyTheRange(t *testing.T) {
	tt := tester.New(t)
	o := stream.Options{Prefix: "test"}
	rng := func() *rangeCount { return newRangeCount(positions{"in": {0: 1}}, positions{"in": {0: 2}}) }
	seen := []*rangeCount{rng(), rng()}
	var graphs []*goka.GroupGraph
	for _, g := range floorGroups([]string{"in"}, 1, seen) {
		graphs = append(graphs, g.Graph(o))
	}
	kafkatest.RunOnTester(t, tt, graphs...)
	out := tt.NewQueueTracker(benchOut(o.Prefix))
	for _, k := range []string{"a", "b", "c"} {
		tt.Consume("in", k, []byte(k))
	}
	for i := range 2 {
		k, v, ok := out.Next()
		if b, _ := v.([]byte); !ok || k != "b" || string(b) != "b" {
			t.Errorf("emit %d: %q %q (%v), want \"b\" \"b\"", i, k, v, ok)
		}
	}
	if k, _, ok := out.Next(); ok {
		t.Errorf("emitted %q past the range", k)
	}
	for i, s := range seen {
		if n := s.total(); n != 1 {
			t.Errorf("floor group %d counted %d records of the range, want 1", i, n)
		}
	}
	table := goka.GroupTable(o.Group("floor-table"))
	for _, k := range []string{"a", "b", "c"} {
		v, _ := tt.TableValue(table, k).([]byte)
		if want := k == "b"; (len(v) == floorValueBytes && v[0] == 'b') != want {
			t.Errorf("table value of %q: %q", k, v)
		}
	}
}
