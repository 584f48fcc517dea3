package stream

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/config"
)

// rejoiningGroup is the consumer group goka's processor consumes with. It
// runs one group generation after the other inside a single Consume call,
// and reports each generation's partitions to Partitions and the
// rebalance counter.
//
// Sarama's Consume returns at every rebalance, and goka v1.1.16 waits a
// fixed 5 s before it calls Consume again (Processor.rebalanceLoop): every
// partition of the replica would stand still for those 5 s on each
// rebalance, e.g. while another replica restarts. Rejoining at once is
// what sarama expects of a caller; the broker paces the generations (each
// completes only once every member has rejoined).
type rejoiningGroup struct {
	sarama.ConsumerGroup
	group   string
	session time.Duration // the configured session timeout, for the error
	parts   *Partitions   // may be nil
	metrics *Metrics      // may be nil
	log     zerolog.Logger
}

func (g *rejoiningGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	for {
		err := g.ConsumerGroup.Consume(ctx, topics, &generationHandler{inner: h, g: g})
		switch {
		case errors.Is(err, sarama.ErrInvalidSessionTimeout):
			return config.SessionTimeoutRefused(g.session)
		case err != nil:
			return err
		case ctx.Err() != nil:
			return nil
		}
	}
}

// generationHandler reports one generation's life to the group's
// partition states around goka's handler.
type generationHandler struct {
	inner sarama.ConsumerGroupHandler
	g     *rejoiningGroup
}

func (h *generationHandler) Setup(s sarama.ConsumerGroupSession) error {
	if h.g.metrics != nil {
		h.g.metrics.Rebalances.WithLabelValues(h.g.group).Inc()
	}
	// goka's groups are copartitioned: every topic's claim lists the same
	// partitions.
	var parts []int32
	for _, ps := range s.Claims() {
		parts = append(parts, ps...)
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	h.g.parts.assign(h.g.group, parts)
	h.g.log.Info().Str("group", h.g.group).Ints32("partitions", parts).Msg("partitions assigned")
	// goka restores every assigned (and hot standby) partition before it
	// returns, then sarama starts the claims.
	if err := h.inner.Setup(s); err != nil {
		return err
	}
	h.g.parts.run(h.g.group)
	h.g.log.Info().Str("group", h.g.group).Ints32("partitions", parts).Msg("partitions recovered; processing")
	return nil
}

func (h *generationHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	h.g.parts.revoke(h.g.group)
	h.g.log.Info().Str("group", h.g.group).Msg("partitions revoked")
	return h.inner.Cleanup(s)
}

func (h *generationHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	return h.inner.ConsumeClaim(s, c)
}
