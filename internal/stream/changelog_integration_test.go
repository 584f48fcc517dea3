package stream_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

// On a broker, with the default flush interval: a key counted up by 400
// inputs in a burst reaches the changelog in fewer records than writes,
// its last record holds the final count, a deleted key's last record is a
// tombstone, and every input is committed (no promise left unfinished).
func TestIntegrationMergedTableWritesCommitEveryInput(t *testing.T) {
	env, prefix := kafkatest.Setup(t, inputOf("merge"))
	if env.ChangelogFlush <= 0 {
		t.Fatalf("the test environment does not merge (ChangelogFlush %s)", env.ChangelogFlush)
	}
	in, name := prefix+"-merge-in", prefix+"-merge"
	group := goka.DefineGroup(goka.Group(name),
		goka.Input(goka.Stream(in), new(codec.String), func(ctx goka.Context, msg any) {
			if msg.(string) == "delete" {
				ctx.Delete()
				return
			}
			n := 0
			if v := ctx.Value(); v != nil {
				n, _ = strconv.Atoi(v.(string))
			}
			ctx.SetValue(strconv.Itoa(n + 1))
		}),
		goka.Persist(new(codec.String)),
	)
	kafkatest.RunGroups(t, env, stream.Options{}, stream.Group{Name: "merge", Graph: func(stream.Options) *goka.GroupGraph { return group }})

	const writes = 400
	var recs []*kgo.Record
	for range writes {
		recs = append(recs, &kgo.Record{Topic: in, Key: []byte("hot"), Value: []byte("+1")})
	}
	recs = append(recs,
		&kgo.Record{Topic: in, Key: []byte("gone"), Value: []byte("+1")},
		&kgo.Record{Topic: in, Key: []byte("gone"), Value: []byte("delete")})
	cl := kafkatest.Client(t)
	kafkatest.Produce(t, cl, recs...)

	admin := kadm.NewClient(cl)
	kafkatest.Eventually(t, 90*time.Second, "every input committed", func() bool {
		offsets, err := admin.FetchOffsets(context.Background(), name)
		if err != nil {
			return false
		}
		o, ok := offsets.Lookup(in, 0)
		return ok && o.At == int64(len(recs))
	})
	table := string(goka.GroupTable(goka.Group(name)))
	end := kafkatest.EndOffsets(t, table)
	last := map[string]*kgo.Record{}
	kafkatest.ReadUntil(t, table, 60*time.Second, func(r *kgo.Record) bool {
		last[string(r.Key)] = r
		return true
	}, func(rs []*kgo.Record) bool { return int64(len(rs)) >= end })
	if end >= writes+2 {
		t.Errorf("%d changelog records for %d table writes: nothing merged", end, writes+2)
	}
	if r := last["hot"]; r == nil || string(r.Value) != strconv.Itoa(writes) {
		t.Errorf("last changelog record of the hot key: %v, want %d", r, writes)
	}
	if r := last["gone"]; r == nil || r.Value != nil {
		t.Errorf("last changelog record of the deleted key: %v, want a tombstone", r)
	}
	// Every write was merged away or produced (a retried produce may
	// have written one twice).
	if n := testutil.ToFloat64(env.Metrics.ChangelogMerged.WithLabelValues(name)); n < 1 || int64(n)+end < writes+2 {
		t.Errorf("aistream_changelog_writes_merged_total = %v with %d records produced, want the %d writes not produced", n, end, writes+2-end)
	}
	t.Logf("%d table writes, %d changelog records", writes+2, end)
}
