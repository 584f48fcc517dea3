package replay

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
)

// ClientOptions are franz-go options for the cluster in k (config.Kafka.Franz).
func ClientOptions(k config.Kafka) ([]kgo.Opt, error) { return k.Franz() }

// Connect returns a client and its admin for the cluster in k.
func Connect(k config.Kafka) (*kgo.Client, *kadm.Client, error) {
	opts, err := ClientOptions(k)
	if err != nil {
		return nil, nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Kafka at %v: %w (check KAFKA_BOOTSTRAP_SERVERS and the security settings)", k.BootstrapServers, err)
	}
	return cl, kadm.NewClient(cl), nil
}
