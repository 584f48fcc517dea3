package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/loadtest"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// cmdLoadtest measures the read API of a running "aistream dev" (or run):
// it seeds traces of its own through the broker, waits until the API
// serves them, then runs concurrent clients on the trace, lineage and
// insights routes beside /healthz, once idle and once while it produces
// demo traffic at --ingest-rate.
func cmdLoadtest(args []string) error {
	fs := flag.NewFlagSet("aistream loadtest", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:8080", "the API's base URL")
	broker := fs.String("broker", "127.0.0.1:9092", "the broker the API's processors read (the dev server's --broker-addr)")
	clients := fs.Int("clients", 50, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "measured time of each phase")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured time before each phase")
	rate := fs.Float64("rate", 0, "total requests per second the clients aim for (0: as fast as the server answers)")
	tenant := fs.String("tenant", "acme-corp", "tenant whose data is read (the token's, when --token is set)")
	token := fs.String("token", os.Getenv("AISTREAM_TOKEN"), "bearer token for /v1 [AISTREAM_TOKEN]")
	seed := fs.Int("seed-traces", 300, "demo traces produced before measuring (their ids are the ones read)")
	depth := fs.Int("depth", 10, "lineage traversal depth")
	ingest := fs.Float64("ingest-rate", 500, "demo traces per second produced during the second phase (0 skips it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *clients < 1 || *clients > 10000 || *duration <= 0 || *seed < 10 || *depth < 1 || *rate < 0 || *ingest < 0 {
		return configError(errors.New("loadtest: --clients 1-10000, --duration > 0, --seed-traces >= 10, --depth >= 1, --rate and --ingest-rate >= 0"))
	}
	if _, err := url.Parse(*api); err != nil {
		return configError(fmt.Errorf("--api=%q: %w", *api, err))
	}
	ctx, stop := signalContext()
	defer stop()

	cl, err := kgo.NewClient(kgo.SeedBrokers(*broker), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return fmt.Errorf("loadtest producer: %w", err)
	}
	defer cl.Close()
	gen := demo.New(uint64(time.Now().UnixNano()))
	var traces, datasets []string
	for len(traces) < *seed {
		for _, r := range gen.Trace(time.Now()) {
			cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, nil)
			var env codecs.Envelope
			if json.Unmarshal(r.Value, &env) != nil || env.TenantID != *tenant {
				continue
			}
			switch r.Topic {
			case topology.TraceEvents:
				var s codecs.Span
				if json.Unmarshal(env.Data, &s) == nil && !slices.Contains(traces, s.TraceID) {
					traces = append(traces, s.TraceID)
				}
			case topology.LineageEvents:
				var l codecs.Lineage
				if json.Unmarshal(env.Data, &l) == nil {
					for _, d := range append(l.Sources, l.Targets...) {
						if !slices.Contains(datasets, d) {
							datasets = append(datasets, d)
						}
					}
				}
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("loadtest: seed traces: %w", err)
	}
	if len(datasets) == 0 {
		return errors.New("loadtest: the seeded traffic has no lineage of the tenant; raise --seed-traces")
	}
	h := http.Header{}
	h.Set(views.TenantHeader, *tenant)
	if *token != "" {
		h.Set("Authorization", "Bearer "+*token)
	}
	var tracePaths, lineagePaths []string
	for _, t := range traces {
		tracePaths = append(tracePaths, "/v1/traces/"+url.PathEscape(t))
	}
	for _, d := range datasets {
		lineagePaths = append(lineagePaths, fmt.Sprintf("/v1/lineage/%s?direction=both&depth=%d", url.PathEscape(d), *depth))
	}
	if err := waitServed(ctx, *api+tracePaths[len(tracePaths)-1], h); err != nil {
		return err
	}
	cfg := loadtest.Config{
		BaseURL: *api, Header: h, Clients: *clients, Duration: *duration, Warmup: *warmup, Rate: *rate,
		Targets: []loadtest.Target{
			{Name: "trace", Paths: tracePaths},
			{Name: "lineage", Paths: lineagePaths},
			{Name: "insights", Paths: []string{"/v1/insights?limit=50"}},
			{Name: "healthz", Paths: []string{"/healthz"}},
		},
	}
	mode := "closed loop"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s", *rate)
	}
	fmt.Printf("%d clients, %s, %s per phase; %d traces, %d datasets of %s; lineage depth %d\n\n",
		*clients, mode, *duration, len(traces), len(datasets), *tenant, *depth)
	rs, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	loadtest.Print(os.Stdout, "phase 1: reads only", rs, "healthz")
	if *ingest == 0 {
		return nil
	}
	ictx, stopIngest := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ictx, newLogger(config.Runtime{LogLevel: "warn"}), []string{*broker}, *ingest, nil)
	}()
	rs, err = loadtest.Run(ctx, cfg)
	stopIngest()
	if ierr := <-done; ierr != nil && !errors.Is(ierr, context.Canceled) {
		fmt.Fprintf(os.Stderr, "ingest stopped early: %v\n", ierr)
	}
	if err != nil {
		return err
	}
	loadtest.Print(os.Stdout, fmt.Sprintf("phase 2: reads while ingesting %.0f demo traces/s", *ingest), rs, "healthz")
	return nil
}

// waitServed polls url until it answers 200 (the seeded traces are
// processed), for at most two minutes.
func waitServed(ctx context.Context, u string, h http.Header) error {
	deadline := time.Now().Add(2 * time.Minute)
	last := "no answer"
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header = h.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("loadtest: %s did not answer 200 within 2 minutes (last: %s); is the server running with processors on --broker?", u, last)
}
