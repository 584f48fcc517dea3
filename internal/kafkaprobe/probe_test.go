package kafkaprobe

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/aistream/aistream/internal/config"
)

// Explain's mapping of the errors sarama and franz-go return, as they wrap
// them; the integration tests (cmd/aistream TestSecure*) check the same
// against the real secured broker.
func TestExplain(t *testing.T) {
	const password = "s3cret-pw"
	k := config.Kafka{
		SecurityProtocol: "SASL_SSL", SASLMechanism: "SCRAM-SHA-512", SASLUsername: "svc",
		SASLPassword: password, SSLCAFile: "/etc/kafka/ca.pem",
	}
	noCA := k
	noCA.SSLCAFile = ""
	withCert := k
	withCert.SSLCertFile, withCert.SSLKeyFile = "/etc/kafka/client.pem", "/etc/kafka/client.key"
	cases := []struct {
		name string
		k    config.Kafka
		err  error
		want string // "" means: not explained (nil)
	}{
		{"sarama wrong password", k, fmt.Errorf("sasl: %w", sarama.ErrSASLAuthenticationFailed), `authentication failed for user "svc" with SASL mechanism SCRAM-SHA-512 at b:9093`},
		{"franz wrong password", k, fmt.Errorf("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512: %w", kerr.SaslAuthenticationFailed), `authentication failed for user "svc"`},
		{"sarama mechanism", k, sarama.ErrUnsupportedSASLMechanism, "does not offer SASL mechanism SCRAM-SHA-512"},
		{"franz mechanism", k, fmt.Errorf("x: %w", kerr.UnsupportedSaslMechanism), "does not offer SASL mechanism SCRAM-SHA-512"},
		{"unknown CA, file", k, fmt.Errorf("broker certificate: %w", x509.UnknownAuthorityError{}), "not signed by the CA in KAFKA_SSL_CAFILE=/etc/kafka/ca.pem"},
		{"unknown CA, system pool", noCA, x509.UnknownAuthorityError{}, "KAFKA_SSL_CAFILE is unset"},
		{"client certificate required", k, errors.New("remote error: tls: certificate required"), "requires a client certificate: set KAFKA_SSL_CERTFILE"},
		{"client certificate of another CA", withCert, errors.New("remote error: tls: unknown certificate authority"), "rejected the client certificate KAFKA_SSL_CERTFILE=/etc/kafka/client.pem"},
		{"not TLS", k, errors.New("tls: first record does not look like a TLS handshake"), "does not speak TLS"},
		{"broker down", k, errors.New("dial tcp b:9093: connect: connection refused"), ""},
		{"EOF", k, io.EOF, ""},
		{"nil", k, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Explain(c.k, "b:9093", c.err)
			if c.want == "" {
				if got != nil {
					t.Fatalf("explained %v as %q, want nil (left to the caller)", c.err, got)
				}
				return
			}
			if got == nil || !strings.Contains(got.Error(), c.want) {
				t.Fatalf("Explain(%v) = %v, want it to contain %q", c.err, got, c.want)
			}
			if strings.Contains(got.Error(), password) || strings.Contains(got.Error(), "\n") {
				t.Fatalf("not one line without the password: %q", got)
			}
		})
	}
}
