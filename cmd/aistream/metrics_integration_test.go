package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// onOccurrence marks a README metric row whose series appear only once what
// they count has happened (a failure, a late event): demo traffic need not
// produce a sample of it.
const onOccurrence = "on its first occurrence"

// documentedMetrics reads the metric names of README's Metrics table, the
// one list of them, with whether demo traffic must produce a sample.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (counter|gauge|histogram) \\|")
	out := map[string]bool{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "## Metrics":
			in = true
		case strings.HasPrefix(line, "## "):
			in = false
		case in:
			if m := row.FindStringSubmatch(line); m != nil {
				out[m[1]] = !strings.Contains(line, onOccurrence)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("README's Metrics table lists %d metrics; the parser no longer matches it", len(out))
	}
	return out
}

// After demo traffic and a few reads, /metrics has a sample of every
// metric README documents (bar those that count only failures), and the
// documented names are exactly the aistream metrics /metrics serves.
func TestIntegrationDocumentedMetricsHaveSamples(t *testing.T) {
	docs := documentedMetrics(t)
	bin := buildBinary(t)
	api, broker := freePort(t), freePort(t)
	// Authenticated as in production (the token store's metrics exist only
	// with a token file); the probe reads below are 401s, which count too.
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	createToken(t, bin, tokens, nil, "--tenant", "acme-corp")
	p := startDev(t, bin, t.TempDir(), broker, api, "--demo", "--demo-rate", "20", "--token-file", tokens)
	defer p.stop(t)
	p.waitReady(t, 90*time.Second)
	name := regexp.MustCompile(`^((?:ai_kafka|aistream)_[a-z_]+?)(?:_bucket|_sum|_count)?(?:\{| )`)
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		p.get(t, "/v1/traces/none", "acme-corp")
		_, body := p.get(t, "/metrics", "")
		served := map[string]bool{}
		for _, line := range bytes.Split(body, []byte("\n")) {
			if m := name.FindSubmatch(line); m != nil {
				served[string(m[1])] = true
			}
		}
		missing = missing[:0]
		for m, required := range docs {
			if required && !served[m] {
				missing = append(missing, m)
			}
		}
		for m := range served {
			if _, ok := docs[m]; !ok {
				t.Errorf("/metrics serves %s, which README's Metrics table does not document", m)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) || t.Failed() {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if len(missing) > 0 {
		t.Errorf("no sample after demo traffic of documented metrics %v", missing)
	}
	// The linter on what is served covers the collectors that exist only
	// in a running process (goka's table statistics).
	_, body := p.get(t, "/metrics", "")
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("metric %s: %s", pr.Metric, pr.Text)
	}
}
