package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/kafkatest"
)

var readyCurl = regexp.MustCompile(`curl -s -H '([^:']+): ([^']+)' (http://\S+)`)

// A newcomer's first run: the built binary's "dev --demo" with stderr not a
// terminal names the demo tenants, prints a request that, executed, returns
// the trace, logs the progress line, writes no colour codes, and SIGINT
// (Ctrl-C) exits 0.
func TestIntegrationDevFirstRun(t *testing.T) {
	bin := buildBinary(t)
	broker, api := freePort(t), freePort(t)
	cmd := exec.Command(bin, "dev", "--demo", "--data-dir", t.TempDir(), "--broker-addr", broker, "--http-addr", api)
	cmd.Env = append(os.Environ(), "KAFKA_CONSUMER_GROUP=firstrun", "AISTREAM_LOG_LEVEL=info", "AISTREAM_LOG_FORMAT=")
	out := &kafkatest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out // a pipe: not a terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("aistream dev output:\n%s", out.String())
		}
	})
	waitFor := func(what string, timeout time.Duration, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			if s := out.String(); ok(s) {
				return s
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no %s within %s", what, timeout)
		return ""
	}

	s := waitFor("ready request", 60*time.Second, func(s string) bool {
		return strings.Contains(s, "ready:") && readyCurl.MatchString(s[strings.Index(s, "ready:"):])
	})
	for _, tenant := range demo.Tenants() {
		if !strings.Contains(s, tenant) {
			t.Errorf("the banner does not name the demo tenant %s", tenant)
		}
	}
	m := readyCurl.FindStringSubmatch(s[strings.Index(s, "ready:"):])
	req, _ := http.NewRequest(http.MethodGet, m[3], nil)
	req.Header.Set(m[1], m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the ready request %q: %v", m[0], err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var graph map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &graph) != nil || len(graph) == 0 {
		t.Fatalf("the ready request %q: %d %s, want 200 with a trace", m[0], resp.StatusCode, body)
	}

	waitFor("progress line", 30*time.Second, func(s string) bool {
		return regexp.MustCompile(`progress: events in \d+, outputs \d+, dead letters \d+, lag \d+`).MatchString(s)
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SIGINT: %v, want exit status 0", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no exit within 60 s of SIGINT")
	}
	if s := out.String(); strings.Contains(s, "\x1b[") {
		t.Errorf("colour codes in output that is not a terminal: %q", s[strings.Index(s, "\x1b["):][:20])
	}
	if n := strings.Count(out.String(), "clamped"); n != 1 || regexp.MustCompile(`clamped.*agent-trace-events`).MatchString(out.String()) {
		t.Errorf("want the replication clamp in one short line (no topic list), got %d mentions", n)
	}
}
