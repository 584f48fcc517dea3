package config

import (
	"cmp"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
	"github.com/xdg-go/scram"

	"github.com/aistream/aistream/topology"
)

// Sarama's own client metrics (go-metrics meters and histograms updated on
// every request and response: 3% of the whole pipeline's CPU at 10k events/s
// in the bench's latency phase) are read by nothing in aistream, whose
// metrics are Prometheus (internal/stream/metrics.go): they are off, before
// any client starts, as sarama's documentation says to switch them off.
func init() { metrics.UseNilMetrics = true }

// Sarama builds the client configuration shared by every producer, consumer,
// view and admin in the process. Each caller gets its own copy (goka's
// *WithConfig builders write into the config they are given).
func (k Kafka) Sarama() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = k.ClientID
	// Kafka 4 dropped the protocol versions older clients default to.
	c.Version = sarama.V3_6_0_0
	c.Metadata.AllowAutoTopicCreation = false

	c.Consumer.Return.Errors = true
	c.Consumer.MaxProcessingTime = time.Second
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	if k.InitialOffset == "latest" {
		c.Consumer.Offsets.Initial = sarama.OffsetNewest
	}

	// Failover (README "Failover"): a dead replica is noticed after the
	// session timeout, a rebalance by the others at their next heartbeat.
	c.Consumer.Group.Session.Timeout = cmp.Or(k.SessionTimeout, DefaultSessionTimeout)
	c.Consumer.Group.Heartbeat.Interval = cmp.Or(k.HeartbeatInterval, DefaultHeartbeatInterval)
	// How long a rebalance waits for a member that does not rejoin (one
	// stuck in revoking its partitions); every partition stands still
	// meanwhile. Below the 30 s read timeout, so the client never cuts off
	// the JoinGroup the broker holds that long.
	c.Consumer.Group.Rebalance.Timeout = 20 * time.Second
	// A JoinGroup or SyncGroup answered "rebalance in progress" (another
	// member joined meanwhile) is retried after this backoff: sarama's 2 s
	// would add 2 s to a planned restart's pause. The retries keep its 8 s
	// of patience for a coordinator that moves.
	c.Consumer.Group.Rebalance.Retry.Backoff = 200 * time.Millisecond
	c.Consumer.Group.Rebalance.Retry.Max = 40

	// Every producer partitions like the AI Service (murmur2), so the views
	// find keys it produced.
	c.Producer.Partitioner = sarama.NewCustomHashPartitioner(topology.NewHash)
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 10
	c.Producer.Flush.Frequency = 20 * time.Millisecond
	c.Producer.Flush.Bytes = 64 << 10
	// No compression: the AI Service's aiokafka consumer reads uncompressed
	// and gzip batches without extra Python packages, but not snappy.
	c.Producer.Compression = sarama.CompressionNone
	c.Producer.MaxMessageBytes = ProducerMaxBytes

	switch k.SecurityProtocol {
	case "SSL", "SASL_SSL":
		tc, err := k.tlsConfig()
		if err != nil {
			return nil, err
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if k.SecurityProtocol == "SASL_PLAINTEXT" || k.SecurityProtocol == "SASL_SSL" {
		c.Net.SASL.Enable = true
		c.Net.SASL.Handshake = true
		c.Net.SASL.User = k.SASLUsername
		c.Net.SASL.Password = string(k.SASLPassword)
		switch k.SASLMechanism {
		case "PLAIN":
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha256.New)} }
		case "SCRAM-SHA-512":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)} }
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client configuration: %w", err)
	}
	return c, nil
}

func (k Kafka) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if k.SSLCAFile != "" {
		pem, err := os.ReadFile(k.SSLCAFile)
		if err != nil {
			return nil, &Error{Setting: sCAFile.name(), Value: k.SSLCAFile, Want: "a readable PEM file"}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &Error{Setting: sCAFile.name(), Value: k.SSLCAFile, Want: "a PEM file with at least one CA certificate"}
		}
		tc.RootCAs = pool
	}
	if k.SSLCertFile != "" {
		cert, err := tls.LoadX509KeyPair(k.SSLCertFile, k.SSLKeyFile)
		if err != nil {
			return nil, &Error{Setting: sCertFile.name() + " and " + sKeyFile.name(), Value: k.SSLCertFile, Want: "a matching PEM certificate and key"}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if !k.SSLCheckHostname {
		// Skip only the host name: the chain is still verified against the
		// CA (Go's InsecureSkipVerify alone would accept any certificate).
		tc.InsecureSkipVerify = true //nolint:gosec // replaced by VerifyConnection below
		roots := tc.RootCAs
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the broker sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("broker certificate: %w", err)
			}
			return nil
		}
	}
	return tc, nil
}

// scramClient adapts xdg-go/scram to sarama's SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	client, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("scram client: %w", err)
	}
	s.conv = client.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramClient) Done() bool                            { return s.conv.Done() }
