// Package audit indexes audit-events — aistream's own records (API reads,
// admin operations) and the AI Service's — into a per-tenant, time-ordered
// view served by GET /v1/audit. It only reads audit-events: nothing in
// aistream modifies or deletes an audit event.
//
// Group "<prefix>-audit" decodes every record strictly (the seed's
// envelope, event_type audit.recorded; anything else goes to the dead-letter
// topic) and keeps it under the key tenant|<bucket start, unix seconds>/<shard>:
// one key per tenant, BucketWidth of event time and one of Shards shards
// (a hash of the event id), re-keyed through the group's loop. A write
// rewrites one small value — its changelog record included — not the
// tenant's history: time buckets and shards keep a hot tenant fast
// (BenchmarkFullBucketRewrite: a value's cost grows with its events).
// Bound: MaxPerKey events per key (past it the oldest are evicted and
// counted in Dropped); a query reads at most MaxRange of buckets. A
// redelivered event (same event_id, so same key) changes nothing.
package audit

import (
	"flag"
	"hash/fnv"
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

// Shards is the number of keys a tenant's bucket is spread over.
const Shards = 16

// MaxRange bounds the span of one GET /v1/audit (until - since).
const MaxRange = 31 * 24 * time.Hour

// Config holds the group's settings.
type Config struct {
	// MaxPerKey bounds the events kept per table key (tenant, bucket, shard).
	MaxPerKey int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxPerKey: 128} }

// RegisterFlags registers --audit-* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxPerKey, "audit-max-per-key", c.MaxPerKey, "audit events kept per table key of the audit view: per tenant, 10 minutes and one of 16 shards (oldest evicted past it, counted as dropped)")
}

// Validate checks the settings.
func (c Config) Validate() error {
	return config.CheckInts(config.IntFlag{Flag: "audit-max-per-key", Value: c.MaxPerKey, Lo: 1, Hi: 10000})
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

// Key is the table key of tenant's bucket starting at bucket, shard shard.
func Key(tenant string, bucket time.Time, shard int) string {
	return codecs.TenantKey(tenant, strconv.FormatInt(bucket.UTC().Truncate(BucketWidth).Unix(), 10)+"/"+strconv.Itoa(shard))
}

// ShardOf is the shard of an event id.
func ShardOf(eventID string) int {
	h := fnv.New32a()
	h.Write([]byte(eventID))
	return int(h.Sum32() % Shards)
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
	input, loop := stream.Keyed(o.Metrics, Decoder(o.Decoder), func(ctx goka.Context, e Entry) { store(ctx, e, c.MaxPerKey) })
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
		return Key(ev.TenantID, t, ShardOf(ev.EventID)), Entry{EventID: ev.EventID, Time: t, Source: ev.Source, Actor: a.Actor,
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
