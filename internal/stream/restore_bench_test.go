package stream_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
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
// of the process per record.
//
//	AISTREAM_TEST_KAFKA=127.0.0.1:19092 go test -run '^$' -bench Restore -benchtime 1x ./internal/stream/
func BenchmarkRestore(b *testing.B) {
	for _, c := range []struct {
		name    string
		records int
		value   int // bytes
	}{
		{"small", 500_000, 100},
		{"graph-1.5KiB", 100_000, 1536},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := restoreRecords(b, c.records)
			var group string
			env, prefix := kafkatest.Setup(b, func(prefix string) []topology.Group {
				group = prefix + "-restore"
				return []topology.Group{{Name: group, Partitions: 6, Table: true, Extra: []string{group + "-in"}}}
			})
			table := topology.GroupTable(group)
			value := make([]byte, c.value)
			for i := range value {
				value[i] = 'a' + byte(i%26)
			}
			start := time.Now()
			kafkatest.Fill(b, table, n, func(i int) *kgo.Record {
				return &kgo.Record{Key: []byte(fmt.Sprintf("%s-key-%09d", prefix, i)), Value: value}
			})
			b.Logf("filled %s with %d records of %d bytes in %s", table, n, c.value, time.Since(start).Round(time.Millisecond))

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
