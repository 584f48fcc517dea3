package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/processors/contextgraph"
	"github.com/aistream/aistream/topology"
)

// crashInput is the deterministic input of the crash test, in phases. A run
// produces one phase, lets the processors commit all of it, then produces
// the next. Within a phase no trace gets both feedback and trace events and
// every tenant×agent's metrics sit on one partition in time order, so the
// outputs do not depend on how the processors interleave their input
// topics: two runs of the same phases must produce the same ids.
type crashInput struct {
	phases  [][]*kgo.Record
	tenants []string
	// revisions is the highest revision of every signal, as SIGNALS.md
	// derives it from the phases.
	revisions map[string]int
	lineage   int
	insights  int
}

const (
	crashTraces        = 3000
	crashLineage       = 4000
	crashWindowReqs    = 40
	crashPhases        = 4
	crashMetricWindows = 17
)

// tracePlans say what each phase brings to a trace, by trace group: t a
// thinking step, d a decision, s a span, S a span past the signals horizon
// (no revision), f its feedback. A trace event after the feedback's phase
// revises the signal; one before it is context of revision 1.
var tracePlans = [][crashPhases]string{
	{"tds", "f", "ts", "tS"},
	{"f", "tds", "t", "ds"},
	{"", "ts", "f", "tds"},
}

// metricWindows is what each 5-minute window of a tenant×agent looks like;
// the first three teach the baseline. Windows close by watermark (the next
// window's events from 1 min in), so the last one stays open. Per
// tenant×agent they make insightsPerAgent insights: error_rate_spike fires
// critical (errors50), resolves, fires warning (errors20), escalates to
// critical (errors40) and resolves; latency_p95_regression fires critical
// (slow4) and warning (slow2), cost_anomaly critical (cost4), each
// resolving in the next window; new_failure_category fires for each of the
// two error types.
var metricWindows = [crashMetricWindows]string{
	"normal", "normal", "normal", "normal", "errors50", "normal", "slow4", "normal",
	"cost4", "normal", "errors20", "errors40", "normal", "slow2", "normal", "normal", "normal",
}

const insightsPerAgent = 13

// failing says which requests of an error window fail: n of every m.
var failing = map[string][2]int{"errors50": {1, 2}, "errors20": {1, 5}, "errors40": {2, 5}}

func newCrashInput(prefix string, day time.Time) *crashInput {
	in := &crashInput{revisions: map[string]int{}, lineage: crashLineage}
	for _, n := range []string{"acme", "globex", "initech"} {
		in.tenants = append(in.tenants, prefix+"-"+n)
	}
	srcs := make([][][]*kgo.Record, crashPhases)
	add := func(phase, src int, r *kgo.Record) {
		for len(srcs[phase]) <= src {
			srcs[phase] = append(srcs[phase], nil)
		}
		srcs[phase][src] = append(srcs[phase][src], r)
	}
	in.traces(prefix, day, add)
	in.metrics(prefix, day, add)
	for i := range crashLineage {
		add(i*crashPhases/crashLineage, 20, lineageRecord(prefix, in.tenants[i%3], i, day.Add(2*time.Hour+time.Duration(i)*time.Second)))
	}
	// Interleave the sources of a phase, keeping each one's order.
	for _, ss := range srcs {
		var phase []*kgo.Record
		for more := true; more; {
			more = false
			for i := range ss {
				if len(ss[i]) > 0 {
					phase, ss[i], more = append(phase, ss[i][0]), ss[i][1:], true
				}
			}
		}
		in.phases = append(in.phases, phase)
	}
	return in
}

// traces adds the trace events and feedback. Every fifth trace's user rates
// the response twice (the first signal is superseded and gets no
// revisions), every fifth but one has a second user's feedback.
func (in *crashInput) traces(prefix string, day time.Time, add func(phase, src int, r *kgo.Record)) {
	fbBase := day.Add(12 * time.Hour) // all feedback in one quality window: none closes
	for i := range crashTraces {
		tenant, trace := in.tenants[(i/3)%3], fmt.Sprintf("%s-tr-%d", prefix, i)
		plan := tracePlans[i%3]
		fbAt := fbBase.Add(time.Duration(i%200) * time.Second)
		var current []string // signals that later trace events revise
		var steps, decisions, spans int
		for phase, what := range plan {
			after := len(current) > 0
			for k, c := range what {
				at := fbAt.Add(-time.Minute + time.Duration(k)*time.Second)
				if after {
					at = fbAt.Add(time.Duration(phase*3+k+1) * 30 * time.Second)
				}
				id := fmt.Sprintf("%s-e%d", trace, steps+decisions+spans)
				switch c {
				case 't':
					add(phase, i%4, traceRecord(topology.ThinkingEvents, trace, envelope(id, codecs.TypeThinking, tenant, at, map[string]any{
						"trace_id": trace, "agent": "planner", "step": steps, "kind": "plan", "tokens": 10 + steps,
						"content": fmt.Sprintf("step %d of %s: look up the orders", steps, trace)})))
					steps++
				case 'd':
					add(phase, 4+i%4, traceRecord(topology.DecisionEvents, trace, envelope(id, codecs.TypeDecision, tenant, at, map[string]any{
						"trace_id": trace, "decision_id": fmt.Sprintf("d%d", decisions), "agent": "router", "decision_type": "route",
						"chosen": "sql-agent", "confidence": 0.8, "alternatives": []map[string]any{{"option": "rag-agent", "score": 0.2}}})))
					decisions++
				case 's', 'S':
					if c == 'S' {
						at = fbAt.Add(20 * time.Minute)
					}
					sp := map[string]any{
						"trace_id": trace, "span_id": fmt.Sprintf("s%d", spans), "agent": "sql-agent", "name": "run_sql", "status": "ok",
						"start_time": at.Format(time.RFC3339Nano), "end_time": at.Add(time.Duration(200+spans*100) * time.Millisecond).Format(time.RFC3339Nano),
						"model": "gpt-4o", "tokens_in": 100, "tokens_out": 20,
					}
					if i%4 == 0 && spans == 1 {
						sp["status"], sp["error"] = "error", map[string]any{"type": "timeout", "message": "query ran over 30s"}
					}
					add(phase, 8+i%4, traceRecord(topology.TraceEvents, trace, envelope(id, codecs.TypeSpan, tenant, at, sp)))
					spans++
				case 'f':
					current = in.feedback(prefix, tenant, trace, i, fbAt, func(r *kgo.Record) { add(phase, 12+i%4, r) })
				}
				if after && c != 'S' && c != 'f' {
					for _, s := range current {
						in.revisions[s]++
					}
				}
			}
		}
	}
}

// feedback adds a trace's feedback and returns the signals that are
// current (not superseded).
func (in *crashInput) feedback(prefix, tenant, trace string, i int, at time.Time, add func(*kgo.Record)) []string {
	resp := trace + "-resp"
	rating := []map[string]any{
		{"thumbs": "down", "comment": "the total ignores refunds"},
		{"score": 5},
		{"thumbs": "down", "categories": []string{"unsafe"}},
		{"score": 2, "categories": []string{"incorrect"}},
	}
	one := func(id, user string, at time.Time, r map[string]any) string {
		data := map[string]any{"response_id": resp, "trace_id": trace, "session_id": trace + "-sess", "user_id": user, "agent": "fb-agent", "model": "gpt-4o"}
		for k, v := range r {
			data[k] = v
		}
		add(traceRecord(topology.FeedbackEvents, resp, envelope(id, codecs.TypeFeedback, tenant, at, data)))
		s := contextgraph.SignalID(tenant, id)
		in.revisions[s] = 1
		return s
	}
	first := one(trace+"-fb1", "u1", at, rating[i%4])
	switch i % 5 {
	case 0:
		return []string{one(trace+"-fb2", "u1", at.Add(30*time.Second), rating[(i+1)%4])}
	case 1:
		return []string{first, one(trace+"-fb2", "u2", at.Add(10*time.Second), rating[(i+2)%4])}
	}
	return []string{first}
}

// metrics adds agent metrics for three agents of each tenant: windows whose
// error rate, latency and cost depart from the baseline and return, so
// every metric rule fires and resolves, and new error types appear.
func (in *crashInput) metrics(prefix string, day time.Time, add func(phase, src int, r *kgo.Record)) {
	start := day.Add(time.Hour)
	per := 5 * time.Minute / crashWindowReqs
	for ti, tenant := range in.tenants {
		for ai, agent := range []string{"planner", "sql-agent", "rag-agent"} {
			in.insights += insightsPerAgent
			key := codecs.TenantKey(tenant, agent)
			for w, kind := range metricWindows {
				phase := min(w*crashPhases/(crashMetricWindows-1), crashPhases-1)
				for j := range crashWindowReqs {
					at := start.Add(time.Duration(w)*5*time.Minute + time.Duration(j)*per)
					latency, cost, status, errType := 200.0+float64(j%5)*10, 0.002, "ok", ""
					switch kind {
					case "slow4":
						latency *= 4
					case "slow2":
						latency *= 2
					case "cost4":
						cost *= 4
					}
					if e, ok := failing[kind]; ok && j%e[1] < e[0] {
						status, errType = "error", []string{"upstream_5xx", "rate_limit"}[(w+ai)%2]
					}
					data := map[string]any{"agent": agent, "model": "gpt-4o", "latency_ms": latency, "tokens_in": 300, "tokens_out": 50,
						"cost_usd": cost, "status": status, "quality_score": 0.9}
					if errType != "" {
						data["error_type"] = errType
					}
					id := fmt.Sprintf("%s-m%d-%d-%d-%d", prefix, ti, ai, w, j)
					add(phase, 16+ai, traceRecord(topology.MetricsEvents, key, envelope(id, codecs.TypeMetrics, tenant, at, data)))
				}
			}
		}
	}
}

func lineageRecord(prefix, tenant string, i int, at time.Time) *kgo.Record {
	q := fmt.Sprintf("%s-q%d", prefix, i)
	target := fmt.Sprintf("analytics.daily_%d", i%20)
	return traceRecord(topology.LineageEvents, q, envelope(fmt.Sprintf("%s-ln%d", prefix, i), codecs.TypeLineage, tenant, at, map[string]any{
		"query_id": q, "sql": "INSERT INTO " + target + " SELECT day, amount FROM sales.orders_" + fmt.Sprint(i%40),
		"dialect": "postgres", "sources": []string{fmt.Sprintf("sales.orders_%d", i%40)}, "targets": []string{target},
		"columns": []map[string]any{{"target": map[string]any{"dataset": target, "column": "amount"},
			"sources": []map[string]any{{"dataset": fmt.Sprintf("sales.orders_%d", i%40), "column": "amount"}}}},
		"user_id": "u1", "status": "success",
	}))
}

func traceRecord(topic, key string, ev map[string]any) *kgo.Record {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: b}
}

func envelope(id, typ, tenant string, at time.Time, data map[string]any) map[string]any {
	return map[string]any{"event_id": id, "event_type": typ, "tenant_id": tenant, "timestamp": at.Format(time.RFC3339Nano),
		"source": "ai-service", "data": data}
}
