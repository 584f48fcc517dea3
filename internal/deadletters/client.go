package deadletters

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/aistream/aistream/internal/config"
)

// ClientOptions are the franz-go options for the cluster in k: its brokers
// and client id, TLS and SASL as KAFKA_* configure them, and a producer that
// writes like aistream's own (murmur2 on the key as the AI Service and the
// Java client partition, no compression since the AI Service's aiokafka
// reads no snappy, the same record limit).
func ClientOptions(k config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.BootstrapServers...),
		kgo.ClientID(k.ClientID),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(config.ProducerMaxBytes),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
	if k.SecurityProtocol == "SSL" || k.SecurityProtocol == "SASL_SSL" {
		// The sarama configuration is the one place that turns KAFKA_SSL_*
		// into a TLS configuration (CA, client certificate, host name check).
		sc, err := k.Sarama()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(sc.Net.TLS.Config))
	}
	if k.SecurityProtocol == "SASL_PLAINTEXT" || k.SecurityProtocol == "SASL_SSL" {
		user, pass := k.SASLUsername, string(k.SASLPassword)
		switch k.SASLMechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("SASL mechanism %q: use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", k.SASLMechanism)
		}
	}
	return opts, nil
}
