package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/httpserve"
	"github.com/aistream/aistream/internal/kafkaprobe"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
	"github.com/aistream/aistream/views"
)

// cmdServe runs "dev" (embedded broker) and "run" (a real cluster).
func cmdServe(args []string, dev bool) error {
	name := "run"
	if dev {
		name = "dev"
	}
	fs := flag.NewFlagSet("aistream "+name, flag.ContinueOnError)
	mods := bindModules(fs)
	suffix, err := longestTopicSuffix(mods)
	if err != nil {
		return err
	}
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "127.0.0.1:8080", StateDir: "/var/lib/aistream", TopicSuffix: suffix})
	sf := config.BindServe(fs, os.Getenv, dev)
	var (
		demo     *bool
		demoRate *float64
	)
	if dev {
		demo = fs.Bool("demo", false, "produce demo AI Service traffic (a few tenants and agents, some malformed events)")
		demoRate = fs.Float64("demo-rate", 5, "demo traces per second")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	sv, err := sf.Resolve()
	if err != nil {
		return configError(err)
	}
	if dev {
		// dev is "start the embedded broker, then run": the embedded broker
		// is plain, local and the only cluster dev talks to.
		_ = fs.Set("bootstrap-servers", sv.BrokerAddr)
		_ = fs.Set("security-protocol", "PLAINTEXT")
		_ = fs.Set("sasl-mechanism", "")
		kf.DefaultStateDir(filepath.Join(sv.DataDir, "state"))
	}
	kc, rt, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	if err := validateModules(mods); err != nil {
		return configError(err)
	}
	if dev && (*demoRate <= 0 || *demoRate > 100000) {
		return configError(fmt.Errorf("--demo-rate=%v is not valid: use a number of traces per second from 0.001 to 100000", *demoRate))
	}
	groups, err := selectGroups(mods, sv.Processors)
	if err != nil {
		return configError(err)
	}
	if len(groups) == 0 && !sv.Views {
		return configError(errors.New("--processors=none with --views=false leaves nothing to run"))
	}
	prefix := stream.Prefix(kc.ConsumerGroup)
	internal, err := stream.Topics(prefix, mods)
	if err != nil {
		return err
	}
	log := newLogger(rt)
	ctx, stop := signalContext()
	defer stop()
	metrics := stream.NewMetrics()
	// The token file is checked before any side effect, like the settings.
	authn, devTokens, err := apiAuth(ctx, log, sv, dev, metrics.Registry)
	if err != nil {
		return err
	}
	// Binding the HTTP address is the last check and comes before any
	// side effect: an unusable address must not join a consumer group first.
	ln, err := rt.Listen()
	if err != nil {
		return configError(err)
	}
	defer ln.Close()
	pln, err := listenPprof(os.Getenv(pprofEnv))
	if err != nil {
		return err
	}
	warnInsecure(log, sv)

	if dev {
		// dev is "start the embedded broker, then run".
		cluster, err := startEmbedded(sv.BrokerAddr, filepath.Join(sv.DataDir, "kafka"))
		if err != nil {
			return err
		}
		defer cluster.Close()
		log.Info().Str("broker", sv.BrokerAddr).Str("data_dir", sv.DataDir).Msg("embedded Kafka broker listening")
	}

	sc, err := kc.Sarama()
	if err != nil {
		return configError(err)
	}
	// A wrong password, mechanism or CA stops start-up with one line before
	// any topic is touched or group joined.
	if err := kafkaprobe.Sarama(kc, sc); err != nil {
		return configError(err)
	}
	brokers, err := prepareTopics(log, kc.BootstrapServers, sc, internal, sv.ApplyTopics || dev, dev)
	if err != nil {
		return err
	}
	env := &stream.Env{
		Brokers: kc.BootstrapServers, Sarama: sc, StateDir: rt.StateDir, Replication: min(brokers, 3),
		Log: log, Metrics: metrics, ChangelogFlush: rt.ChangelogFlushInterval,
	}
	// Spans go to an OTLP/HTTP collector only when OTEL_EXPORTER_OTLP_*
	// names one; shutdown flushes them after the processors stopped.
	stopTracing, err := stream.StartTracing(ctx, "aistream", log)
	if err != nil {
		return configError(err)
	}
	if stream.TracingEnabled() {
		log.Info().Msg("exporting spans over OTLP/HTTP to the collector OTEL_EXPORTER_OTLP_* names")
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn().Err(err).Msg("flushing spans to the OTLP collector failed")
		}
	}()
	runner := stream.NewRunner(env)
	metrics.Registry.MustRegister(runner.StatsCollector())
	opts := stream.Options{Prefix: prefix, Decoder: codecs.Decoder{MaxBytes: rt.MaxMessageBytes}, Metrics: metrics}
	for _, g := range groups {
		if _, err := runner.AddGroup(g, opts); err != nil {
			return err
		}
	}
	// The HTTP server always runs: /healthz, /readyz and /metrics for every
	// replica, the /v1 read routes only where --views is on.
	srv := views.NewServer(log, metrics, authn)
	srv.ReadyWhen(runner.Ready)
	auditW, err := startAudit(kc, log, metrics, srv)
	if err != nil {
		return err
	}
	defer closeAudit(auditW)
	if sv.Views {
		if err := srv.MountModules(prefix, runner.Open, mods...); err != nil {
			return err
		}
	}
	if _, err := httpserve.RaiseFileLimit(); err != nil {
		log.Warn().Err(err).Msg("cannot raise the open-file limit; the HTTP connection bound follows the current one")
	}
	httpSrv := httpserve.New(srv.Handler(), ln, httpserve.Limits{})

	g, runCtx := errgroup.WithContext(ctx)
	g.Go(func() error { return runner.Run(runCtx) })
	g.Go(func() error {
		stream.MonitorLag(runCtx, env, runner.Processors())
		return nil
	})
	g.Go(func() error { return httpSrv.Run(runCtx) })
	if pln != nil {
		log.Warn().Str("addr", pln.Addr().String()).Msg("profiling handlers listening (" + pprofEnv + ")")
		g.Go(func() error { return servePprof(runCtx, pln) })
	}
	log.Info().Str("addr", "http://"+ln.Addr().String()).Bool("views", sv.Views).Int("max_conns", httpSrv.Limits().MaxConns).
		Msg("HTTP listening (/v1/..., /healthz, /readyz, /metrics)")
	if dev {
		var tokenLines []string
		if !sv.InsecureNoAuth {
			tokenLines = devTokenLines(devTokens)
		}
		printDevBanner(os.Stderr, sv.BrokerAddr, ln.Addr().String(), sv.DataDir, *demo, tokenLines)
		g.Go(func() error {
			reportProgress(runCtx, log, metrics, devProgressEvery)
			return nil
		})
	}
	if dev && *demo {
		first := func(tenant, traceID string) {
			g.Go(func() error {
				announceFirstTrace(runCtx, os.Stderr, log, devAccess{tokens: devTokens, insecure: sv.InsecureNoAuth}, ln.Addr().String(), tenant, traceID)
				return nil
			})
		}
		g.Go(func() error {
			if err := runDemo(runCtx, log, kc.BootstrapServers, *demoRate, first); err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Msg("demo traffic stopped")
			}
			return nil
		})
	}
	log.Info().Int("processors", len(groups)).Bool("views", sv.Views).Msg("aistream running; SIGINT or SIGTERM to stop")
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info().Msg("stopped cleanly")
	return nil
}

// prepareTopics applies (or only checks) every topic at start and returns
// the number of brokers.
func prepareTopics(log zerolog.Logger, brokers []string, sc *sarama.Config, groups []topology.Group, apply, dev bool) (int, error) {
	rep, err := reconcileTopics(brokers, sc, groups, apply)
	if err != nil {
		return 0, err
	}
	if dev {
		// dev's embedded broker is one broker: say so in one short line.
		for _, c := range rep.plan.Clamps {
			log.Warn().Msg(c.Short())
		}
	} else {
		for _, w := range rep.plan.Warnings {
			log.Warn().Msg(w)
		}
	}
	if len(rep.created) > 0 {
		log.Info().Strs("topics", rep.created).Msg("created topics")
	}
	for _, d := range rep.drifts {
		if d.Field == "missing" {
			return 0, fmt.Errorf("topic %s is missing: run \"aistream topics apply\" or start with --apply-topics", d.Topic)
		}
		log.Warn().Str("topic", d.Topic).Msg("topic drift: " + d.String())
	}
	return rep.brokers, nil
}

// startEmbedded starts the in-process broker with its log under dir, so
// topics, offsets and messages survive a restart.
func startEmbedded(addr, dir string) (*kfake.Cluster, error) {
	host, portStr, _ := net.SplitHostPort(addr)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, configError(fmt.Errorf("--broker-addr=%q: the port must be a number", addr))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create broker data directory: %w", err)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dir),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w (is another broker using the port? change --broker-addr)", addr, err)
	}
	return c, nil
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newLogger(rt config.Runtime) zerolog.Logger {
	level, err := zerolog.ParseLevel(rt.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	var log zerolog.Logger
	if rt.LogFormat == "json" {
		log = zerolog.New(os.Stderr)
	} else {
		// Colour codes only on a terminal: not in files, pipes or CI logs.
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(os.Stderr)})
	}
	return log.Level(level).With().Timestamp().Logger()
}

// longestTopicSuffix is the longest name aistream appends to the group
// prefix for an internal topic: the prefix plus it must be a legal topic name.
func longestTopicSuffix(mods []*stream.Module) (string, error) {
	groups, err := stream.Topics("", mods)
	if err != nil {
		return "", err
	}
	longest := ""
	for _, t := range topology.Internal(groups) {
		if len(t.Name) > len(longest) {
			longest = t.Name
		}
	}
	return longest, nil
}
