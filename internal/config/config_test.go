package config

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func resolve(t *testing.T, env map[string]string, args ...string) (Kafka, Runtime, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Bind(fs, func(k string) string { return env[k] }, Defaults{Bootstrap: "localhost:9092", HTTPAddr: "127.0.0.1:8080", StateDir: t.TempDir()})
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve()
}

func TestDefaultsMatchTheAIService(t *testing.T) {
	k, r, err := resolve(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(k.BootstrapServers, ",") != "localhost:9092" || k.SecurityProtocol != "PLAINTEXT" || k.ConsumerGroup != "aistream" || k.InitialOffset != "earliest" {
		t.Errorf("defaults: %+v", k)
	}
	if r.MaxMessageBytes != 1_000_000 {
		t.Errorf("max message bytes default %d", r.MaxMessageBytes)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	k, _, err := resolve(t, map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "a:1", "KAFKA_CONSUMER_GROUP": "env"}, "--consumer-group", "flag")
	if err != nil {
		t.Fatal(err)
	}
	if k.BootstrapServers[0] != "a:1" || k.ConsumerGroup != "flag" {
		t.Errorf("got %v %q", k.BootstrapServers, k.ConsumerGroup)
	}
}

// A bad value stops start-up with one line naming the variable, the value
// and what is accepted — and never the password.
func TestInvalidValuesNameTheSetting(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"KAFKA_SECURITY_PROTOCOL": "TLS"}, []string{"KAFKA_SECURITY_PROTOCOL", `"TLS"`, "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"}},
		{map[string]string{"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "hunter2"}, []string{"KAFKA_SASL_MECHANISM", `"GSSAPI"`, "SCRAM-SHA-512"}},
		{map[string]string{"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_PASSWORD": "hunter2"}, []string{"KAFKA_SASL_USERNAME", "required"}},
		{map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka"}, []string{"KAFKA_BOOTSTRAP_SERVERS", "host:port"}},
		{map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka:99999"}, []string{"KAFKA_BOOTSTRAP_SERVERS", "1 to 65535"}},
		{map[string]string{"AISTREAM_MAX_MESSAGE_BYTES": "lots"}, []string{"AISTREAM_MAX_MESSAGE_BYTES", `"lots"`}},
		{map[string]string{"AISTREAM_INITIAL_OFFSET": "newest"}, []string{"AISTREAM_INITIAL_OFFSET", "earliest or latest"}},
		{map[string]string{"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, []string{"KAFKA_SSL_CAFILE", "cannot be read"}},
		{map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN"}, []string{"KAFKA_SASL_MECHANISM", "SASL_PLAINTEXT or SASL_SSL"}},
	}
	for _, c := range cases {
		_, _, err := resolve(t, c.env)
		if err == nil {
			t.Errorf("%v: accepted", c.env)
			continue
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q lacks %q", c.env, msg, w)
			}
		}
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "\n") {
			t.Errorf("error must be one line without the password: %q", msg)
		}
	}
}

func TestSaramaConfigForSCRAM(t *testing.T) {
	k, _, err := resolve(t, map[string]string{"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Net.SASL.Enable || c.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || c.Net.SASL.SCRAMClientGeneratorFunc == nil || c.Net.TLS.Enable {
		t.Errorf("SASL config: %+v", c.Net.SASL)
	}
	client := c.Net.SASL.SCRAMClientGeneratorFunc()
	if err := client.Begin("svc", "s3cret", ""); err != nil {
		t.Fatal(err)
	}
	first, err := client.Step("")
	if err != nil || !strings.HasPrefix(first, "n,,n=svc,r=") {
		t.Errorf("SCRAM client-first message %q, %v", first, err)
	}
	if got := k.SASLPassword.String(); got != "[redacted]" {
		t.Errorf("password prints as %q", got)
	}
	if c.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Error("new groups must start at the earliest offset")
	}
}
