// Package audit indexes audit-events — aistream's own records (API reads,
// admin operations) and the AI Service's — into a per-tenant, time-ordered
// view served by GET /v1/audit. It only reads audit-events: nothing in
// aistream modifies or deletes an audit event.
//
// Group "<prefix>-audit" decodes every record strictly (the seed's
// envelope, event_type audit.recorded; anything else goes to the dead-letter
// topic) and keeps it under the key tenant|<bucket start, unix seconds>,
// one key per tenant and BucketWidth of event time, re-keyed through the
// group's loop. Time buckets keep a hot tenant fast: a write rewrites one
// bucket, not the tenant's whole history. Bound: MaxPerBucket events per
// bucket (past it the oldest are evicted and counted in Dropped); a query
// reads at most MaxRange of buckets. A redelivered event (same event_id)
// changes nothing.
package audit

import (
	"flag"
	"sort"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// Name is the group's short name.
const Name = "audit"

// BucketWidth is the event-time span of one table key.
const BucketWidth = 10 * time.Minute

// MaxRange bounds the span of one GET /v1/audit (until - since).
const MaxRange = 31 * 24 * time.Hour

// Config holds the group's settings.
type Config struct {
	// MaxPerBucket bounds the events kept per tenant and bucket.
	MaxPerBucket int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxPerBucket: 2000} }

// RegisterFlags registers --audit-* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxPerBucket, "audit-max-per-bucket", c.MaxPerBucket, "audit events kept per tenant and 10 minutes in the audit view (oldest evicted past it, counted as dropped)")
}

// Validate checks the settings.
func (c Config) Validate() error {
	return config.CheckInts(config.IntFlag{Flag: "audit-max-per-bucket", Value: c.MaxPerBucket, Lo: 1, Hi: 100000})
}

// Entry is one stored audit event.
type Entry struct {
	EventID  string            `json:"event_id"`
	Time     time.Time         `json:"time"`
	Source   string            `json:"source"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Resource string            `json:"resource"`
	Outcome  string            `json:"outcome"`
	Details  map[string]string `json:"details,omitempty"`
}

// Bucket is the table value: a tenant's events of one BucketWidth, newest
// first (by time, then event_id).
type Bucket struct {
	Events  []Entry `json:"events"`
	Dropped int     `json:"dropped,omitempty"`
	// Offsets are the highest input offsets applied: a redelivery of one
	// rewrites the state, whose changelog write a crash may have lost.
	Offsets stream.Offsets `json:"offsets,omitempty"`
}

// Codec stores Bucket in the table.
type Codec = codecs.JSON[Bucket]

// BucketKey is the table key of tenant's events at t.
func BucketKey(tenant string, t time.Time) string {
	return codecs.TenantKey(tenant, strconv.FormatInt(t.UTC().Truncate(BucketWidth).Unix(), 10))
}

// Newer reports whether a sorts before b in newest-first order.
func Newer(a, b Entry) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.EventID > b.EventID
}

// Module is the audit processor: group "audit" and GET /v1/audit.
func Module() *stream.Module { return NewModule(DefaultConfig()) }

// NewModule is the module with the given settings (flags still override them).
func NewModule(c Config) *stream.Module {
	cfg := &c
	return &stream.Module{
		Name:     Name,
		Flags:    cfg.RegisterFlags,
		Validate: func() error { return cfg.Validate() },
		Groups:   []stream.Group{{Name: Name, Graph: func(o stream.Options) *goka.GroupGraph { return graph(o, *cfg) }}},
		Read:     stream.ReadTable(Name, new(Codec), func(t api.Table) ([]api.Route, error) { return NewQuery(t).Routes(), nil }),
	}
}

func graph(o stream.Options, c Config) *goka.GroupGraph {
	input, loop := stream.Keyed(o.Metrics, Decoder(o.Decoder), func(ctx goka.Context, e Entry) { store(ctx, e, c.MaxPerBucket) })
	return goka.DefineGroup(o.Group(Name),
		goka.Input(goka.Stream(topology.AuditEvents), new(codec.Bytes), input),
		goka.Loop(new(codec.Bytes), loop),
		goka.Persist(new(Codec)),
		stream.DeadLetterOutput(),
	)
}

// Decoder decodes an audit-events record strictly into its bucket key and entry.
func Decoder(d codecs.Decoder) stream.KeyedDecoder[Entry] {
	return func(raw []byte) (string, Entry, error) {
		ev, err := d.Decode(raw)
		if err != nil {
			return "", Entry{}, err
		}
		a, ok := ev.Payload.(*codecs.Audit)
		if !ok {
			return "", Entry{}, codecs.Reject(codecs.ReasonWrongTopic, "event_type", "%q is not %s, the event type of %s", ev.EventType, codecs.TypeAudit, topology.AuditEvents)
		}
		t := ev.Timestamp.Time.UTC()
		return BucketKey(ev.TenantID, t), Entry{EventID: ev.EventID, Time: t, Source: ev.Source, Actor: a.Actor,
			Action: a.Action, Resource: a.Resource, Outcome: a.Outcome, Details: a.Details}, nil
	}
}

// store inserts e in its bucket, newest first; a stored event_id is a
// redelivery and changes nothing.
func store(ctx goka.Context, e Entry, max int) {
	b, _ := ctx.Value().(*Bucket)
	if b == nil {
		b = &Bucket{}
	}
	for _, x := range b.Events {
		if x.EventID == e.EventID {
			if b.Offsets.Redelivered(ctx) {
				ctx.SetValue(b)
			}
			return
		}
	}
	i := sort.Search(len(b.Events), func(i int) bool { return !Newer(b.Events[i], e) })
	b.Events = append(b.Events, Entry{})
	copy(b.Events[i+1:], b.Events[i:])
	b.Events[i] = e
	if len(b.Events) > max {
		b.Dropped += len(b.Events) - max
		b.Events = b.Events[:max]
	}
	b.Offsets.Advance(ctx)
	ctx.SetValue(b)
}
