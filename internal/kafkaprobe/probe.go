// Package kafkaprobe connects to the first bootstrap broker with the
// process's own client configuration before anything else talks to the
// cluster, and turns TLS and SASL failures into one line that says what
// failed and what to fix: without it sarama reports a wrong password, an
// unknown mechanism and an untrusted certificate alike as "client has run
// out of available brokers". Other failures (a broker not up yet) are left
// to the callers' own retries.
package kafkaprobe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
)

// Timeout bounds one probe.
const Timeout = 15 * time.Second

// Sarama opens one connection to the first bootstrap broker with sc (the
// sarama configuration of k) and sends one request. It returns an
// explained error for an authentication or TLS failure, else nil.
func Sarama(k config.Kafka, sc *sarama.Config) error {
	if len(k.BootstrapServers) == 0 {
		return nil
	}
	c := *sc
	c.Net.DialTimeout = min(c.Net.DialTimeout, Timeout)
	c.Net.ReadTimeout = min(c.Net.ReadTimeout, Timeout)
	c.Net.WriteTimeout = min(c.Net.WriteTimeout, Timeout)
	addr := k.BootstrapServers[0]
	b := sarama.NewBroker(addr)
	if err := b.Open(&c); err != nil {
		return Explain(k, addr, err)
	}
	defer func() { _ = b.Close() }()
	if _, err := b.Connected(); err != nil {
		return Explain(k, addr, err)
	}
	// With TLS 1.3 the broker's verdict on the client certificate comes
	// with the first response.
	if _, err := b.ApiVersions(&sarama.ApiVersionsRequest{}); err != nil {
		return Explain(k, addr, err)
	}
	return nil
}

// Franz does the same with franz-go options (config.Kafka.Franz), the
// client of the admin commands.
func Franz(ctx context.Context, k config.Kafka, opts []kgo.Opt) error {
	if len(k.BootstrapServers) == 0 {
		return nil
	}
	addr := k.BootstrapServers[0]
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...), kgo.SeedBrokers(addr), kgo.DialTimeout(Timeout))...)
	if err != nil {
		return nil // an option error is the caller's to report
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return Explain(k, addr, cl.Ping(ctx))
}

// Explain maps err of a connection to addr with k to an error that names
// the setting to fix, or returns nil when err is not a TLS or SASL failure
// (or nil). The message never contains the password.
func Explain(k config.Kafka, addr string, err error) error {
	if err == nil {
		return nil
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	msg := err.Error()
	switch {
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed), errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("Kafka authentication failed for user %q with SASL mechanism %s at %s: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (KAFKA_SASL_MECHANISM must be one the user has credentials for)",
			k.SASLUsername, k.SASLMechanism, addr)
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism), errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("the Kafka broker at %s does not offer SASL mechanism %s on this listener: set KAFKA_SASL_MECHANISM to one it enables (e.g. SCRAM-SHA-512 or SCRAM-SHA-256)",
			addr, k.SASLMechanism)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the TLS certificate of Kafka broker %s is not signed by %s: set KAFKA_SSL_CAFILE to the PEM file of the CA that signed the brokers' certificates",
			addr, caName(k))
	case errors.As(err, &hostErr):
		return fmt.Errorf("the TLS certificate of Kafka broker %s is not valid for that host name (%v): connect by a name in the certificate or set KAFKA_SSL_CHECK_HOSTNAME=false (the CA in %s is still checked)",
			addr, hostErr.Error(), caName(k))
	case errors.As(err, &invalid):
		return fmt.Errorf("the TLS certificate of Kafka broker %s is not valid (%s; CA %s): renew it or fix the clock", addr, invalid.Error(), caName(k))
	case strings.Contains(msg, "certificate required"), strings.Contains(msg, "bad certificate"), strings.Contains(msg, "unknown certificate authority"):
		if k.SSLCertFile == "" {
			return fmt.Errorf("the Kafka broker at %s requires a client certificate: set KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE", addr)
		}
		return fmt.Errorf("the Kafka broker at %s rejected the client certificate KAFKA_SSL_CERTFILE=%s: it must be signed by a CA the broker trusts", addr, k.SSLCertFile)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("the Kafka listener at %s does not speak TLS: KAFKA_SECURITY_PROTOCOL=%s needs a TLS listener (PLAINTEXT or SASL_PLAINTEXT for this one)", addr, k.SecurityProtocol)
	}
	return nil
}

// caName says which CA verified the broker certificate.
func caName(k config.Kafka) string {
	if k.SSLCAFile == "" {
		return "a CA of the system's trust store (KAFKA_SSL_CAFILE is unset)"
	}
	return "the CA in KAFKA_SSL_CAFILE=" + k.SSLCAFile
}
