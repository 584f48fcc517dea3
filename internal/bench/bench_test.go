package bench_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/bench"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/processors/lineage"
	"github.com/aistream/aistream/processors/quality"
)

// A tiny run of the whole benchmark on the test cluster: every group of
// the modules measured with its baseline on the same records, a hot-key
// phase and the latency phase's outputs all read.
func TestIntegrationBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	brokers := kafkatest.Brokers(t)
	sc, err := config.Kafka{BootstrapServers: brokers, SecurityProtocol: "PLAINTEXT", ClientID: "aistream-bench-test", InitialOffset: "earliest"}.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	// The scale phase starts replicas of the real binary.
	bin := filepath.Join(t.TempDir(), "aistream")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/aistream").CombinedOutput(); err != nil {
		t.Fatalf("build aistream: %v\n%s", err, out)
	}
	var out bytes.Buffer
	mods := []*stream.Module{contextgraph.Module(), quality.Module(), lineage.Module()}
	rep, err := bench.Run(context.Background(), bench.Config{
		Franz: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Brokers: brokers, Sarama: sc,
		Events: 300, Hot: []string{"trace"}, HotEvents: 200, Rate: 2000, LatencyEvents: 300,
		Replicas: []int{1, 2}, Restore: true, Binary: bin, ClusterFlags: []string{"--bootstrap-servers", strings.Join(brokers, ",")},
		Timeout: 5 * time.Minute, Log: zerolog.Nop(), Out: &out,
	}, mods)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	groups := map[string]bool{}
	for _, r := range rep.Results {
		if r.Phase == "spread" {
			groups[r.Group] = true
			if r.Base.Records() == 0 && r.Events > 0 {
				t.Errorf("%s: processed %d events but its baseline read nothing", r.Group, r.Events)
			}
		}
	}
	for _, g := range []string{contextgraph.Name, quality.RouterName, quality.Name, lineage.Name} {
		if !groups[g] {
			t.Errorf("no spread result for %s:\n%s", g, out.String())
		}
	}
	if len(rep.Latency) != 3 || rep.Latency[0].N == 0 {
		t.Errorf("latency outputs: %+v", rep.Latency)
	}
	// The latency phase's producer is paced: 300 records at 2000/s take
	// at least 299 intervals of 500 µs to hand over.
	if rep.Produce < 299*500*time.Microsecond || rep.Produce > rep.Pipeline.Elapsed {
		t.Errorf("latency phase: records handed over in %s, phase %s", rep.Produce, rep.Pipeline.Elapsed)
	}
	if len(rep.Scale) != 2 || rep.Scale[1].Replicas != 2 {
		t.Fatalf("scale results: %+v\n%s", rep.Scale, out.String())
	}
	for _, s := range rep.Scale {
		// Every group read at least the mix's records of its contract inputs.
		if s.Events < 300 || s.Elapsed <= 0 || s.Join <= 0 || s.CPUTotal <= 0 {
			t.Errorf("%d replicas: %d events in %s after a %s join, %s CPU", s.Replicas, s.Events, s.Elapsed, s.Join, s.CPUTotal)
		}
	}
	restored := 0
	for _, r := range rep.Restore {
		if r.Records > 0 && r.Elapsed > 0 {
			restored++
		}
	}
	if restored == 0 {
		t.Errorf("no table restored: %+v", rep.Restore)
	}
	// The run deleted its own topics (its prefix is in the restore table).
	prefix := regexp.MustCompile(`(bench[0-9]+)-r1-`).FindStringSubmatch(out.String())
	if prefix == nil {
		t.Fatalf("no run prefix in the report:\n%s", out.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var left []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		ts, err := kadm.NewClient(cl).ListTopics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		left = slices.DeleteFunc(ts.Names(), func(n string) bool { return !strings.HasPrefix(n, prefix[1]+"-") })
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("the run left %d of its topics, e.g. %s", len(left), left[0])
	}
	if !strings.Contains(out.String(), "hot-trace") {
		t.Errorf("no hot-trace line:\n%s", out.String())
	}
}

// The floor phase runs its variants on exactly the records the context
// graph's spread phase and its baseline read (copied; each variant's count
// of the range is checked by the phase itself), prints its table, and leaves none
// of its topics or consumer groups behind.
func TestIntegrationBenchFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs goka and sarama groups")
	}
	brokers := kafkatest.Brokers(t)
	sc, err := config.Kafka{BootstrapServers: brokers, SecurityProtocol: "PLAINTEXT", ClientID: "aistream-bench-test", InitialOffset: "earliest"}.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		Franz: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Brokers: brokers, Sarama: sc,
		Events: 400, Floor: true, Timeout: 3 * time.Minute, Log: zerolog.Nop(), Out: &out,
	}, []*stream.Module{contextgraph.Module()})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	f := rep.Floor
	if f == nil {
		t.Fatalf("no floor result:\n%s", out.String())
	}
	var spread int64 = -1
	for _, r := range rep.Results {
		if r.Group == contextgraph.Name && r.Phase == "spread" {
			spread = r.Base.Records()
		}
	}
	if f.Source != contextgraph.Name || f.Records == 0 || f.Records != spread || f.Base.Records() != f.Records {
		t.Errorf("floor of %s on %d records, its plain client read %d, the spread baseline %d", f.Source, f.Records, f.Base.Records(), spread)
	}
	var names []string
	for _, v := range f.Variants {
		names = append(names, v.Group)
		// The variants read a copy of the range that nothing else writes.
		if v.Events != f.Records || v.Elapsed <= 0 || v.Base.Records() != f.Records {
			t.Errorf("%s: %d events in %s (range %d, its plain client %d)", v.Group, v.Events, v.Elapsed, f.Records, v.Base.Records())
		}
	}
	if want := []string{"goka floor: emit", "goka floor: emit+table", "sarama floor: emit"}; !slices.Equal(names, want) {
		t.Errorf("floor variants %v, want %v", names, want)
	}
	if !strings.Contains(out.String(), "best ratio a goka group reaches on these records") {
		t.Errorf("no best-ratio line:\n%s", out.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	own := func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, rep.Prefix+"-") })
	}
	var topics, groups []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		ts, err := adm.ListTopics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		gs, err := adm.ListGroups(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		topics, groups = own(ts.Names()), own(gs.Groups())
		if len(topics)+len(groups) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(topics)+len(groups) > 0 {
		t.Errorf("the run left topics %v and groups %v", topics, groups)
	}
}
