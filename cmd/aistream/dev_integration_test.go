package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// devProcess is "aistream dev" running as a real process.
type devProcess struct {
	cmd    *exec.Cmd
	out    *kafkatest.SyncBuffer
	api    string
	broker string
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aistream")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startDev(t *testing.T, bin, dataDir, broker, api string, extra ...string) *devProcess {
	t.Helper()
	args := append([]string{"dev", "--data-dir", dataDir, "--broker-addr", broker}, extra...)
	p := startAistream(t, bin, api, []string{"KAFKA_CONSUMER_GROUP=devtest"}, args...)
	p.broker = broker
	return p
}

// startAistream runs the binary with args, its HTTP server on api, until the
// test ends; its output is logged when the test fails.
func startAistream(t *testing.T, bin, api string, env []string, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--http-addr", api)...)
	cmd.Env = append(append(os.Environ(), "AISTREAM_LOG_LEVEL=info"), env...)
	if !slices.Contains(args, "--token-file") {
		// The tests of other concerns read with X-Tenant-ID; auth_integration_test.go
		// tests authentication and passes --token-file.
		cmd.Env = append(cmd.Env, "AISTREAM_INSECURE_NO_AUTH=true")
	}
	out := &kafkatest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, out: out, api: "http://" + api}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("aistream %v output:\n%s", args, out.String())
		}
	})
	return p
}

func (p *devProcess) get(t *testing.T, path, tenant string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.api+path, nil)
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (p *devProcess) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if code, _ := p.get(t, "/readyz", ""); code == http.StatusOK {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not ready within %s", timeout)
}

// stop sends SIGTERM and requires a clean exit (status 0).
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("aistream dev did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("aistream dev did not stop within 60s of SIGTERM")
	}
}

// One command starts everything: with --demo the trace view serves
// non-empty traces within 30 s; state survives a restart; SIGTERM exits 0.
func TestIntegrationDevDemoServesTraces(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	broker, api := freePort(t), freePort(t)
	start := time.Now()
	p := startDev(t, bin, dataDir, broker, api, "--demo", "--demo-rate", "20")

	// Learn trace ids the way a user would: from the broker.
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topology.TraceEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var tenant, traceID string
	var graph map[string]any
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for graph == nil {
		fs := cl.PollRecords(ctx, 50)
		if ctx.Err() != nil {
			t.Fatalf("no trace served within 30 s of start")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if graph != nil {
				return
			}
			ev, err := codecs.Decoder{}.Decode(r.Value)
			if err != nil {
				return
			}
			id := ev.Payload.(*codecs.Span).TraceID
			if code, body := p.get(t, "/v1/traces/"+id, ev.TenantID); code == http.StatusOK {
				var g map[string]any
				if json.Unmarshal(body, &g) == nil && len(g) > 0 {
					tenant, traceID, graph = ev.TenantID, id, g
				}
			}
		})
	}
	t.Logf("first trace served %.1fs after start", time.Since(start).Seconds())
	if code, _ := p.get(t, "/v1/traces/"+traceID, "some-other-tenant"); code != http.StatusNotFound {
		t.Errorf("another tenant reading %s: status %d, want 404", traceID, code)
	}
	if code, body := p.get(t, "/metrics", ""); code != http.StatusOK || !bytes.Contains(body, []byte("ai_kafka_messages_consumed_total")) || !bytes.Contains(body, []byte("ai_kafka_produce_latency_seconds_bucket")) {
		t.Errorf("metrics: %d, consumed and produce latency must be fed", code)
	}
	p.stop(t)

	// Restart on the same data directory: the broker's log and the state survive.
	p2 := startDev(t, bin, dataDir, broker, api)
	p2.waitReady(t, 90*time.Second)
	if code, body := p2.get(t, "/v1/traces/"+traceID, tenant); code != http.StatusOK {
		t.Fatalf("after restart, trace %s: %d %s", traceID, code, body)
	}
	p2.stop(t)
}

// kcat (librdkafka: CRC32 partitioner, not murmur2) producing into the dev
// broker: a valid agent event becomes visible in the view, a malformed one
// lands in the dead-letter topic with its reason.
func TestIntegrationDevKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("AISTREAM_REQUIRE_KCAT") == "1" {
			t.Fatal("kcat not found (apt-get install kcat)")
		}
		t.Skip("kcat not installed")
	}
	bin := buildBinary(t)
	broker, api := freePort(t), freePort(t)
	p := startDev(t, bin, t.TempDir(), broker, api)
	p.waitReady(t, 90*time.Second)

	traceID := fmt.Sprintf("trace-kcat-%d", time.Now().UnixNano())
	valid := fmt.Sprintf(`{"event_id":"evt-%s","event_type":"agent.thinking","tenant_id":"acme-corp","timestamp":"2025-03-15T10:00:00Z","source":"ai-service","data":{"trace_id":"%s","agent":"planner","step":0,"content":"look up the orders table"}}`, traceID, traceID)
	malformed := `{"event_id":"evt-bad","event_type":"agent.thinking","tenant_id":"acme-corp","timestamp":"not-a-time","source":"ai-service","data":{}}`
	for _, msg := range []string{traceID + "\t" + valid, traceID + "-bad\t" + malformed} {
		cmd := exec.Command(kcat, "-b", broker, "-t", topology.ThinkingEvents, "-P", "-K", "\t")
		cmd.Stdin = strings.NewReader(msg + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := p.get(t, "/v1/traces/"+traceID, "acme-corp")
		if code == http.StatusOK && bytes.Contains(body, []byte("look up the orders table")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kcat's event not visible in the view: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topology.DeadLetters), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("malformed event not in the dead-letter topic within 30s")
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != malformed {
				return
			}
			found = true
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			if h[stream.HeaderReason] != string(codecs.ReasonBadTimestamp) || h[stream.HeaderTopic] != topology.ThinkingEvents || string(r.Key) != traceID+"-bad" {
				t.Errorf("dead letter headers %v key %q", h, r.Key)
			}
		})
		if found {
			break
		}
	}
	p.stop(t)
}
