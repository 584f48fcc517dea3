package stream

import (
	"context"
	"fmt"
	"sync"

	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/topology"
)

// Options are what every processor package's Specs function receives.
type Options struct {
	// Prefix starts every group name (KAFKA_CONSUMER_GROUP).
	Prefix  string
	Decoder codecs.Decoder
	// Metrics may be nil (unit tests).
	Metrics *Metrics
}

// GroupName is the full name of a processor group.
func (o Options) GroupName(name string) goka.Group { return goka.Group(o.Prefix + "-" + name) }

// Spec is one processor group: its graph and the internal topics it needs.
type Spec struct {
	Name   string // short name, as --processors spells it
	Topics topology.Group
	Graph  *goka.GroupGraph
	// Inputs are the topics whose lag is reported for this group.
	Inputs []string
	// Companion, when set, runs beside the processor once it is ready, until
	// ctx ends: for work goka has no edge for, like closing idle windows on
	// a wall-clock timer through Processor.VisitAll.
	Companion func(ctx context.Context, p *goka.Processor)
}

// Processor is a running group.
type Processor struct {
	Spec Spec
	*goka.Processor
}

// Start builds and runs the processors until ctx ends. It returns once all
// are built; errs receives the first run error. Call Wait to block until they
// have stopped (offsets committed, storage closed).
func Start(ctx context.Context, env *Env, specs []Spec) ([]*Processor, <-chan error, func(), error) {
	var (
		procs []*Processor
		wg    sync.WaitGroup
		errs  = make(chan error, len(specs))
	)
	for _, s := range specs {
		p, err := goka.NewProcessor(env.Brokers, s.Graph, env.ProcessorOptions()...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("build processor %s: %w", s.Name, err)
		}
		procs = append(procs, &Processor{Spec: s, Processor: p})
	}
	for _, p := range procs {
		wg.Add(1)
		go func(p *Processor) {
			defer wg.Done()
			env.Log.Info().Str("group", string(p.Spec.Graph.Group())).Msg("processor starting")
			if p.Spec.Companion != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if p.WaitForReadyContext(ctx) == nil {
						p.Spec.Companion(ctx, p.Processor)
					}
				}()
			}
			if err := p.Run(ctx); err != nil {
				errs <- fmt.Errorf("processor %s: %w", p.Spec.Name, err)
				return
			}
			env.Log.Info().Str("group", string(p.Spec.Graph.Group())).Msg("processor stopped")
		}(p)
	}
	return procs, errs, wg.Wait, nil
}

// WaitReady blocks until every processor has recovered its state and joined
// its group, or ctx ends.
func WaitReady(ctx context.Context, procs []*Processor) error {
	for _, p := range procs {
		if err := p.WaitForReadyContext(ctx); err != nil {
			return fmt.Errorf("processor %s not ready: %w", p.Spec.Name, err)
		}
	}
	return nil
}

// Ready reports whether every processor is running.
func Ready(procs []*Processor) bool {
	for _, p := range procs {
		if !p.Recovered() {
			return false
		}
	}
	return true
}
