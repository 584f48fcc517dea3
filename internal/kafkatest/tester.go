package kafkatest

import (
	"context"
	"io"
	"log"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/internal/api"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// RunOnTester runs the group graphs on goka's in-memory tester, with the
// project's murmur2 hasher and goka's logs discarded, until the test ends; a
// processor that fails fails the test. It returns the processors in the
// order of graphs.
func RunOnTester(t testing.TB, tt *tester.Tester, graphs ...*goka.GroupGraph) []*goka.Processor {
	t.Helper()
	var procs []*goka.Processor
	for _, g := range graphs {
		p, err := goka.NewProcessor(nil, g, goka.WithTester(tt), goka.WithHasher(topology.NewHash), goka.WithNilHandling(goka.NilProcess),
			goka.WithLogger(log.New(io.Discard, "", 0)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("processor %s: %v", g.Group(), err)
			}
		})
		procs = append(procs, p)
	}
	return procs
}

// ViewsOnTester returns an opener of goka views backed by the tester; each
// view it opens runs until the test ends and has recovered when the opener
// returns it.
func ViewsOnTester(t testing.TB, tt *tester.Tester) api.Opener {
	return func(table goka.Table, c goka.Codec) (api.Table, error) {
		v, err := goka.NewView(nil, table, c, goka.WithViewTester(tt), goka.WithViewHasher(topology.NewHash),
			goka.WithViewLogger(log.New(io.Discard, "", 0)))
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("view %s: %v", table, err)
			}
		})
		Eventually(t, 10*time.Second, "view "+string(table)+" recovered", v.Recovered)
		return testerView{v}, nil
	}
}

// testerView is a view on the tester, whose in-memory tables iterate in
// insertion order: api.PrefixPage reads its whole ranges.
type testerView struct{ *goka.View }

// UnsortedRanges marks the view's ranges as not in key order.
func (testerView) UnsortedRanges() {}

// RunModuleOnTester runs every group of the module on the tester under
// prefix (no metrics, default decoder).
func RunModuleOnTester(t testing.TB, tt *tester.Tester, prefix string, m *stream.Module) []*goka.Processor {
	t.Helper()
	o := stream.Options{Prefix: stream.Prefix(prefix)}
	var graphs []*goka.GroupGraph
	for _, g := range m.Groups {
		graphs = append(graphs, g.Graph(o))
	}
	return RunOnTester(t, tt, graphs...)
}
