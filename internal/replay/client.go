package replay

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/aistream/aistream/internal/config"
)

// ClientOptions are franz-go options for the cluster in k: the same
// brokers, client id, TLS and SASL as every sarama client of the process.
func ClientOptions(k config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(k.BootstrapServers...), kgo.ClientID(k.ClientID)}
	// The TLS configuration (CA, client certificate, host name check) is
	// built in one place, config's.
	sc, err := k.Sarama()
	if err != nil {
		return nil, err
	}
	if sc.Net.TLS.Enable {
		opts = append(opts, kgo.DialTLSConfig(sc.Net.TLS.Config))
	}
	if sc.Net.SASL.Enable {
		user, pass := k.SASLUsername, string(k.SASLPassword)
		switch k.SASLMechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("SASL mechanism %q is not supported", k.SASLMechanism)
		}
	}
	return opts, nil
}

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
