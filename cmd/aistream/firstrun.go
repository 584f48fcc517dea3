package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// devAccess is how dev's ready request reads a tenant's data: the demo
// token dev created for it, or the X-Tenant-ID header under
// --insecure-no-auth. With a --token-file of the user's, dev knows no token.
type devAccess struct {
	tokens   map[string]string
	insecure bool
}

// header is the header ("Name: value") that reads tenant's data, or false
// when dev has no credentials of tenant's.
func (a devAccess) header(tenant string) (string, bool) {
	if tok, ok := a.tokens[tenant]; ok {
		return "Authorization: Bearer " + tok, true
	}
	if a.insecure {
		return views.TenantHeader + ": " + tenant, true
	}
	return "", false
}

// devProgressEvery is how often dev logs its one-line progress summary.
const devProgressEvery = 5 * time.Second

// devCurl is a ready-to-paste request for path as tenant.
func devCurl(header, apiAddr, path string) string {
	return fmt.Sprintf("curl -s -H '%s' http://%s%s", header, apiAddr, path)
}

// printDevBanner is dev's start banner: where everything is, and the demo's
// tenants (from internal/demo) when demo traffic runs.
func printDevBanner(w io.Writer, broker, apiAddr, dataDir string, withDemo bool, tokenLines []string) {
	fmt.Fprintf(w, "\n  aistream dev\n    broker:  %s   (e.g. kcat -b %s -L)\n    API:     http://%s/v1/...   (Authorization: Bearer <token>; index at /)\n    state:   %s\n",
		broker, broker, apiAddr, dataDir)
	for _, l := range tokenLines {
		fmt.Fprintln(w, "    "+l)
	}
	if withDemo {
		fmt.Fprintf(w, "    tenants: %s   (demo traffic)\n    A ready-to-paste request follows once the first demo trace is served (a few seconds).\n",
			strings.Join(demo.Tenants(), ", "))
	} else {
		fmt.Fprintf(w, "    No traffic: produce events into the broker, or restart with --demo.\n")
	}
	fmt.Fprintln(w)
}

// announceFirstTrace waits until the API serves the trace as tenant, then
// prints the request that read it. It gives up silently when ctx ends.
func announceFirstTrace(ctx context.Context, w io.Writer, log zerolog.Logger, access devAccess, apiAddr, tenant, traceID string) {
	path := "/v1/traces/" + traceID
	header, ok := access.header(tenant)
	if !ok {
		fmt.Fprintf(w, "\n  the demo's first trace (tenant %s): curl -s -H 'Authorization: Bearer <a token of %s>' http://%s%s\n\n", tenant, tenant, apiAddr, path)
		return
	}
	name, value, _ := strings.Cut(header, ": ")
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+path, nil)
		if err != nil {
			log.Warn().Err(err).Msg("cannot build the ready request")
			return
		}
		req.Header.Set(name, value)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && len(strings.TrimSpace(string(body))) > 2 {
			fmt.Fprintf(w, "\n  ready: the demo's first trace (tenant %s) is served; paste this:\n    %s\n\n", tenant, devCurl(header, apiAddr, path))
			return
		}
	}
}

// progress is dev's summary of the stream metrics.
type progress struct {
	EventsIn, Outputs, DeadLetters, Lag int64
}

// String is the summary's one line.
func (p progress) String() string {
	return fmt.Sprintf("progress: events in %d, outputs %d, dead letters %d, lag %d", p.EventsIn, p.Outputs, p.DeadLetters, p.Lag)
}

// readProgress sums the stream metrics: events in are the records read from
// the AI Service's topics (per topic the count of the busiest group, as
// every group reads its own copy), outputs the records produced to them
// (insights, lineage records, ...), dead letters and lag over everything.
func readProgress(m *stream.Metrics) (progress, error) {
	var p progress
	contract := map[string]bool{}
	for _, t := range topology.Contract() {
		contract[t.Name] = t.Name != topology.DeadLetters
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		return p, err
	}
	in := map[string]int64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			switch f.GetName() {
			case "ai_kafka_messages_consumed_total":
				if t := label(mt, "topic"); contract[t] {
					in[t] = max(in[t], int64(mt.GetCounter().GetValue()))
				}
			case "ai_kafka_messages_produced_total":
				if contract[label(mt, "topic")] {
					p.Outputs += int64(mt.GetCounter().GetValue())
				}
			case "aistream_dead_letters_total":
				p.DeadLetters += int64(mt.GetCounter().GetValue())
			case "ai_kafka_consumer_lag":
				p.Lag += int64(mt.GetGauge().GetValue())
			}
		}
	}
	for _, n := range in {
		p.EventsIn += n
	}
	return p, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// reportProgress logs the progress line every period until ctx ends.
func reportProgress(ctx context.Context, log zerolog.Logger, m *stream.Metrics, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p, err := readProgress(m)
		if err != nil {
			log.Warn().Err(err).Msg("progress: cannot read the metrics")
			continue
		}
		log.Info().Msg(p.String())
	}
}
