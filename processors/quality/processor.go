// Package quality is the agent-quality processor: event-time tumbling
// windows of agent metrics and user feedback per tenant×agent, a baseline of
// past windows, and insight rules that write alerts to ai-insights. See
// RULES.md for the rules and their defaults.
package quality

import (
	"context"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/insights"
	"github.com/aistream/aistream/topology"
)

// Group short names (--processors) and the idle-close visitor.
const (
	RouterName = "agent-quality-router"
	Name       = "agent-quality"
	IdleVisit  = "idle-close"
)

// FeedbackStream is the short name of the internal topic where the router
// re-keys feedback by tenant|agent onto partitions co-partitioned with
// agent-metrics-events (Prefix.Stream gives its name).
const FeedbackStream = Name + "-feedback"

// Module is the agent-quality processor: the router and agent-quality
// groups and the read model of GET /v1/agents/{agent}/quality.
func Module() *stream.Module { return NewModule(DefaultConfig()) }

// NewModule is the module with the given settings (flags still override them).
func NewModule(c Config) *stream.Module {
	cfg := &c
	proc := func(o stream.Options) *proc { return &proc{cfg: *cfg, o: o} }
	return &stream.Module{
		Name:     Name,
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Groups: []stream.Group{
			{Name: RouterName, Graph: func(o stream.Options) *goka.GroupGraph { return proc(o).router() }},
			{
				Name:      Name,
				Graph:     func(o stream.Options) *goka.GroupGraph { return proc(o).quality() },
				Companion: func(ctx context.Context, gp *goka.Processor) { proc(stream.Options{}).idleTicker(ctx, gp) },
			},
		},
		Read: stream.ReadTable(Name, new(StateCodec), func(t api.Table) ([]api.Route, error) { return NewQuery(t).Routes(), nil }),
	}
}

type proc struct {
	cfg Config
	o   stream.Options
}

// router re-keys valid feedback to the feedback repartition topic. It
// rejects like every group that reads a topic: invalid feedback goes to the
// dead-letter topic with this group's name in its headers (the context-graph
// group reports the same message under its own name when it runs; the
// aistream-group header tells the reports apart), so nothing is dropped
// silently whichever groups a deployment runs.
func (p *proc) router() *goka.GroupGraph {
	out := p.o.Prefix.Stream(FeedbackStream)
	route := func(ctx goka.Context, ev *codecs.Event) {
		f := ev.Payload.(*codecs.Feedback)
		ctx.Emit(out, codecs.TenantKey(ev.TenantID, f.Agent), ev.Raw)
	}
	return goka.DefineGroup(p.o.Group(RouterName),
		goka.Input(goka.Stream(topology.FeedbackEvents), new(codec.Bytes),
			stream.Accept(p.o.Decoder, p.o.Metrics, []string{codecs.TypeFeedback}, route)),
		goka.Output(out, new(codec.Bytes)),
		stream.DeadLetterOutput(),
	)
}

func (p *proc) quality() *goka.GroupGraph {
	types := []string{codecs.TypeMetrics, codecs.TypeFeedback}
	return goka.DefineGroup(p.o.Group(Name),
		goka.Input(goka.Stream(topology.MetricsEvents), new(codec.Bytes),
			stream.Accept(p.o.Decoder, p.o.Metrics, []string{codecs.TypeMetrics}, p.rekey)),
		goka.Input(p.o.Prefix.Stream(FeedbackStream), new(codec.Bytes), stream.Accept(p.o.Decoder, p.o.Metrics, types, p.apply)),
		goka.Loop(new(codec.Bytes), stream.Accept(p.o.Decoder, p.o.Metrics, types, p.apply)),
		goka.Visitor(IdleVisit, p.idle),
		goka.Output(insights.Topic, new(codec.Bytes)),
		goka.Persist(p.tableCodec()),
		stream.DeadLetterOutput(),
	)
}

// tableCodec is the group table's codec, which keeps the states it wrote
// (see StateCodec) unless the tests ask for decoding every read.
func (p *proc) tableCodec() *StateCodec {
	if p.cfg.noStateCache {
		return &StateCodec{}
	}
	return newTableCodec()
}

// idleTicker asks every key, on a wall-clock tick, whether it went quiet.
// VisitAll fails while a rebalance aborts it; the next tick retries.
func (p *proc) idleTicker(ctx context.Context, gp *goka.Processor) {
	t := time.NewTicker(p.cfg.idleCheckEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_ = gp.VisitAll(ctx, IdleVisit, now.UTC())
		}
	}
}

// key is the state key of an event's tenant×agent.
func key(ev *codecs.Event) string {
	switch pl := ev.Payload.(type) {
	case *codecs.Metrics:
		return codecs.TenantKey(ev.TenantID, pl.Agent)
	case *codecs.Feedback:
		return codecs.TenantKey(ev.TenantID, pl.Agent)
	}
	return ""
}

// rekey sends a metrics event produced under another key (or partitioner)
// through the loop to its tenant|agent partition.
func (p *proc) rekey(ctx goka.Context, ev *codecs.Event) {
	if p.future(ctx, ev) {
		return
	}
	k := key(ev)
	if !stream.Misplaced(ctx, k) {
		p.add(ctx, ev)
		return
	}
	ctx.Loopback(k, ev.Raw)
}

// apply is the callback of the feedback topic and the loop.
func (p *proc) apply(ctx goka.Context, ev *codecs.Event) {
	if !p.future(ctx, ev) {
		p.add(ctx, ev)
	}
}

// future dead-letters an event stamped more than MaxSkew ahead of its Kafka
// record's timestamp: its time would become the key's watermark and make
// every real event late until then. The record time is stored in the
// record, so a replay decides alike. A record without a timestamp (goka's
// tester, pre-0.10 message formats) is not checked.
func (p *proc) future(ctx goka.Context, ev *codecs.Event) bool {
	rt := ctx.Timestamp()
	if rt.Unix() <= 0 {
		return false
	}
	ahead := ev.Timestamp.Time.Sub(rt)
	if ahead <= p.cfg.MaxSkew {
		return false
	}
	stream.DeadLetter(ctx, p.o.Metrics, ev.Raw, codecs.Reject(codecs.ReasonInvalidValue, "timestamp",
		"%s is ahead of the record time %s by %s (more than --quality-max-skew %s)",
		ev.Timestamp.Time.UTC().Format(time.RFC3339Nano), rt.UTC().Format(time.RFC3339Nano), ahead, p.cfg.MaxSkew))
	return true
}

// add adds one event to its tenant×agent's windows, closing the windows
// its event time completes.
func (p *proc) add(ctx goka.Context, ev *codecs.Event) {
	s, _ := ctx.Value().(*State)
	if s == nil {
		tenant, agent, _ := codecs.SplitTenantKey(key(ev))
		s = &State{Tenant: tenant, Agent: agent}
	}
	if s.Offsets.Redelivered(ctx) {
		// The state holds this very message (a crash came before its
		// commit): re-emit its insights and rewrite the state, either of
		// which may never have reached Kafka.
		at := stream.At(ctx)
		for _, sent := range s.Outbox {
			if sent.At == at {
				ctx.Emit(insights.Topic, s.Tenant, sent.Value)
			}
		}
		ctx.SetValue(s)
		return
	}
	out, late, dup := p.observe(s, ev)
	if dup {
		return
	}
	if late && p.o.Metrics != nil {
		p.o.Metrics.Late.WithLabelValues(string(ctx.Group())).Inc()
	}
	p.emit(ctx, s, out, true)
	s.Offsets.Advance(ctx)
	ctx.SetValue(s)
}

// observe is apply without goka: it updates s and returns the insights of
// the windows the event closes, and whether the event was late. An event
// already applied to s (see Applied) leaves s as it was and returns dup;
// a late event counts as applied, so its redelivery is not counted late
// twice.
func (p *proc) observe(s *State, ev *codecs.Event) (out []*insights.Insight, late, dup bool) {
	if !s.Applied.add(ev.EventID) {
		return nil, false, true
	}
	s.Quiet = nil
	w := p.cfg.tumbling()
	s.Spec = w
	closed, pl := s.Windows.Observe(w, ev.Timestamp.Time)
	for _, pane := range closed {
		out = append(out, p.close(s, Summarize(w, pane.Start, &pane.Agg), "watermark")...)
	}
	if pl.Late {
		s.late(pl.Start)
		return out, true, false
	}
	a := s.Windows.Pane(pl.Start)
	switch pl := ev.Payload.(type) {
	case *codecs.Metrics:
		a.addMetrics(pl)
	case *codecs.Feedback:
		a.addFeedback(pl)
	}
	return out, false, false
}

// late counts an event whose window has closed: in the key's total, and in
// that window's summary while it is among the retained closed windows, else
// in the newest open window (where it arrived). It is never aggregated.
func (s *State) late(start time.Time) {
	s.Late++
	for i := range s.Recent {
		if s.Recent[i].Start.Equal(start) {
			s.Recent[i].LateEvents++
			return
		}
	}
	if n := len(s.Windows.Open); n > 0 {
		s.Windows.Open[n-1].Agg.LateEvents++
	}
}

// idle is the idle-close visitor; meta is the wall-clock time of the visit.
// The first visit that finds a key with open windows and no event since the
// previous visit marks it quiet. From IdleTimeout after that mark, the quiet
// time D counts as event-time progress: visits close the windows whose
// end+grace is at or before watermark+D, never one still ahead of it, so an
// agent with sparse traffic keeps its events in their windows. Handlers
// never read the clock: only this visitor sees wall time, as its input.
func (p *proc) idle(ctx goka.Context, meta any) {
	now, ok := meta.(time.Time)
	s, _ := ctx.Value().(*State)
	if !ok || s == nil || len(s.Windows.Open) == 0 {
		return
	}
	if s.Quiet == nil {
		now = now.UTC() // as the codec gives it back
		s.Quiet = &now
		ctx.SetValue(s)
		return
	}
	quiet := now.Sub(*s.Quiet)
	if quiet < p.cfg.IdleTimeout {
		return
	}
	w := p.cfg.tumbling()
	closed := s.Windows.CloseDue(w, s.Windows.Watermark.Add(quiet))
	if len(closed) == 0 {
		return
	}
	for _, pane := range closed {
		p.emit(ctx, s, p.close(s, Summarize(w, pane.Start, &pane.Agg), "idle"), false)
	}
	if len(s.Windows.Open) == 0 {
		s.Quiet = nil
	}
	ctx.SetValue(s)
}

// close judges a closed window, keeps its summary among the recent
// windows and returns its insights.
func (p *proc) close(s *State, sum Summary, by string) []*insights.Insight {
	out := p.evaluate(s, &sum)
	sum.ClosedBy = by
	if len(s.Recent) < p.cfg.Recent {
		s.Recent = append(s.Recent, Closed{})
	} else {
		s.Recent = s.Recent[:p.cfg.Recent] // the oldest leaves
	}
	copy(s.Recent[1:], s.Recent)
	s.Recent[0] = closedOf(&sum)
	s.Recent = fitRecent(s.Recent, s.Spec.Size)
	return out
}

// emit writes insights to ai-insights keyed by tenant; those of an input
// message (not of a visit, which has no offset) are kept in the outbox for
// a redelivery.
func (p *proc) emit(ctx goka.Context, s *State, out []*insights.Insight, input bool) {
	for _, in := range out {
		b, err := insights.Encode(s.Tenant, in)
		if err != nil {
			// Only a timestamp outside years 0-9999 fails; such an event
			// could not have been decoded.
			stream.DeadLetter(ctx, p.o.Metrics, nil, err)
			continue
		}
		ctx.Emit(insights.Topic, s.Tenant, b)
		if input {
			s.Outbox = append(s.Outbox, Sent{At: stream.At(ctx), Value: b})
		}
	}
	if n := len(s.Outbox) - maxOutbox; n > 0 {
		s.Outbox = s.Outbox[n:]
	}
}
