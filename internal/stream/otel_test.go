package stream_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

// collector is a fake OTLP/HTTP collector: it decodes every export
// request and keeps its spans.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	b, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func attrs(s *tracepb.Span) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		if sv := kv.Value.GetStringValue(); sv != "" {
			m[kv.Key] = sv
		} else {
			m[kv.Key] = strings.TrimSpace(kv.Value.String())
		}
	}
	return m
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, a processed record yields one span
// in the record's trace, child of its traceparent, that the collector
// receives once shutdown flushes.
func TestSpansExportedToOTLPCollector(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv(stream.EnvOTLPTracesEndpoint, "")
	t.Setenv(stream.EnvOTLPEndpoint, srv.URL)
	t.Setenv(stream.EnvTracesSampler, "")
	t.Setenv(stream.EnvTracesSamplerArg, "")
	shutdown, err := stream.StartTracing(context.Background(), "aistream-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	if !stream.TracingEnabled() {
		t.Fatal("tracing not enabled with the endpoint set")
	}

	tt := tester.New(t)
	handled := 0
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("otel-test",
		goka.Input(goka.Stream("otel-in"), new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking},
			func(goka.Context, *codecs.Event) { handled++ })),
		stream.DeadLetterOutput(),
	))
	tt.Consume("otel-in", "tr-1", thinking(t), tester.WithHeaders(goka.Headers{stream.HeaderTraceparent: []byte(traceparent)}))
	if handled != 1 {
		t.Fatalf("handled %d records, want 1", handled)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if stream.TracingEnabled() {
		t.Error("tracing still enabled after shutdown")
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.spans) != 1 {
		t.Fatalf("collector received %d spans, want 1", len(col.spans))
	}
	s := col.spans[0]
	parts := strings.Split(traceparent, "-")
	if got := hex.EncodeToString(s.TraceId); got != parts[1] {
		t.Errorf("trace id %s, want the record's %s", got, parts[1])
	}
	if got := hex.EncodeToString(s.ParentSpanId); got != parts[2] {
		t.Errorf("parent span id %s, want the record's %s", got, parts[2])
	}
	if s.Name != "otel-test process otel-in" {
		t.Errorf("span name %q", s.Name)
	}
	a := attrs(s)
	for k, want := range map[string]string{"messaging.destination.name": "otel-in", "tenant": "acme", "event_id": "e1"} {
		if a[k] != want {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, a[k], want, a)
		}
	}
}

// Without an endpoint no SDK starts and records are processed untraced.
func TestTracingOffWithoutEndpoint(t *testing.T) {
	t.Setenv(stream.EnvOTLPTracesEndpoint, "")
	t.Setenv(stream.EnvOTLPEndpoint, "")
	shutdown, err := stream.StartTracing(context.Background(), "aistream-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if stream.TracingEnabled() {
		t.Fatal("tracing enabled without an OTLP endpoint")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A bad endpoint or sampler ratio stops start-up naming the variable.
func TestTracingBadEnv(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{stream.EnvOTLPEndpoint, "collector:4318"},
		{stream.EnvOTLPTracesEndpoint, "ftp://collector/v1/traces"},
		{stream.EnvOTLPEndpoint, "http://"},
		{stream.EnvOTLPEndpoint, "ftp://user:s3cret@collector"},
		{stream.EnvTracesSamplerArg, "1.5"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Setenv(stream.EnvOTLPTracesEndpoint, "")
			t.Setenv(stream.EnvOTLPEndpoint, "http://127.0.0.1:1")
			t.Setenv(stream.EnvTracesSamplerArg, "")
			t.Setenv(c.name, c.value)
			_, err := stream.StartTracing(context.Background(), "aistream-test", zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("error %v, want one naming %s", err, c.name)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error quotes a credential: %v", err)
			}
			if stream.TracingEnabled() {
				t.Error("tracing enabled after a start-up error")
			}
		})
	}
}

// Sampling is parent-based: with OTEL_TRACES_SAMPLER_ARG=0 a record whose
// traceparent is sampled still yields its span, one without a trace
// context none.
func TestSpansSampledByParentWithRatio(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv(stream.EnvOTLPEndpoint, "")
	t.Setenv(stream.EnvOTLPTracesEndpoint, srv.URL+"/v1/traces")
	t.Setenv(stream.EnvTracesSampler, "")
	t.Setenv(stream.EnvTracesSamplerArg, "0")
	shutdown, err := stream.StartTracing(context.Background(), "aistream-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	tt := tester.New(t)
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("otel-ratio",
		goka.Input(goka.Stream("otel-ratio-in"), new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking},
			func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	tt.Consume("otel-ratio-in", "tr-1", thinking(t))
	tt.Consume("otel-ratio-in", "tr-1", thinking(t), tester.WithHeaders(goka.Headers{stream.HeaderTraceparent: []byte(traceparent)}))
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.spans) != 1 {
		t.Fatalf("collector received %d spans, want 1 (the sampled parent's)", len(col.spans))
	}
	if got, want := hex.EncodeToString(col.spans[0].TraceId), strings.Split(traceparent, "-")[1]; got != want {
		t.Errorf("trace id %s, want %s", got, want)
	}
}
