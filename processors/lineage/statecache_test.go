package lineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// TestStateCacheChangesNothing runs the same lineage traffic (the demo mix,
// then every event reading one hot dataset with a timestamp in another
// zone, every tenth event delivered twice) through the group with the
// table codec's node cache and without it: the lineage records and every
// stored node must be byte for byte the same. The hot events carry long
// ids, so the hot node reaches its byte budget (MaxNodeBytes at its
// least), whose estimate starts from the size and longest string the
// cached node must carry as decoding would.
func TestStateCacheChangesNothing(t *testing.T) {
	var recs []demo.Record
	for _, hot := range []bool{false, true} {
		gen := demo.New(5)
		gen.MalformedShare = 0
		at := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
		for range 1500 {
			for _, r := range gen.Trace(at) {
				if r.Topic != topology.LineageEvents {
					continue
				}
				if hot {
					var env map[string]any
					if err := json.Unmarshal(r.Value, &env); err != nil {
						t.Fatal(err)
					}
					ts, _ := time.Parse(time.RFC3339Nano, env["timestamp"].(string))
					env["timestamp"] = ts.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
					data := env["data"].(map[string]any)
					env["tenant_id"], data["sources"] = "acme-corp", []string{"raw.hot.dataset"}
					data["user_id"] = strings.Repeat("u", 200) + data["user_id"].(string)
					data["query_id"] = strings.Repeat("q", 200) + data["query_id"].(string)
					data["targets"] = []string{fmt.Sprintf("raw.out.t%d", len(recs)%50)}
					v, err := json.Marshal(env)
					if err != nil {
						t.Fatal(err)
					}
					r.Value = v
				}
				recs = append(recs, r)
			}
			at = at.Add(time.Second)
		}
	}
	const pfx = "cachetest"
	run := func(noCache bool) (out [][]byte, nodes map[string][]byte) {
		c := DefaultConfig()
		c.noStateCache = noCache
		c.MaxNodeBytes = 64 << 10
		tt := tester.New(t)
		kafkatest.RunOnTester(t, tt, graph(stream.Options{Prefix: pfx}, c))
		q := tt.NewQueueTracker(topology.LineageRecords)
		keys := map[string]bool{}
		for i, r := range recs {
			tt.Consume(topology.LineageEvents, string(r.Key), r.Value)
			if i%10 == 0 {
				tt.Consume(topology.LineageEvents, string(r.Key), r.Value)
			}
		}
		for {
			k, v, ok := q.Next()
			if !ok {
				break
			}
			out = append(out, v.([]byte))
			var rec struct {
				TenantID string `json:"tenant_id"`
				Data     struct {
					Inputs  []struct{ Name string } `json:"inputs"`
					Outputs []struct{ Name string } `json:"outputs"`
				} `json:"data"`
			}
			_ = k
			if err := json.Unmarshal(v.([]byte), &rec); err != nil {
				t.Fatal(err)
			}
			for _, d := range append(rec.Data.Inputs, rec.Data.Outputs...) {
				keys[rec.TenantID+"|"+d.Name] = true
			}
		}
		nodes = map[string][]byte{}
		for k := range keys {
			if v := tt.TableValue(stream.Prefix(pfx).Table(Name), k); v != nil {
				b, err := NodeCodec{}.Encode(v)
				if err != nil {
					t.Fatal(err)
				}
				nodes[k] = b
			}
		}
		return out, nodes
	}
	out, nodes := run(false)
	plainOut, plainNodes := run(true)
	if v, _ := (NodeCodec{}).Decode(nodes["acme-corp|raw.hot.dataset"]); v == nil || v.(*Node).Evicted == (Evicted{}) && len(nodes["acme-corp|raw.hot.dataset"]) < 60<<10 {
		t.Fatalf("the hot node (%d bytes) never reached its budget", len(nodes["acme-corp|raw.hot.dataset"]))
	}
	if len(out) < 100 || len(nodes) < 5 || nodes["acme-corp|raw.hot.dataset"] == nil {
		t.Fatalf("%d records and %d nodes (hot one: %v): too little to compare", len(out), len(nodes), nodes["acme-corp|raw.hot.dataset"] != nil)
	}
	if len(out) != len(plainOut) || len(nodes) != len(plainNodes) {
		t.Fatalf("%d records, %d nodes with the cache; %d, %d without", len(out), len(nodes), len(plainOut), len(plainNodes))
	}
	for i := range out {
		if !bytes.Equal(out[i], plainOut[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	for k, b := range nodes {
		if !bytes.Equal(b, plainNodes[k]) {
			t.Fatalf("node %s differs", k)
		}
	}
}
