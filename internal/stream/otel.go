package stream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/aistream/aistream/codecs"
)

// The OpenTelemetry environment variables aistream reads
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
// Spans are exported only when one of the endpoint variables is set.
const (
	EnvOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvTracesSampler      = "OTEL_TRACES_SAMPLER"
	EnvTracesSamplerArg   = "OTEL_TRACES_SAMPLER_ARG"
)

// tracer is the tracer of the running process, nil when no OTLP endpoint
// is configured: the hot path then costs one atomic load and a nil check.
var tracer atomic.Pointer[trace.Tracer]

// StartTracing starts the OpenTelemetry SDK with an OTLP/HTTP span exporter
// when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set; otherwise it starts nothing and returns a no-op shutdown. shutdown
// flushes the spans not yet exported; call it once the processors stopped.
// Export failures (the collector down or refusing) are logged to log, at
// most once a second.
func StartTracing(ctx context.Context, service string, log zerolog.Logger) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	var set bool
	for _, name := range []string{EnvOTLPTracesEndpoint, EnvOTLPEndpoint} {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			continue
		}
		set = true
		if err := checkEndpoint(v); err != nil {
			// The value is not quoted: a URL may carry credentials.
			return noop, fmt.Errorf("%s: %w; set it to the collector's OTLP/HTTP URL, e.g. http://otel-collector:4318", name, err)
		}
	}
	if !set {
		return noop, nil
	}
	opts := []sdktrace.TracerProviderOption{}
	if s, err := samplerFromEnv(); err != nil {
		return noop, err
	} else if s != nil {
		opts = append(opts, sdktrace.WithSampler(s))
	}
	// The exporter reads the endpoint, headers, timeout and TLS variables
	// itself (OTEL_EXPORTER_OTLP_*).
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, fmt.Errorf("OTLP span exporter: %w; check the OTEL_EXPORTER_OTLP_* variables", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		res = resource.Default()
	}
	elog := log.Sample(&zerolog.BurstSampler{Burst: 1, Period: time.Second})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		elog.Warn().Err(err).Msg("OpenTelemetry: spans not exported")
	}))
	tp := sdktrace.NewTracerProvider(append(opts, sdktrace.WithBatcher(exp), sdktrace.WithResource(res))...)
	t := tp.Tracer("github.com/aistream/aistream/internal/stream")
	tracer.Store(&t)
	return func(ctx context.Context) error {
		tracer.Store(nil)
		return tp.Shutdown(ctx)
	}, nil
}

// TracingEnabled reports whether spans are being exported.
func TracingEnabled() bool { return tracer.Load() != nil }

// checkEndpoint accepts an absolute http or https URL with a host.
func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("the scheme must be http or https")
	}
	if u.Host == "" {
		return errors.New("the URL names no host")
	}
	return nil
}

// samplerFromEnv returns a parent-based ratio sampler when
// OTEL_TRACES_SAMPLER_ARG is set or OTEL_TRACES_SAMPLER names
// parentbased_traceidratio (the ratio from OTEL_TRACES_SAMPLER_ARG, 1.0
// without it), or nil for the SDK's default, which also honours the other
// sampler names (always_on, always_off, traceidratio, ...). A ratio that is
// not a number in [0, 1] is an error.
func samplerFromEnv() (sdktrace.Sampler, error) {
	name, arg := strings.TrimSpace(os.Getenv(EnvTracesSampler)), strings.TrimSpace(os.Getenv(EnvTracesSamplerArg))
	ratio := 1.0
	if arg != "" {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("%s=%q: want a ratio between 0 and 1", EnvTracesSamplerArg, arg)
		}
		ratio = r
	}
	switch {
	case name == "parentbased_traceidratio", name == "" && arg != "":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	default:
		return nil, nil
	}
}

// startSpan starts the span of the record ctx processes, parented on its
// traceparent header, or returns nil when tracing is off.
func startSpan(ctx goka.Context) trace.Span {
	tp := tracer.Load()
	if tp == nil {
		return nil
	}
	parent := context.Background()
	if h := TraceHeaders(ctx.Headers()); h != nil {
		carrier := propagation.MapCarrier{HeaderTraceparent: string(h[HeaderTraceparent])}
		if ts, ok := h[HeaderTracestate]; ok {
			carrier[HeaderTracestate] = string(ts)
		}
		parent = propagation.TraceContext{}.Extract(parent, carrier)
	}
	_, span := (*tp).Start(parent, string(ctx.Group())+" process "+string(ctx.Topic()),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(time.Now()),
		trace.WithAttributes(
			attribute.String("messaging.destination.name", string(ctx.Topic())),
			attribute.Int64("messaging.kafka.partition", int64(ctx.Partition())),
			attribute.Int64("messaging.kafka.offset", ctx.Offset()),
			attribute.String("messaging.consumer.group.name", string(ctx.Group())),
		))
	return span
}

// spanEvent adds the decoded event's tenant and id to span.
func spanEvent(span trace.Span, ev *codecs.Event) {
	if span == nil || ev == nil {
		return
	}
	span.SetAttributes(attribute.String("tenant", ev.TenantID), attribute.String("event_id", ev.EventID))
}

// endSpan ends span; nil is tracing off.
func endSpan(span trace.Span) {
	if span != nil {
		span.End()
	}
}
