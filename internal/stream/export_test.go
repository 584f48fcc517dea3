package stream

import (
	"github.com/lovoo/goka"

	"github.com/aistream/aistream/topology"
)

// NewGroupProducer builds the producer goka gets for the processor of
// group (GroupProcessorOptions), for the external tests.
func (e *Env) NewGroupProducer(group string) (goka.Producer, error) {
	return e.producerBuilder(group)(e.Brokers, "aistream-test", topology.NewHash)
}

// ValueRoom is valueRoom, for the external tests.
var ValueRoom = valueRoom
