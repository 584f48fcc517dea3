package contextgraph

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/lovoo/goka"

	"github.com/aistream/aistream/codecs"
)

// # Retention of the trace index
//
// The index keeps a tenant's traces whose start is at most the retention
// (--trace-index-retention) before the newest start the index has seen for
// that tenant: event time, so a replay deletes exactly what the first run
// deleted. Every stored summary loops {key, start} to the tenant's
// watermark key; the watermark either deletes the entry at once (it is
// already past retention) or files its key in an expiry list, a key per
// tenant, indexBucket of start and one of expiryShards shards. When the
// watermark passes a bucket's end plus the retention, it sweeps that
// bucket's lists: each listed entry is deleted (a loopback to its key) and
// the list with it. Retention keys start with "~", never a tenant id, so no
// tenant's key range (GET /v1/traces) meets them. Bounds: one watermark per
// tenant, expiry lists of at most maxExpiryKeys keys each (past it an entry
// is deleted only if it is re-stored after its bucket's sweep; counted in
// the list's Dropped), and at most retention/indexBucket buckets in the
// window the watermark sweeps.

// indexBucket is the start-time span of one expiry list.
const indexBucket = 10 * time.Minute

// expiryShards spreads a tenant's expiry list of one bucket over keys.
const expiryShards = 8

// maxExpiryKeys bounds the keys of one expiry list.
const maxExpiryKeys = 20000

// metaPrefix starts every retention key; no tenant id starts with "~".
const metaPrefix = "~"

func isMetaKey(k string) bool { return strings.HasPrefix(k, metaPrefix) }

func watermarkKey(tenant string) string { return metaPrefix + "wm" + codecs.KeySeparator + tenant }

func expiryKey(tenant string, bucket time.Time, shard int) string {
	return fmt.Sprintf("%sexp%s%s%s%d/%d", metaPrefix, codecs.KeySeparator, tenant, codecs.KeySeparator, bucket.UTC().Truncate(indexBucket).Unix(), shard)
}

func expiryShard(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % expiryShards)
}

// retentionMsg is a record of the index group's loop: at a watermark key an
// entry {Key, Tenant, Start} to file; at an expiry list an entry Key to add
// (Add) or Sweep; at an entry's key Delete.
type retentionMsg struct {
	Key    string    `json:"key,omitempty"`
	Tenant string    `json:"tenant,omitempty"`
	Start  time.Time `json:"start"`
	Add    bool      `json:"add,omitempty"`
	Sweep  bool      `json:"sweep,omitempty"`
	Delete bool      `json:"delete,omitempty"`
}

// indexMeta is the value of a retention key: a watermark (Newest, and
// Swept, the end of the buckets swept) or an expiry list (Keys).
type indexMeta struct {
	M       int       `json:"m"` // always 1: tells the codec a meta value
	Newest  time.Time `json:"newest,omitzero"`
	Swept   time.Time `json:"swept,omitzero"`
	Keys    []string  `json:"keys,omitempty"`
	Dropped int       `json:"dropped,omitempty"`
}

var metaMark = []byte(`{"m":`)

// indexCodec stores TraceSummary at entry keys and indexMeta at retention
// keys (told apart by the encoding's first byte; index_codec.go).
type indexCodec struct{}

func loopRetention(ctx goka.Context, r retentionMsg) {
	ctx.Loopback(watermarkKey(r.Tenant), &r)
}

// retain handles a loop record at ctx's key.
func retain(ctx goka.Context, r retentionMsg, retention time.Duration) {
	key := ctx.Key()
	switch {
	case !isMetaKey(key):
		if r.Delete {
			ctx.Delete()
		}
	case strings.HasPrefix(key, watermarkKey("")):
		m, _ := ctx.Value().(*indexMeta)
		if m == nil {
			// Nothing was filed before the first cutoff.
			m = &indexMeta{Newest: r.Start, Swept: r.Start.Add(-retention).UTC().Truncate(indexBucket)}
		}
		newest := m.Newest
		if r.Start.After(newest) {
			newest = r.Start
		}
		cutoff := newest.Add(-retention)
		if r.Start.Before(cutoff) {
			ctx.Loopback(r.Key, &retentionMsg{Delete: true})
		} else {
			ctx.Loopback(expiryKey(r.Tenant, r.Start, expiryShard(r.Key)), &retentionMsg{Key: r.Key, Add: true})
		}
		// Buckets ending at or before the cutoff are past retention; only
		// those up to the old newest can hold keys.
		end := cutoff.UTC().Truncate(indexBucket)
		if last := m.Newest.UTC().Truncate(indexBucket).Add(indexBucket); end.After(last) {
			end = last
		}
		for b := m.Swept; b.Before(end); b = b.Add(indexBucket) {
			for shard := range expiryShards {
				ctx.Loopback(expiryKey(r.Tenant, b, shard), &retentionMsg{Sweep: true})
			}
		}
		// Later buckets up to the cutoff hold no key: none started after
		// the old newest, and this one is filed at or after the cutoff.
		if c := cutoff.UTC().Truncate(indexBucket); c.After(m.Swept) {
			m.Swept = c
		}
		m.Newest = newest
		ctx.SetValue(m)
	default: // an expiry list
		m, _ := ctx.Value().(*indexMeta)
		switch {
		case r.Sweep:
			if m != nil {
				for _, k := range m.Keys {
					ctx.Loopback(k, &retentionMsg{Delete: true})
				}
				ctx.Delete()
			}
		case r.Add:
			if m == nil {
				m = &indexMeta{}
			}
			if i, found := slices.BinarySearch(m.Keys, r.Key); !found {
				if len(m.Keys) >= maxExpiryKeys {
					m.Dropped++
				} else {
					m.Keys = slices.Insert(m.Keys, i, r.Key)
				}
				ctx.SetValue(m)
			}
		}
	}
}
