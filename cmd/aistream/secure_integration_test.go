package main

// The secured listeners of scripts/kafka-broker.sh --secure: aistream end to
// end over SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256) and over SSL with a client
// certificate, and the one-line errors of a wrong password, a mechanism the
// broker does not offer and an untrusted broker certificate. The tests are
// named TestSecure* (not *Integration*): they need the real secured broker,
// so the embedded-broker pass of scripts/test.sh does not run them again.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// secured is what scripts/kafka-broker.sh writes to its client.env.
type secured struct {
	saslSSL, mtls, ca, cert, key, user, password string
}

// securedBroker reads the secured broker's settings; without them the test
// skips, unless AISTREAM_REQUIRE_SECURE=1 (CI), where it fails.
func securedBroker(t *testing.T) secured {
	t.Helper()
	s := secured{
		saslSSL:  os.Getenv("AISTREAM_TEST_KAFKA_SASL_SSL"),
		mtls:     os.Getenv("AISTREAM_TEST_KAFKA_MTLS"),
		ca:       os.Getenv("AISTREAM_TEST_KAFKA_CA"),
		cert:     os.Getenv("AISTREAM_TEST_KAFKA_CLIENT_CERT"),
		key:      os.Getenv("AISTREAM_TEST_KAFKA_CLIENT_KEY"),
		user:     os.Getenv("AISTREAM_TEST_KAFKA_SCRAM_USER"),
		password: os.Getenv("AISTREAM_TEST_KAFKA_SCRAM_PASSWORD"),
	}
	if s.saslSSL == "" || s.mtls == "" || s.ca == "" || s.cert == "" || s.key == "" || s.user == "" || s.password == "" {
		msg := "secured Kafka broker not configured (AISTREAM_TEST_KAFKA_SASL_SSL, _MTLS, _CA, _CLIENT_CERT, _CLIENT_KEY, _SCRAM_USER, _SCRAM_PASSWORD): " +
			"start one with KAFKA_SECURE=1 scripts/kafka-broker.sh start and load its client.env (README \"Secured Kafka\")"
		if os.Getenv("AISTREAM_REQUIRE_SECURE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s
}

// scram is the environment of a SASL_SSL client with mechanism mech.
func (s secured) scram(mech, password string) []string {
	return []string{
		"KAFKA_BOOTSTRAP_SERVERS=" + s.saslSSL, "KAFKA_SECURITY_PROTOCOL=SASL_SSL", "KAFKA_SASL_MECHANISM=" + mech,
		"KAFKA_SASL_USERNAME=" + s.user, "KAFKA_SASL_PASSWORD=" + password, "KAFKA_SSL_CAFILE=" + s.ca,
	}
}

// mutualTLS is the environment of an SSL client with the client certificate.
func (s secured) mutualTLS() []string {
	return []string{
		"KAFKA_BOOTSTRAP_SERVERS=" + s.mtls, "KAFKA_SECURITY_PROTOCOL=SSL", "KAFKA_SSL_CAFILE=" + s.ca,
		"KAFKA_SSL_CERTFILE=" + s.cert, "KAFKA_SSL_KEYFILE=" + s.key,
	}
}

// secureClient is a franz-go client configured from env the way aistream
// configures itself (config.Kafka.Franz), for the test's own records.
func secureClient(t *testing.T, env []string) *kgo.Client {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	kf := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) string { return vars[k] }, config.Defaults{HTTPAddr: "-", StateDir: "-"})
	kc, _, err := kf.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := kc.Franz()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// runCmd runs the binary to completion and returns its exit code and output.
func runCmd(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("aistream %v still running after 90 s; stderr:\n%s", args, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// endToEnd applies the topics, runs the context-graph processor with the
// views over the secured listener in env, produces one event through it
// and reads the trace back over HTTP; then more, if given, with the
// running process.
func endToEnd(t *testing.T, env []string, secret string, more func(p *devProcess, group string)) {
	bin := buildBinary(t)
	group := fmt.Sprintf("secure%d", time.Now().UnixNano()%1e9)
	env = append(env, "KAFKA_CONSUMER_GROUP="+group)
	if code, out, errOut := runCmd(t, bin, env, "topics", "apply"); code != 0 {
		t.Fatalf("topics apply: exit %d\n%s%s", code, out, errOut)
	}
	cl := secureClient(t, env)
	// The contract topics are shared with the other tests: start after
	// their history.
	kafkatest.StartAtEndWith(t, cl, group, contextgraph.Module())
	p := startAistream(t, bin, freePort(t), env, "run", "--processors=context-graph", "--state-dir", t.TempDir())
	p.waitReady(t, 120*time.Second)

	tenant, trace := "acme-"+group, group+"-trace"
	v := fmt.Sprintf(`{"event_id":"%s-e","event_type":"agent.thinking","tenant_id":"%s","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"%s","agent":"planner","step":0,"content":"over a secured listener"}}`, trace, tenant, trace)
	kafkatest.Produce(t, cl, &kgo.Record{Topic: topology.ThinkingEvents, Key: []byte(trace), Value: []byte(v)})
	kafkatest.Eventually(t, 60*time.Second, "the trace served over HTTP", func() bool {
		code, body := p.get(t, "/v1/traces/"+trace, tenant)
		return code == http.StatusOK && bytes.Contains(body, []byte("over a secured listener"))
	})
	if code, _ := p.get(t, "/v1/traces/"+trace, "another-tenant"); code != http.StatusNotFound {
		t.Errorf("another tenant reading the trace: status %d, want 404", code)
	}
	if more != nil {
		more(p, group)
	}
	p.stop(t)
	if secret != "" && strings.Contains(p.out.String(), secret) {
		t.Error("the SASL password appears in aistream's output")
	}
}

func TestSecureSASLSSLScramSHA512EndToEnd(t *testing.T) {
	s := securedBroker(t)
	// The AI Service's own client (aiokafka) publishes over the same
	// listener with the same mechanism, as in production.
	py := kafkatest.Python(t)
	endToEnd(t, s.scram("SCRAM-SHA-512", s.password), s.password, func(p *devProcess, group string) {
		t.Setenv("KAFKA_SASL_USERNAME", s.user)
		t.Setenv("KAFKA_SASL_PASSWORD", s.password)
		tenant, trace := "acme-"+group, group+"-pytrace"
		kafkatest.RunPython(t, py, "produce_feedback.py", time.Minute, "--bootstrap", s.saslSSL,
			"--security-protocol", "SASL_SSL", "--sasl-mechanism", "SCRAM-SHA-512", "--cafile", s.ca,
			"--tenant", tenant, "--trace", trace, "--response", group+"-pyresp", "--feedback-id", group+"-pyfb",
			"--at", time.Now().UTC().Format(time.RFC3339), "--events", "trace")
		kafkatest.Eventually(t, 60*time.Second, "the trace aiokafka published served over HTTP", func() bool {
			code, body := p.get(t, "/v1/traces/"+trace, tenant)
			return code == http.StatusOK && bytes.Contains(body, []byte("Join sales.orders with sales.refunds"))
		})
	})
}

func TestSecureMutualTLSEndToEnd(t *testing.T) {
	s := securedBroker(t)
	endToEnd(t, s.mutualTLS(), "", nil)
}

// SCRAM-SHA-256 connects through both clients: sarama (topics check) and
// franz-go (dead-letters list).
func TestSecureSASLSSLScramSHA256Connects(t *testing.T) {
	s := securedBroker(t)
	bin := buildBinary(t)
	env := s.scram("SCRAM-SHA-256", s.password)
	if code, out, errOut := runCmd(t, bin, env, "topics", "apply"); code != 0 {
		t.Fatalf("topics apply over SCRAM-SHA-256: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, bin, env, "dead-letters", "list", "--limit", "1", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); code != 0 {
		t.Fatalf("dead-letters list over SCRAM-SHA-256: exit %d\n%s%s", code, out, errOut)
	}
}

// The key material and the password stay private to the broker's user and
// out of the repository.
func TestSecureKeyMaterialIsPrivate(t *testing.T) {
	s := securedBroker(t)
	dir := filepath.Dir(s.ca)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(repo, dir); err == nil && !strings.HasPrefix(rel, "..") {
		t.Errorf("key material in %s, inside the repository %s", dir, repo)
	}
	if fi, err := os.Stat(dir); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %v, want 0700", dir, fi.Mode().Perm())
	}
	for _, f := range []string{s.key, filepath.Join(dir, "client.env"), filepath.Join(dir, "ca.key"), filepath.Join(dir, "broker.key")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

// Each misconfiguration stops the command with exit code 2 and one line
// that says what failed, through sarama (run) and franz-go (dead-letters,
// replay), and never prints the password.
func TestSecureMisconfigurationsFailWithOneLine(t *testing.T) {
	s := securedBroker(t)
	bin := buildBinary(t)
	wrong := "wrong-" + s.password[:8] + "-pw"
	otherCA, otherCert, otherKey := writeOtherCA(t)
	tooLate := time.Now().Add(time.Hour).Format(time.RFC3339)
	run := []string{"run", "--views=false", "--state-dir", t.TempDir(), "--http-addr", "127.0.0.1:0"}
	dlList := []string{"dead-letters", "list", "--since", tooLate}
	replayStatus := []string{"replay", "--status", "--group", "context-graph"}

	withCA := func(env []string, ca string) []string {
		return append(append([]string(nil), env...), "KAFKA_SSL_CAFILE="+ca)
	}
	foreignCert := []string{"KAFKA_BOOTSTRAP_SERVERS=" + s.mtls, "KAFKA_SECURITY_PROTOCOL=SSL", "KAFKA_SSL_CAFILE=" + s.ca,
		"KAFKA_SSL_CERTFILE=" + otherCert, "KAFKA_SSL_KEYFILE=" + otherKey}
	noCert := []string{"KAFKA_BOOTSTRAP_SERVERS=" + s.mtls, "KAFKA_SECURITY_PROTOCOL=SSL", "KAFKA_SSL_CAFILE=" + s.ca}
	authFailed := fmt.Sprintf("authentication failed for user %q with SASL mechanism SCRAM-SHA-512", s.user)
	plainOffered := "does not offer SASL mechanism PLAIN"
	untrusted := "not signed by the CA in KAFKA_SSL_CAFILE=" + otherCA
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"wrong password, sarama", s.scram("SCRAM-SHA-512", wrong), run, authFailed},
		{"wrong password, franz-go", s.scram("SCRAM-SHA-512", wrong), dlList, authFailed},
		{"PLAIN against a SCRAM-only listener, sarama", s.scram("PLAIN", s.password), run, plainOffered},
		{"PLAIN against a SCRAM-only listener, franz-go", s.scram("PLAIN", s.password), replayStatus, plainOffered},
		{"untrusted broker certificate, sarama", withCA(s.scram("SCRAM-SHA-512", s.password), otherCA), run, untrusted},
		{"untrusted broker certificate, franz-go", withCA(s.mutualTLS(), otherCA), dlList, untrusted},
		{"no client certificate, sarama", noCert, run, "requires a client certificate"},
		{"no client certificate, franz-go", noCert, dlList, "requires a client certificate"},
		{"client certificate of another CA, sarama", foreignCert, run, "rejected the client certificate KAFKA_SSL_CERTFILE=" + otherCert},
		{"client certificate of another CA, franz-go", foreignCert, replayStatus, "rejected the client certificate KAFKA_SSL_CERTFILE=" + otherCert},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append(c.env, fmt.Sprintf("KAFKA_CONSUMER_GROUP=securebad%d-%d", time.Now().UnixNano()%1e9, i))
			code, _, stderr := runCmd(t, bin, env, c.args...)
			out := strings.TrimSpace(stderr)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, out)
			}
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, c.want) {
				t.Errorf("want one line containing %q, got:\n%s", c.want, out)
			}
			if strings.Contains(out, s.password) || strings.Contains(out, wrong) {
				t.Errorf("the password appears in stderr:\n%s", out)
			}
		})
	}
}

// writeOtherCA writes a CA certificate that did not sign the broker's, and
// a client certificate and key signed by it.
func writeOtherCA(t *testing.T) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "some other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caTmpl, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	return write("other-ca.pem", "CERTIFICATE", caDER), write("intruder.pem", "CERTIFICATE", clientDER), write("intruder.key", "PRIVATE KEY", keyDER)
}
