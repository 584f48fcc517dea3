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
	"slices"
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

// MaxTenantsPerBucket bounds the tenants listed in one bucket's tenant
// index (the key IndexKey): an admin's GET /v1/audit without ?tenant= reads
// the tenants it lists; past the bound a tenant's events of that bucket are
// not listed there (counted in Dropped) but stay readable with ?tenant=.
const MaxTenantsPerBucket = 1024

// indexTenant is the key prefix of the tenant index: no tenant id starts
// with "*" (codecs.ValidTenant), so it never meets a tenant's key.
const indexTenant = "*"

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
	// Tenants, in a tenant index value (key IndexKey) only, are the
	// tenants with an event in the bucket, sorted; Dropped then counts the
	// tenants past MaxTenantsPerBucket.
	Tenants []string `json:"tenants,omitempty"`
	// Offsets are the highest input offsets applied: a redelivery of one
	// rewrites the state, whose changelog write a crash may have lost.
	Offsets stream.Offsets `json:"offsets,omitempty"`
}

// Key is the table key of tenant's bucket starting at bucket, shard shard.
func Key(tenant string, bucket time.Time, shard int) string {
	return codecs.TenantKey(tenant, strconv.FormatInt(bucket.UTC().Truncate(BucketWidth).Unix(), 10)+"/"+strconv.Itoa(shard))
}

// IndexKey is the table key of the tenant index of the bucket starting at
// bucket: the tenants with an event in it, for an admin's list of every
// tenant's events without a scan of the table.
func IndexKey(bucket time.Time) string {
	return codecs.TenantKey(indexTenant, strconv.FormatInt(bucket.UTC().Truncate(BucketWidth).Unix(), 10))
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

// indexed is a decoded record with what the tenant index needs: the
// event's tenant and the raw record (looped back to IndexKey).
type indexed struct {
	Entry
	tenant string
	raw    []byte
}

func graph(o stream.Options, c Config) *goka.GroupGraph {
	dec := Decoder(o.Decoder)
	decode := func(raw []byte) (string, indexed, error) {
		k, e, err := dec(raw)
		tenant, _, _ := codecs.SplitTenantKey(k)
		return k, indexed{Entry: e, tenant: tenant, raw: raw}, err
	}
	input, loop := stream.Keyed(o.Metrics, decode, func(ctx goka.Context, e indexed) {
		if ctx.Key() == IndexKey(e.Time) {
			indexTenants(ctx, e.tenant)
			return
		}
		if store(ctx, e.Entry, c.MaxPerKey) {
			ctx.Loopback(IndexKey(e.Time), e.raw)
		}
	})
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
// redelivery and changes nothing. It reports whether the bucket's tenant
// index must learn the tenant: on the key's first event, and again on a
// redelivery of an input whose writes a crash may have lost.
func store(ctx goka.Context, e Entry, max int) bool {
	b, _ := ctx.Value().(*Bucket)
	first := b == nil
	if b == nil {
		b = &Bucket{}
	}
	for _, x := range b.Events {
		if x.EventID == e.EventID {
			if b.Offsets.Redelivered(ctx) {
				ctx.SetValue(b)
				return true
			}
			return false
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
	return first
}

// indexTenants adds tenant to the tenant index at ctx's key (sorted, at
// most MaxTenantsPerBucket; past it counted in Dropped).
func indexTenants(ctx goka.Context, tenant string) {
	b, _ := ctx.Value().(*Bucket)
	if b == nil {
		b = &Bucket{}
	}
	i, found := slices.BinarySearch(b.Tenants, tenant)
	switch {
	case found:
		if b.Offsets.Redelivered(ctx) {
			ctx.SetValue(b)
		}
		return
	case len(b.Tenants) >= MaxTenantsPerBucket:
		if b.Offsets.Redelivered(ctx) {
			ctx.SetValue(b)
			return
		}
		b.Dropped++
	default:
		b.Tenants = slices.Insert(b.Tenants, i, tenant)
	}
	b.Offsets.Advance(ctx)
	ctx.SetValue(b)
}
