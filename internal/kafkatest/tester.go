package kafkatest

import (
	"context"
	"io"
	"log"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/aistream/aistream/topology"
)

// RunOnTester runs the group graphs on goka's in-memory tester, with the
// project's murmur2 hasher and goka's logs discarded, until the test ends; a
// processor that fails fails the test.
func RunOnTester(t testing.TB, tt *tester.Tester, graphs ...*goka.GroupGraph) {
	t.Helper()
	for _, g := range graphs {
		p, err := goka.NewProcessor(nil, g, goka.WithTester(tt), goka.WithHasher(topology.NewHash),
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
	}
}
