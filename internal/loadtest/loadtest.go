// Package loadtest measures the read API of a running aistream: concurrent
// clients on the view routes beside /healthz in the same run, so each
// route's latency is read against the server's floor (the HTTP stack
// alone) rather than as an absolute on a noisy machine.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Target is one endpoint the clients call.
type Target struct {
	// Name labels the endpoint in the report, e.g. "trace".
	Name string
	// Paths are request paths (query included); client i's n-th request
	// to the target uses Paths[(i+n) % len(Paths)].
	Paths []string
	// Want is the status every response must have (200 unless set).
	Want int
}

// Config is one measurement.
type Config struct {
	// BaseURL is the API, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Header is sent with every request (credentials).
	Header http.Header
	// Clients is the number of concurrent clients.
	Clients int
	// Duration of the measurement (after Warmup).
	Duration, Warmup time.Duration
	// Rate is the total request rate the clients aim for (open loop: a
	// request's latency counts from when it was due, so a server that
	// falls behind is not hidden); 0 sends as fast as responses come.
	Rate float64
	// Targets are called in turn by every client: each client cycles
	// through them, so every endpoint sees the same conditions.
	Targets []Target
	// Timeout bounds one request.
	Timeout time.Duration
}

// Result is one endpoint's figures.
type Result struct {
	Name                string
	Requests, Errors    int
	PerSecond           float64
	P50, P99, P999, Max time.Duration
	// FirstError describes the first failed request, if any.
	FirstError string
}

// Run measures c and returns one result per target, in c.Targets' order.
func Run(ctx context.Context, c Config) ([]Result, error) {
	if c.Clients <= 0 || len(c.Targets) == 0 || c.Duration <= 0 {
		return nil, errors.New("loadtest: clients, targets and a duration are required")
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        c.Clients * 2,
		MaxIdleConnsPerHost: c.Clients * 2,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: c.Timeout}

	type sample struct {
		lat []time.Duration
		err int
		e1  string
	}
	per := make([][]sample, c.Clients)
	start := time.Now()
	measureFrom := start.Add(c.Warmup)
	end := measureFrom.Add(c.Duration)
	var interval time.Duration
	if c.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(c.Clients) / c.Rate)
	}
	var wg sync.WaitGroup
	for i := range c.Clients {
		per[i] = make([]sample, len(c.Targets))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Clients start spread over one interval, not in lockstep.
			due := start
			if interval > 0 {
				due = start.Add(interval * time.Duration(i) / time.Duration(c.Clients))
			}
			for n := i; ; n++ {
				if interval > 0 {
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				} else {
					due = time.Now()
				}
				if due.After(end) || ctx.Err() != nil {
					return
				}
				ti := n % len(c.Targets)
				t := c.Targets[ti]
				path := t.Paths[(i+n/len(c.Targets))%len(t.Paths)]
				err := get(ctx, hc, c.BaseURL+path, c.Header, t.Want)
				lat := time.Since(due)
				if !due.Before(measureFrom) {
					s := &per[i][ti]
					if err != nil {
						s.err++
						if s.e1 == "" {
							s.e1 = path + ": " + err.Error()
						}
					} else {
						s.lat = append(s.lat, lat)
					}
				}
				if interval > 0 {
					due = due.Add(interval)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, len(c.Targets))
	for ti, t := range c.Targets {
		var all []time.Duration
		r := Result{Name: t.Name}
		for i := range c.Clients {
			s := per[i][ti]
			all = append(all, s.lat...)
			r.Errors += s.err
			if r.FirstError == "" {
				r.FirstError = s.e1
			}
		}
		slices.Sort(all)
		r.Requests = len(all) + r.Errors
		r.PerSecond = float64(r.Requests) / c.Duration.Seconds()
		r.P50, r.P99, r.P999 = quantile(all, 0.5), quantile(all, 0.99), quantile(all, 0.999)
		if len(all) > 0 {
			r.Max = all[len(all)-1]
		}
		out[ti] = r
	}
	return out, nil
}

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func get(ctx context.Context, hc *http.Client, url string, h http.Header, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	return nil
}

// Print writes results as a table, each endpoint's p99 also as a multiple
// of the p99 of the target named base (the same run's floor).
func Print(w io.Writer, title string, rs []Result, base string) {
	var floor time.Duration
	for _, r := range rs {
		if r.Name == base {
			floor = r.P99
		}
	}
	fmt.Fprintf(w, "%s\n%-10s %9s %8s %10s %10s %10s %10s %9s\n", title, "endpoint", "req/s", "errors", "p50", "p99", "p99.9", "max", "p99/"+base)
	for _, r := range rs {
		ratio := "-"
		if floor > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(r.P99)/float64(floor))
		}
		fmt.Fprintf(w, "%-10s %9.0f %8d %10s %10s %10s %10s %9s\n", r.Name, r.PerSecond, r.Errors,
			ms(r.P50), ms(r.P99), ms(r.P999), ms(r.Max), ratio)
		if r.FirstError != "" {
			fmt.Fprintf(w, "           first error: %s\n", r.FirstError)
		}
	}
	var total float64
	for _, r := range rs {
		total += r.PerSecond
	}
	fmt.Fprintf(w, "total      %9.0f req/s\n\n", total)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }
