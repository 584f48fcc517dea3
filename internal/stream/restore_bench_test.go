package stream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// restoreRecords is how many table records each case fills
// (AISTREAM_BENCH_RESTORE scales them: 1 is the default, 0.1 a tenth).
func restoreRecords(b *testing.B, n int) int {
	if s := os.Getenv("AISTREAM_BENCH_RESTORE"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 || f > 10 {
			b.Fatalf("AISTREAM_BENCH_RESTORE=%q: want a factor from 0.001 to 10", s)
		}
		n = int(float64(n) * f)
	}
	return n
}

// BenchmarkRestore measures how fast a replica restores a table from its
// topic into local state (goka's leveldb under the state directory), as
// after a start on an empty state directory: a view, and a processor
// (recover-ahead, so its whole table before it joins the group). Each case
// fills a 6-partition table topic with distinct keys: small values, and
// values the size of a context graph. It reports records/s and the CPU time
// of the process per record, beside a plain franz-go client reading the
// same records in the same run (baseline-records/s).
//
//	AISTREAM_TEST_KAFKA=127.0.0.1:19092 go test -run '^$' -bench Restore -benchtime 1x ./internal/stream/
func BenchmarkRestore(b *testing.B) {
	for _, c := range []struct {
		name    string
		records int
		value   func(i int) []byte
	}{
		{"small", 500_000, func(int) []byte { return smallValue }},
		{"graph-1.5KiB", 100_000, graphValue},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := restoreRecords(b, c.records)
			var group string
			env, prefix := kafkatest.Setup(b, func(prefix string) []topology.Group {
				group = prefix + "-restore"
				return []topology.Group{{Name: group, Partitions: 6, Table: true, Extra: []string{group + "-in"}}}
			})
			table := topology.GroupTable(group)
			start := time.Now()
			kafkatest.Fill(b, table, n, func(i int) *kgo.Record {
				return &kgo.Record{Key: []byte(fmt.Sprintf("%s-trace-%09d", prefix, i)), Value: c.value(i)}
			})
			b.Logf("filled %s with %d records (%d bytes each for the first) in %s", table, n, len(c.value(0)), time.Since(start).Round(time.Millisecond))

			b.Run("baseline", func(b *testing.B) {
				for range b.N {
					b.ReportMetric(readAll(b, table, n), "baseline-records/s")
				}
			})
			b.Run("view", func(b *testing.B) {
				for range b.N {
					e := *env
					e.StateDir = b.TempDir()
					v, err := goka.NewView(e.Brokers, goka.Table(table), new(codec.Bytes), e.ViewOptions()...)
					if err != nil {
						b.Fatal(err)
					}
					restore(b, n, func(ctx context.Context) error { return v.Run(ctx) }, v.Recovered)
				}
			})
			b.Run("processor", func(b *testing.B) {
				graph := goka.DefineGroup(goka.Group(group),
					goka.Input(goka.Stream(group+"-in"), new(codec.Bytes), func(goka.Context, any) {}),
					goka.Persist(new(codec.Bytes)))
				for range b.N {
					e := *env
					e.StateDir = b.TempDir()
					r := stream.NewRunner(&e)
					p, err := r.AddGroup(stream.Group{Name: "restore", Graph: func(stream.Options) *goka.GroupGraph { return graph }}, stream.Options{})
					if err != nil {
						b.Fatal(err)
					}
					restore(b, n, r.Run, p.Recovered)
				}
			})
		})
	}
}

var smallValue = []byte(`{"tenant_id":"acme-corp","count":17,"updated":"2025-03-15T10:00:00Z","state":"ok","note":"small record"}`)

// graphValue is a context graph's size and shape (JSON, ids and text that
// differ per record, so it compresses like a real one): about 1.5 KiB.
func graphValue(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 1))
	words := []string{"orders", "refund", "query", "table", "join", "total", "customer", "region", "sql", "plan", "rows", "filter"}
	text := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteByte(' ')
		}
		return sb.String()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"tenant_id":"acme-corp","trace_id":"tr-%09d","agents":[{"name":"planner"},{"name":"sql-agent"}],"thinking":[`, i)
	for k := range 3 {
		fmt.Fprintf(&sb, `{"event_id":"ev-%d-%d-%x","step":%d,"agent":"planner","content":%q,"tokens":%d},`, i, k, r.Uint64(), k, text(12), r.IntN(500))
	}
	sb.WriteString(`{}],"spans":[`)
	for k := range 5 {
		fmt.Fprintf(&sb, `{"event_id":"ev-%d-s%d-%x","span_id":"s%d","name":"run_sql","status":"ok","start_time":"2025-03-15T10:00:%02d.%03dZ","duration_ms":%d,"model":"gpt-4o","tokens_in":%d,"tokens_out":%d},`,
			i, k, r.Uint64(), k, k, r.IntN(1000), r.IntN(3000), r.IntN(2000), r.IntN(400))
	}
	fmt.Fprintf(&sb, `{}],"events":%d,"offsets":[{"topic":"agent-trace-events","partition":%d,"offset":%d}]}`, 8, i%6, r.Int64N(1<<40))
	return []byte(sb.String())
}

// readAll is the yardstick: a plain franz-go client reading the n records
// of table from the start, storing nothing. It returns records per second.
func readAll(b *testing.B, table string, n int) float64 {
	b.Helper()
	start := time.Now()
	cl := kafkatest.Client(b, kgo.ConsumeTopics(table), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for seen := 0; seen < n; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("baseline: read %d of %d records", seen, n)
		}
		seen += fs.NumRecords()
	}
	return float64(n) / time.Since(start).Seconds()
}

// restore runs run until recovered reports true and reports the rate and
// the CPU time per record.
func restore(b *testing.B, n int, run func(context.Context) error, recovered func() bool) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu0 := cpuTime()
	start := time.Now()
	go func() { done <- run(ctx) }()
	for !recovered() {
		select {
		case err := <-done:
			cancel()
			b.Fatalf("stopped before it recovered: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatal("not recovered within 10 minutes")
		}
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/took.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/record")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
