package config

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Franz returns franz-go options for the cluster in k: the same brokers,
// client id, TLS and SASL as the process's sarama clients (the TLS
// configuration — CA, client certificate, host name check — is built once,
// by Sarama). The admin commands (replay, dead-letters) use it.
func (k Kafka) Franz() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(k.BootstrapServers...), kgo.ClientID(k.ClientID)}
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
			return nil, fmt.Errorf("SASL mechanism %q: use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", k.SASLMechanism)
		}
	}
	return opts, nil
}
