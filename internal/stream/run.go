package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/aistream/aistream/internal/api"
)

// Runner runs a process's processor groups and views together: one
// errgroup, so the first failure stops everything and Run returns only once
// every processor has committed its offsets and closed its storage and every
// view has stopped.
type Runner struct {
	env *Env
	mu  sync.Mutex
	// procs and views are set up before Run and read-only afterwards.
	procs []*Processor
	views []*goka.View
}

// Processor is a group of this process.
type Processor struct {
	Group Group
	*goka.Processor
}

// NewRunner returns a runner for env.
// Dead letters are logged to env's logger from then on.
func NewRunner(env *Env) *Runner {
	setDeadLetterLog(env.Log)
	return &Runner{env: env}
}

// AddGroup builds a processor for the group.
func (r *Runner) AddGroup(g Group, o Options) (*Processor, error) {
	gg := g.Graph(o)
	gp, err := goka.NewProcessor(r.env.Brokers, gg, r.env.GroupProcessorOptions(gg.Group())...)
	if err != nil {
		return nil, fmt.Errorf("build processor %s: %w", g.Name, err)
	}
	p := &Processor{Group: g, Processor: gp}
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	return p, nil
}

// Open is an api.Opener: it builds a view of table that Run runs.
func (r *Runner) Open(table goka.Table, c goka.Codec) (api.Table, error) {
	v, err := goka.NewView(r.env.Brokers, table, c, r.env.ViewOptions()...)
	if err != nil {
		return nil, fmt.Errorf("open view of %s: %w", table, err)
	}
	r.mu.Lock()
	r.views = append(r.views, v)
	r.mu.Unlock()
	return v, nil
}

// Processors returns the processors added.
func (r *Runner) Processors() []*Processor {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Processor(nil), r.procs...)
}

// Run runs every processor, its companion and every view until ctx ends or
// one of them fails; it returns the first failure. Local table copies their
// table topic no longer backs are dropped first (identity.go).
func (r *Runner) Run(ctx context.Context) error {
	if err := r.resetStaleTables(); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range r.Processors() {
		group := string(p.Graph().Group())
		g.Go(func() error {
			r.env.Log.Info().Str("group", group).Msg("processor starting")
			if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("processor %s: %w", p.Group.Name, err)
			}
			r.env.Log.Info().Str("group", group).Msg("processor stopped")
			return nil
		})
		if p.Group.Companion != nil {
			g.Go(func() error {
				if p.WaitForReadyContext(ctx) == nil {
					p.Group.Companion(ctx, p.Processor)
				}
				return nil
			})
		}
	}
	r.mu.Lock()
	views := append([]*goka.View(nil), r.views...)
	r.mu.Unlock()
	for _, v := range views {
		g.Go(func() error {
			if err := v.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("view %s: %w", v.Topic(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Ready reports whether every processor runs and every view has recovered.
func (r *Runner) Ready() bool {
	for _, p := range r.Processors() {
		if !p.Recovered() {
			return false
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.views {
		if !v.Recovered() {
			return false
		}
	}
	return true
}

// WaitReady blocks until every processor has recovered its state and joined
// its group, or ctx ends.
func (r *Runner) WaitReady(ctx context.Context) error {
	for _, p := range r.Processors() {
		if err := p.WaitForReadyContext(ctx); err != nil {
			return fmt.Errorf("processor %s not ready: %w", p.Group.Name, err)
		}
	}
	return nil
}
