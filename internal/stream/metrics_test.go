package stream

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// Every metric the process registers passes client_golang's linter (names,
// units, help, counter suffixes), with a sample of each vector present so
// that the linter sees every family.
func TestMetricsLint(t *testing.T) {
	m := NewMetrics()
	m.Produced.WithLabelValues("t", "g").Inc()
	m.Consumed.WithLabelValues("t", "g").Inc()
	m.Lag.WithLabelValues("g", "t", "0").Set(1)
	m.ProduceLatency.WithLabelValues("t").Observe(0.01)
	m.ProduceErrors.WithLabelValues("t").Inc()
	m.DeadLetters.WithLabelValues("t", "r").Inc()
	m.Late.WithLabelValues("g").Inc()
	m.Dropped.WithLabelValues("g", "e").Inc()
	m.Rebalances.WithLabelValues("g").Inc()
	m.Partitions.assign("g", []int32{0})
	m.HTTPRequests.WithLabelValues("/healthz", "GET", "2xx").Inc()
	m.HTTPDuration.WithLabelValues("/healthz", "GET").Observe(0.001)
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		seen[f.GetName()] = true
	}
	for _, want := range []string{"aistream_http_requests_total", "aistream_http_request_duration_seconds", "aistream_build_info", "ai_kafka_consumer_lag"} {
		if !seen[want] {
			t.Errorf("%s not gathered", want)
		}
	}
}

// The build info series is set once, with the Go version this test runs on.
func TestBuildInfo(t *testing.T) {
	m := NewMetrics()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []*dto.Metric
	for _, f := range fams {
		if f.GetName() == "aistream_build_info" {
			got = f.GetMetric()
		}
	}
	if len(got) != 1 || got[0].GetGauge().GetValue() != 1 {
		t.Fatalf("aistream_build_info: %v", got)
	}
	labels := map[string]string{}
	for _, l := range got[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if !strings.HasPrefix(labels["go_version"], "go1.") || labels["version"] == "" || labels["revision"] == "" {
		t.Errorf("labels %v", labels)
	}
}

func TestLabels(t *testing.T) {
	for code, want := range map[int]string{200: "2xx", 404: "4xx", 503: "5xx", 42: "other"} {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", code, got, want)
		}
	}
	if MethodLabel("BREW") != "other" || MethodLabel("GET") != "GET" {
		t.Error("MethodLabel must keep standard methods and fold the rest")
	}
}
