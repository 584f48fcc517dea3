package deadletters

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
)

// ClientOptions are the franz-go options for the cluster in k: its brokers
// and client id, TLS and SASL as KAFKA_* configure them, and a producer that
// writes like aistream's own (murmur2 on the key as the AI Service and the
// Java client partition, no compression since the AI Service's aiokafka
// reads no snappy, the same record limit).
func ClientOptions(k config.Kafka) ([]kgo.Opt, error) {
	opts, err := k.Franz()
	if err != nil {
		return nil, err
	}
	return append(opts,
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(config.ProducerMaxBytes),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	), nil
}
