package stream_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"

	"github.com/aistream/aistream/internal/stream"
)

// fakeSession records the offsets passed on to sarama.
type fakeSession struct {
	sarama.ConsumerGroupSession
	mu      sync.Mutex
	commits []int64
	check   func(next int64) // called with each commit, may be nil
}

func (s *fakeSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.check != nil {
		s.check(offset)
	}
	s.commits = append(s.commits, offset)
}

func (s *fakeSession) MarkMessage(m *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(m.Topic, m.Partition, m.Offset+1, metadata)
}

func (s *fakeSession) Context() context.Context { return context.Background() }

func (s *fakeSession) committed() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.commits...)
}

type fakeClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c fakeClaim) Topic() string                            { return "in" }
func (c fakeClaim) Partition() int32                         { return 0 }
func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

// claimOf is a claim that delivers msgs, then ends (as on a rebalance).
func claimOf(msgs ...*sarama.ConsumerMessage) fakeClaim {
	c := fakeClaim{msgs: make(chan *sarama.ConsumerMessage, len(msgs))}
	for _, m := range msgs {
		m.Topic = "in"
		c.msgs <- m
	}
	close(c.msgs)
	return c
}

// fakeGroup runs one session over one claim, as sarama does.
type fakeGroup struct {
	sarama.ConsumerGroup
	session *fakeSession
	claim   fakeClaim
}

func (g *fakeGroup) Consume(_ context.Context, _ []string, h sarama.ConsumerGroupHandler) error {
	if err := h.Setup(g.session); err != nil {
		return err
	}
	if err := h.ConsumeClaim(g.session, g.claim); err != nil {
		return err
	}
	return h.Cleanup(g.session)
}

// processor stands in for goka: it keeps the session Setup gives it to mark
// messages with, and collects what the claim delivers.
type processor struct {
	session sarama.ConsumerGroupSession
	got     []*sarama.ConsumerMessage
	each    func(*sarama.ConsumerMessage) // called on delivery, may be nil
}

func (p *processor) Setup(s sarama.ConsumerGroupSession) error { p.session = s; return nil }
func (p *processor) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (p *processor) ConsumeClaim(_ sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		p.got = append(p.got, m)
		if p.each != nil {
			p.each(m)
		}
	}
	return nil
}

// consume runs one session of the wrapped group over msgs and returns the
// processor (holding the session goka would mark with) and sarama's session.
func consume(t *testing.T, msgs ...*sarama.ConsumerMessage) (*processor, *fakeSession) {
	t.Helper()
	return consumeWith(t, &processor{}, &fakeSession{}, msgs...)
}

func consumeWith(t *testing.T, p *processor, s *fakeSession, msgs ...*sarama.ConsumerMessage) (*processor, *fakeSession) {
	t.Helper()
	if err := stream.WrapConsumerGroup(&fakeGroup{session: s, claim: claimOf(msgs...)}).Consume(context.Background(), []string{"in"}, p); err != nil {
		t.Fatal(err)
	}
	if len(p.got) != len(msgs) {
		t.Fatalf("delivered %d of %d messages", len(p.got), len(msgs))
	}
	return p, s
}

func offsets(os ...int64) []*sarama.ConsumerMessage {
	var ms []*sarama.ConsumerMessage
	for _, o := range os {
		ms = append(ms, &sarama.ConsumerMessage{Key: []byte("k"), Offset: o})
	}
	return ms
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Messages marked done out of order commit only the prefix of delivered
// messages that are all done: a crash must never skip one still in flight.
func TestMarksOutOfOrderCommitOnlyTheDonePrefix(t *testing.T) {
	// 12 is missing (compacted away or a transaction marker).
	p, s := consume(t, offsets(10, 11, 13, 14)...)
	mark := func(o int64) { p.session.MarkMessage(&sarama.ConsumerMessage{Topic: "in", Offset: o}, "") }

	mark(11) // 10 still in flight: nothing may be committed
	if c := s.committed(); len(c) != 0 {
		t.Fatalf("after 11 done, 10 in flight: committed %v, want nothing", c)
	}
	mark(14)
	mark(10) // 10 and 11 done, 13 in flight
	if c := s.committed(); !equal(c, []int64{13}) {
		t.Fatalf("after 10, 11, 14 done, 13 in flight: committed %v, want [13]", c)
	}
	mark(13)
	if c := s.committed(); !equal(c, []int64{13, 15}) {
		t.Fatalf("after all done: committed %v, want [13 15]", c)
	}
	mark(13) // goka marks once, but a second mark must not move anything
	if c := s.committed(); !equal(c, []int64{13, 15}) {
		t.Fatalf("after a repeated mark: committed %v", c)
	}
}

// A new claim of the partition (after a rebalance) starts with a fresh
// record: a message the previous claim delivered but never finished does
// not hold back the new claim's commits.
func TestANewClaimDoesNotInheritThePreviousClaimsOffsets(t *testing.T) {
	consume(t, offsets(10, 11)...) // 10 and 11 never finish
	p, s := consume(t, offsets(11, 12)...)
	p.session.MarkOffset("in", 0, 12, "")
	if c := s.committed(); !equal(c, []int64{12}) {
		t.Fatalf("committed %v, want [12]", c)
	}
}

// Marks arrive from many producer goroutines at once, out of order, while
// the claim is still delivering: no commit may pass a message not yet
// marked, and once all are marked the commit is the last offset + 1.
func TestConcurrentMarksNeverCommitPastAnUnfinishedMessage(t *testing.T) {
	const n = 5000
	var (
		marked  [n]atomic.Bool
		checked int64
		ms      []*sarama.ConsumerMessage
	)
	for o := range int64(n) {
		ms = append(ms, &sarama.ConsumerMessage{Key: []byte("k"), Offset: o})
	}
	// Called from the marking goroutines: report the first violation only.
	var failed bool
	s := &fakeSession{check: func(next int64) {
		for o := checked; o < next && !failed; o++ {
			if !marked[o].Load() {
				t.Errorf("committed %d while %d was not done", next, o)
				failed = true
			}
		}
		if next <= checked && !failed {
			t.Errorf("commit %d after %d: commits must only advance", next, checked)
			failed = true
		}
		checked = next
	}}
	work := make(chan *sarama.ConsumerMessage)
	p := &processor{each: func(m *sarama.ConsumerMessage) { work <- m }}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker holds a few messages and finishes them in a
			// random order, like emits acknowledged out of order.
			var held []*sarama.ConsumerMessage
			finish := func() {
				rand.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
				for _, m := range held {
					marked[m.Offset].Store(true)
					p.session.MarkMessage(m, "")
				}
				held = held[:0]
			}
			for m := range work {
				if held = append(held, m); len(held) >= 1+rand.IntN(16) {
					finish()
				}
			}
			finish()
		}()
	}
	consumeWith(t, p, s, ms...)
	close(work)
	wg.Wait()
	if c := s.committed(); len(c) == 0 || c[len(c)-1] != n {
		t.Fatalf("%d commits, the last %v, want it %d", len(c), c[max(0, len(c)-1):], n)
	}
}

// A record with a null key is marked so handlers can tell it from an empty
// key, which goka's string key cannot.
func TestANullKeyIsMarkedAndAnEmptyKeyIsNot(t *testing.T) {
	p, _ := consume(t,
		&sarama.ConsumerMessage{Offset: 0, Key: nil},
		&sarama.ConsumerMessage{Offset: 1, Key: []byte{}},
		&sarama.ConsumerMessage{Offset: 2, Key: []byte("k"), Headers: []*sarama.RecordHeader{{Key: []byte("trace"), Value: []byte("t")}}},
	)
	for i, want := range []bool{true, false, false} {
		got := false
		for _, h := range p.got[i].Headers {
			got = got || string(h.Key) == stream.HeaderNullKey
		}
		if got != want {
			t.Errorf("offset %d (key %q): marked %v, want %v", i, p.got[i].Key, got, want)
		}
	}
	if h := p.got[2].Headers; len(h) != 1 || string(h[0].Value) != "t" {
		t.Errorf("headers of a keyed record changed: %v", h)
	}
}

// The cost per message of in-order commits (one channel hop and one queue
// entry on delivery, one lookup on the mark), beside the same fake group
// consumed directly.
func BenchmarkClaimDeliverAndMark(b *testing.B) {
	for _, bc := range []struct {
		name string
		wrap func(sarama.ConsumerGroup) sarama.ConsumerGroup
	}{
		{"direct", func(g sarama.ConsumerGroup) sarama.ConsumerGroup { return g }},
		{"ordered", stream.WrapConsumerGroup},
	} {
		b.Run(bc.name, func(b *testing.B) {
			msgs := make(chan *sarama.ConsumerMessage, 256)
			go func() {
				for o := range int64(b.N) {
					msgs <- &sarama.ConsumerMessage{Topic: "in", Key: []byte("k"), Offset: o}
				}
				close(msgs)
			}()
			s := &fakeSession{}
			var p *processor
			p = &processor{each: func(m *sarama.ConsumerMessage) { p.session.MarkMessage(m, "") }}
			b.ResetTimer()
			if err := bc.wrap(&fakeGroup{session: s, claim: fakeClaim{msgs: msgs}}).Consume(context.Background(), nil, p); err != nil {
				b.Fatal(err)
			}
			if c := s.committed(); len(c) != b.N || c[len(c)-1] != int64(b.N) {
				b.Fatalf("%d commits for %d messages", len(c), b.N)
			}
		})
	}
}
