package config

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Franz returns franz-go options for the cluster in k: the same brokers,
// client id, TLS and SASL as the process's sarama clients (the TLS
// configuration — CA, client certificate, host name check — is built once,
// by Sarama). The admin commands (replay, dead-letters) use it.
func (k Kafka) Franz() ([]kgo.Opt, error) {
	sc, err := k.Sarama()
	if err != nil {
		return nil, err
	}
	if sc.Net.SASL.Enable && !contains(SASLMechanisms, k.SASLMechanism) {
		return nil, fmt.Errorf("SASL mechanism %q: use one of %s", k.SASLMechanism, strings.Join(SASLMechanisms, ", "))
	}
	return FranzFor(k.BootstrapServers, sc)
}

// FranzFor returns franz-go options for brokers with the client id, TLS and
// SASL of the sarama configuration sc (one built by Kafka.Sarama): the
// processors' producers (internal/stream) are franz-go clients built from
// the sarama configuration their Env shares with goka's consumers.
func FranzFor(brokers []string, sc *sarama.Config) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(sc.ClientID)}
	if sc.Net.TLS.Enable {
		opts = append(opts, kgo.DialTLSConfig(sc.Net.TLS.Config))
	}
	if sc.Net.SASL.Enable {
		user, pass := sc.Net.SASL.User, sc.Net.SASL.Password
		switch sc.Net.SASL.Mechanism {
		case sarama.SASLTypePlaintext:
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case sarama.SASLTypeSCRAMSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case sarama.SASLTypeSCRAMSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("SASL mechanism %q: use one of %s", sc.Net.SASL.Mechanism, strings.Join(SASLMechanisms, ", "))
		}
	}
	return opts, nil
}
