package lineage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Name is the group's short name (--processors) and its name after the prefix.
const Name = "query-lineage"

// RecordStream is ai-lineage-records as a goka stream.
var RecordStream = goka.Stream(topology.LineageRecords)

// TableCodec is the group table's codec.
type TableCodec = NodeCodec

// Module is the query-lineage processor: group "query-lineage" and the read
// model of GET /v1/lineage/....
func Module() *stream.Module { return NewModule(DefaultConfig()) }

// NewModule is the module with the given settings (flags still override them).
func NewModule(c Config) *stream.Module {
	cfg := &c
	return &stream.Module{
		Name:     Name,
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Groups:   []stream.Group{{Name: Name, Graph: func(o stream.Options) *goka.GroupGraph { return graph(o, *cfg) }}},
		Read: stream.ReadTable(Name, TableCodec{}, func(t api.Table) ([]api.Route, error) {
			q, err := NewQuery(t, *cfg)
			if err != nil {
				return nil, err
			}
			return q.Routes(), nil
		}),
	}
}

// graph builds the query-lineage group. c must be valid.
func graph(o stream.Options, c Config) *goka.GroupGraph {
	names, err := c.Names()
	if err != nil {
		panic(fmt.Sprintf("lineage: invalid config (call Validate first): %v", err))
	}
	p := &processor{cfg: c, names: names, dec: o.Decoder, m: o.Metrics}
	return goka.DefineGroup(o.Group(Name),
		goka.Input(goka.Stream(topology.LineageEvents), new(codec.Bytes), stream.Accept(p.dec, p.m, lineageTypes, p.input)),
		goka.Loop(new(codec.Bytes), stream.Traced(p.loop)),
		goka.Persist(tableCodec(c)),
		goka.Output(RecordStream, new(codec.Bytes)),
		stream.DeadLetterOutput(),
	)
}

// tableCodec is the group table's codec, which keeps the nodes it wrote
// (see NodeCodec) unless the tests ask for decoding every read.
func tableCodec(c Config) NodeCodec {
	if c.noStateCache {
		return NodeCodec{}
	}
	return newTableCodec()
}

type processor struct {
	cfg   Config
	names Names
	dec   codecs.Decoder
	m     *stream.Metrics
}

var lineageTypes = codecs.TypesOn(topology.LineageEvents)

// input fans an accepted event out. It never touches state, so the key
// and partition it arrived on do not matter: every node update is looped
// back under its own tenant × dataset key.
func (p *processor) input(ctx goka.Context, ev *codecs.Event) {
	l := ev.Payload.(*codecs.Lineage)
	e, err := p.normalise(l)
	if err != nil {
		stream.DeadLetter(ctx, p.m, ev.Raw, err)
		return
	}
	q := QueryRef{
		QueryID: l.QueryID, SQLHash: sqlHash(l), Dialect: l.Dialect, UserID: l.UserID, TraceID: l.TraceID,
		Status: l.Status, EventID: ev.EventID, At: ev.Timestamp,
	}
	// The record is built first: an event whose record could not be
	// produced is dead-lettered whole, before it touches any node.
	rec := record(ev.Envelope, l, e, q)
	out, err := codecs.Encode(codecs.Envelope{
		EventID: RecordEventID(ev.TenantID, ev.EventID), EventType: RecordType, TenantID: ev.TenantID,
		Timestamp: ev.Timestamp, Source: "aistream",
	}, &rec)
	if err == nil && len(out) > maxRecordBytes {
		err = codecs.Reject(codecs.ReasonInvalidValue, "columns", "its lineage record would be %d bytes, over the %d a record may have; send fewer datasets or column mappings per event", len(out), maxRecordBytes)
	}
	if err != nil {
		stream.DeadLetter(ctx, p.m, ev.Raw, err)
		return
	}
	for _, u := range e.updates(ev.TenantID, q) {
		b, _ := UpdateCodec{}.Encode(u) // fails only for a nil update
		ctx.Loopback(codecs.TenantKey(ev.TenantID, u.Dataset), b)
	}
	ctx.Emit(RecordStream, codecs.TenantKey(ev.TenantID, l.QueryID), out)
}

// maxRecordBytes keeps a lineage record within the producer's record limit.
const maxRecordBytes = 900 << 10

// loop applies one node update. Loop messages come from our own murmur2
// producer under the node's key, so they sit on the table's partition.
func (p *processor) loop(ctx goka.Context, msg any) {
	stream.Count(ctx, p.m)
	raw, _ := msg.([]byte)
	if raw == nil {
		stream.DeadLetter(ctx, p.m, nil, codecs.Reject(stream.ReasonNullValue, "", "a loop record without a value (a tombstone); only aistream writes this topic"))
		return
	}
	v, err := UpdateCodec{}.Decode(raw)
	if err != nil {
		stream.DeadLetter(ctx, p.m, raw, codecs.Reject(codecs.ReasonNotJSON, "", "%v; only aistream writes this topic", err))
		return
	}
	u := v.(*Update)
	// The update is encoded for the dead letter only if the handler fails:
	// encoding every update up front cost a tenth of the group's CPU.
	defer func() {
		if r := recover(); r != nil {
			raw, _ := codecs.JSON[Update]{}.Encode(u)
			stream.Guard(ctx, p.m, raw, func() { panic(r) })
		}
	}()
	var n *Node
	if v := ctx.Value(); v != nil {
		n = v.(*Node)
	}
	if n != nil && n.Offsets.Redelivered(ctx) {
		ctx.SetValue(n)
		return
	}
	if n, changed := p.cfg.apply(n, u); changed {
		n.Offsets.Advance(ctx)
		ctx.SetValue(n)
	}
}

// normalised is a lineage event with canonical names, each dataset once.
type normalised struct {
	sources, targets []string
	columns          []ColumnEdge // successful queries only
}

func (p *processor) normalise(l *codecs.Lineage) (*normalised, error) {
	e := &normalised{}
	// The field a name came from is formatted only for an error.
	add := func(list *[]string, raw string, field func() string) (string, error) {
		d, ok := p.names.plainDataset(raw)
		if !ok {
			var err error
			if d, err = p.names.dataset(field(), raw, l.Dialect); err != nil {
				return "", err
			}
		}
		if !slices.Contains(*list, d) {
			*list = append(*list, d)
		}
		return d, nil
	}
	col := func(raw string, field func() string) (string, error) {
		if _, ok := plainParts(raw); ok {
			return strings.ToLower(raw), nil
		}
		return column(field(), raw, l.Dialect)
	}
	for i, s := range l.Sources {
		if _, err := add(&e.sources, s, func() string { return fmt.Sprintf("data.sources[%d]", i) }); err != nil {
			return nil, err
		}
	}
	for i, t := range l.Targets {
		if _, err := add(&e.targets, t, func() string { return fmt.Sprintf("data.targets[%d]", i) }); err != nil {
			return nil, err
		}
	}
	// A column mapping implies its datasets: a source column's dataset was
	// read and a target column's was written, listed or not.
	for i, m := range l.Columns {
		f := func(suffix string) func() string {
			return func() string { return fmt.Sprintf("data.columns[%d].target", i) + suffix }
		}
		td, err := add(&e.targets, m.Target.Dataset, f(".dataset"))
		if err != nil {
			return nil, err
		}
		tc, err := col(m.Target.Column, f(".column"))
		if err != nil {
			return nil, err
		}
		for j, s := range m.Sources {
			f := func(suffix string) func() string {
				return func() string { return fmt.Sprintf("data.columns[%d].sources[%d]", i, j) + suffix }
			}
			sd, err := add(&e.sources, s.Dataset, f(".dataset"))
			if err != nil {
				return nil, err
			}
			sc, err := col(s.Column, f(".column"))
			if err != nil {
				return nil, err
			}
			ce := ColumnEdge{From: codecs.ColumnRef{Dataset: sd, Column: sc}, To: codecs.ColumnRef{Dataset: td, Column: tc}}
			if l.Status == StatusSuccess && !slices.Contains(e.columns, ce) {
				e.columns = append(e.columns, ce)
			}
		}
	}
	return e, nil
}

// updates builds one node update per dataset the event touches, in sorted
// order. Every source is linked to every target. The datasets of column
// edges are among the sources and targets (normalise adds them).
func (e *normalised) updates(tenant string, q QueryRef) []*Update {
	names := append(append(make([]string, 0, len(e.sources)+len(e.targets)), e.sources...), e.targets...)
	slices.Sort(names)
	names = slices.Compact(names)
	us := make([]Update, len(names))
	out := make([]*Update, len(names))
	for i, d := range names {
		us[i] = Update{TenantID: tenant, Dataset: d, Query: q}
		out[i] = &us[i]
	}
	node := func(d string) *Update {
		i, _ := slices.BinarySearch(names, d)
		return out[i]
	}
	for _, s := range e.sources {
		node(s).Downstream = e.targets
	}
	for _, t := range e.targets {
		node(t).Upstream = e.sources
	}
	for _, c := range e.columns {
		node(c.From.Dataset).Columns = append(node(c.From.Dataset).Columns, c)
		if c.To.Dataset != c.From.Dataset {
			node(c.To.Dataset).Columns = append(node(c.To.Dataset).Columns, c)
		}
	}
	return out
}
