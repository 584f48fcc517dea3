package bench

import (
	"context"
	"strings"
	"time"
)

// removeOwn deletes the topics and consumer groups this run created, every
// name that starts with its prefix: a run writes hundreds of MiB into its
// internal topics and changelogs (more with the scale phase's prefix per
// replica count), which would otherwise stay on the broker. The contract
// topics the mix went to stay (their retention applies). Best effort,
// bounded: a failure is logged, not the run's error.
func (b *bench) removeOwn() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	own := string(b.prefix) + "-"
	var topics, groups []string
	if ts, err := b.adm.ListTopics(ctx); err == nil {
		for _, n := range ts.Names() {
			if strings.HasPrefix(n, own) {
				topics = append(topics, n)
			}
		}
	} else {
		b.cfg.Log.Warn().Err(err).Msg("bench: cannot list topics to delete this run's")
	}
	if gs, err := b.adm.ListGroups(ctx); err == nil {
		for _, n := range gs.Groups() {
			if strings.HasPrefix(n, own) {
				groups = append(groups, n)
			}
		}
	}
	if len(groups) > 0 {
		if _, err := b.adm.DeleteGroups(ctx, groups...); err != nil {
			b.cfg.Log.Warn().Err(err).Msg("bench: deleting this run's consumer groups failed")
		}
	}
	if len(topics) > 0 {
		resp, err := b.adm.DeleteTopics(ctx, topics...)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			b.cfg.Log.Warn().Err(err).Str("prefix", own).Msg("bench: deleting this run's topics failed; delete them by hand")
		}
	}
}
