package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/topology"
)

// cmdDemo produces demo traffic into the cluster given by KAFKA_* (any
// security protocol: docker-compose.yml runs it over SASL_SSL).
func cmdDemo(args []string) error {
	fs := flag.NewFlagSet("aistream demo", flag.ContinueOnError)
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "-", StateDir: "-"})
	rate := fs.Float64("rate", 5, "traces per second")
	count := fs.Int("traces", 0, "stop after this many traces (0: until interrupted)")
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, rt, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	if *rate <= 0 || *rate > 100000 {
		return configError(fmt.Errorf("--rate=%v is not valid: use a number of traces per second from 0.001 to 100000", *rate))
	}
	// The cluster's own client settings (TLS, SASL), as every other command.
	opts, err := kc.Franz()
	if err != nil {
		return configError(err)
	}
	ctx, stop := signalContext()
	defer stop()
	return produceDemo(ctx, newLogger(rt), opts, *rate, *count, nil)
}

// runDemo is the dev server's demo traffic, until ctx ends; first (if not
// nil) is called with the first trace produced.
func runDemo(ctx context.Context, log zerolog.Logger, brokers []string, rate float64, first func(tenant, traceID string)) error {
	return produceDemo(ctx, log, []kgo.Opt{kgo.SeedBrokers(brokers...)}, rate, 0, first)
}

// produceDemo plays the AI Service: franz-go's default partitioner hashes
// keys with murmur2, as aiokafka does. first (if not nil) is called once,
// with the tenant and id of the first trace span produced.
func produceDemo(ctx context.Context, log zerolog.Logger, opts []kgo.Opt, rate float64, limit int, first func(tenant, traceID string)) error {
	cl, err := kgo.NewClient(append(opts, kgo.ProducerLinger(10*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("demo producer: %w", err)
	}
	defer cl.Close()
	gen := demo.New(uint64(time.Now().UnixNano()))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	log.Info().Float64("traces_per_second", rate).Msg("demo traffic started")
	for n := 0; limit == 0 || n < limit; n++ {
		for _, r := range gen.Trace(time.Now()) {
			if first != nil && r.Topic == topology.TraceEvents {
				if ev, err := (codecs.Decoder{}).Decode(r.Value); err == nil {
					if span, ok := ev.Payload.(*codecs.Span); ok {
						first(ev.TenantID, span.TraceID)
						first = nil
					}
				}
			}
			cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(r *kgo.Record, err error) {
				if err != nil && ctx.Err() == nil {
					log.Warn().Err(err).Str("topic", r.Topic).Msg("demo produce failed")
				}
			})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return cl.Flush(ctx)
}
