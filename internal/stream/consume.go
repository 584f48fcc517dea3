package stream

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// HeaderNullKey is set on a consumed record whose key is null. goka hands
// handlers the key as a string, so a null key and an empty one look the
// same ("") without it; DeadLetter reads it (NullKey) and aistream's
// producer turns it back into a null key, removing the header.
const HeaderNullKey = "aistream-null-key"

// WrapConsumerGroup wraps the consumer group a goka processor consumes
// with, for at-least-once delivery and faithful keys:
//
//   - Offsets are committed in order. goka marks a message once its callback
//     and all its emits are acknowledged, so messages finish out of order,
//     and sarama commits any higher offset it is given: a message whose
//     emits were still in flight would be skipped after a crash. Each
//     partition commits only up to the first delivered message not done.
//   - A record with a null key carries HeaderNullKey.
//
// Every claim gets its own record of delivered offsets, so nothing carries
// over from one rebalance to the next.
func WrapConsumerGroup(cg sarama.ConsumerGroup) sarama.ConsumerGroup {
	return orderedGroup{cg}
}

type orderedGroup struct{ sarama.ConsumerGroup }

func (g orderedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &orderedHandler{inner: h})
}

// orderedHandler hands goka an orderedSession in place of sarama's. goka
// keeps the session it gets in Setup to mark messages with, so that is the
// one that must be wrapped; ConsumeClaim passes it again.
type orderedHandler struct {
	inner   sarama.ConsumerGroupHandler
	session atomic.Pointer[orderedSession]
}

func (h *orderedHandler) Setup(s sarama.ConsumerGroupSession) error {
	wrapped := &orderedSession{ConsumerGroupSession: s, queues: map[topicPartition]*offsetQueue{}}
	h.session.Store(wrapped)
	return h.inner.Setup(wrapped)
}

func (h *orderedHandler) Cleanup(sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(h.session.Load())
}

func (h *orderedHandler) ConsumeClaim(_ sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	s := h.session.Load()
	q := s.track(c.Topic(), c.Partition())
	out := make(chan *sarama.ConsumerMessage, cap(c.Messages()))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		for {
			select {
			case m, ok := <-c.Messages():
				if !ok {
					return
				}
				if m.Key == nil {
					m.Headers = append(m.Headers, &sarama.RecordHeader{Key: []byte(HeaderNullKey)})
				}
				// Recorded before goka sees it, so it is always known when
				// goka marks it.
				q.push(m.Offset)
				select {
				case out <- m:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	err := h.inner.ConsumeClaim(s, orderedClaim{c, out})
	close(stop)
	wg.Wait()
	return err
}

type topicPartition struct {
	topic     string
	partition int32
}

// orderedSession passes to sarama, for each partition, only the offset
// below which every delivered message is done.
type orderedSession struct {
	sarama.ConsumerGroupSession
	mu     sync.RWMutex
	queues map[topicPartition]*offsetQueue
}

// track starts a new record of delivered offsets for a claim.
func (s *orderedSession) track(topic string, partition int32) *offsetQueue {
	q := newOffsetQueue()
	s.mu.Lock()
	s.queues[topicPartition{topic, partition}] = q
	s.mu.Unlock()
	return q
}

// MarkOffset marks the message before offset done (goka marks offset+1, as
// sarama's MarkMessage does).
func (s *orderedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.mu.RLock()
	q := s.queues[topicPartition{topic, partition}]
	s.mu.RUnlock()
	if q == nil {
		// Not delivered by a claim of this session: committing nothing is
		// the safe choice.
		return
	}
	q.done(offset-1, func(next int64) { s.ConsumerGroupSession.MarkOffset(topic, partition, next, metadata) })
}

func (s *orderedSession) MarkMessage(m *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(m.Topic, m.Partition, m.Offset+1, metadata)
}

type orderedClaim struct {
	sarama.ConsumerGroupClaim
	messages <-chan *sarama.ConsumerMessage
}

func (c orderedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.messages }
