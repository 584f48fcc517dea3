package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/bench"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/stream"
)

// cmdBench runs the pipeline benchmark against the cluster in KAFKA_*
// (internal/bench): per processor group events/s, CPU µs per event, the
// ratio to a plain franz-go client on the same records, allocations and
// peak RSS; hot keys; produce-to-output latency.
func cmdBench(args []string) error {
	fs := flag.NewFlagSet("aistream bench", flag.ContinueOnError)
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "-", StateDir: "-"})
	// The cluster's flags, which the scale phase's replicas get too.
	clusterFlag := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { clusterFlag[f.Name] = true })
	events := fs.Int("events", 40000, "events of the throughput mix (realistic traffic on every input topic)")
	hot := fs.String("hot", strings.Join(bench.HotKinds, ","), "hot-key phases: comma-separated of "+strings.Join(bench.HotKinds, ", ")+", or none")
	hotEvents := fs.Int("hot-events", 0, "events of each hot-key phase's mix (only the hot kind's events are kept; 0: as many as --events, so each group's hot phase has as many events as its spread phase)")
	rate := fs.Int("rate", 10000, "events per second produced in the latency phase")
	latEvents := fs.Int("latency-events", 30000, "events of the latency phase (0: no latency phase)")
	timeout := fs.Duration("timeout", 10*time.Minute, "time limit of the whole run: it fails with what was missing when it passes")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the throughput phase's measured spans to this file")
	latCPUProfile := fs.String("latency-cpuprofile", "", "write a CPU profile of the latency phase's measured span (every group together at --rate) to this file")
	floor := fs.Bool("floor", true, "after the throughput phase, the floor phase: on the context graph's input records (the first group's without it), the plain client, a goka group that only emits each record (built like aistream's groups), the same storing a 64-byte value per record, and a plain sarama consumer group and producer, each alone; prints the best ratio to the plain client a goka group reaches (a few seconds)")
	floorCPUProfile := fs.String("floor-cpuprofile", "", "write a CPU profile of the measured span of the floor phase's goka emit group to this file")
	floorTableCPUProfile := fs.String("floor-table-cpuprofile", "", "write a CPU profile of the measured span of the floor phase's goka emit+table group to this file")
	processors := fs.String("processors", "all", "groups to benchmark: all or a comma-separated list of their short names (as \"aistream run --processors\")")
	replicas := fs.String("replicas", "1,2,3", "scale phase: comma-separated replica counts (1 to 16), each run as that many \"aistream run\" processes of this binary, or none")
	restore := fs.Bool("restore", true, "after the scale phase, measure how fast each table of its first run is restored from its changelog")
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, rt, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	if *events < 100 || *events > 10_000_000 {
		return configError(fmt.Errorf("--events=%d is not valid: use 100 to 10000000", *events))
	}
	if *hotEvents != 0 && (*hotEvents < 100 || *hotEvents > 10_000_000) {
		return configError(fmt.Errorf("--hot-events=%d is not valid: use 0 (as many as --events) or 100 to 10000000", *hotEvents))
	}
	if *rate < 1 || *rate > 1_000_000 {
		return configError(fmt.Errorf("--rate=%d is not valid: use 1 to 1000000 events per second", *rate))
	}
	if *latEvents < 0 || *latEvents > 10_000_000 {
		return configError(fmt.Errorf("--latency-events=%d is not valid: use 0 to 10000000", *latEvents))
	}
	if *timeout < time.Second || *timeout > 24*time.Hour {
		return configError(fmt.Errorf("--timeout=%s is not valid: use 1s to 24h", *timeout))
	}
	var kinds []string
	if h := strings.TrimSpace(*hot); h != "" && h != "none" {
		for _, k := range strings.Split(h, ",") {
			k = strings.TrimSpace(k)
			if !slices.Contains(bench.HotKinds, k) {
				return configError(fmt.Errorf("--hot=%q: unknown kind %q; use none or a comma-separated list of %s", *hot, k, strings.Join(bench.HotKinds, ", ")))
			}
			kinds = append(kinds, k)
		}
	}
	var counts []int
	if r := strings.TrimSpace(*replicas); r != "" && r != "none" {
		for _, f := range strings.Split(r, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 16 {
				return configError(fmt.Errorf("--replicas=%q: %q is not a replica count; use none or a comma-separated list of 1 to 16", *replicas, f))
			}
			counts = append(counts, n)
		}
	}
	var exe string
	var cluster []string
	if len(counts) > 0 {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("--replicas: this binary's path, to start replicas of it: %w (or use --replicas none)", err)
		}
		// The replicas get the cluster settings given here (the environment
		// they inherit: KAFKA_*, the password among them).
		fs.Visit(func(f *flag.Flag) {
			if clusterFlag[f.Name] {
				cluster = append(cluster, "--"+f.Name+"="+f.Value.String())
			}
		})
	}
	mods := bindModules(flag.NewFlagSet("modules", flag.ContinueOnError))
	if err := validateModules(mods); err != nil {
		return configError(err)
	}
	all := mods
	if mods, err = onlyGroups(mods, *processors); err != nil {
		return configError(err)
	}
	sc, err := kc.Sarama()
	if err != nil {
		return configError(err)
	}
	franz, err := kc.Franz()
	if err != nil {
		return configError(err)
	}
	log := newLogger(rt)
	if rt.LogLevel == "" || rt.LogLevel == "info" {
		log = log.Level(zerolog.WarnLevel)
	}
	ctx, stop := signalContext()
	defer stop()
	_, err = bench.Run(ctx, bench.Config{
		Franz: franz, Brokers: kc.BootstrapServers, Sarama: sc,
		Events: *events, Hot: kinds, HotEvents: *hotEvents, Rate: *rate, LatencyEvents: *latEvents,
		Replicas: counts, Binary: exe, ClusterFlags: cluster, Restore: *restore,
		Timeout: *timeout, CPUProfile: *cpuprofile, LatencyCPUProfile: *latCPUProfile, Floor: *floor, FloorCPUProfile: *floorCPUProfile, FloorTableCPUProfile: *floorTableCPUProfile,
		Decoder:      codecs.Decoder{MaxBytes: rt.MaxMessageBytes},
		TopicModules: all, ChangelogFlush: rt.ChangelogFlushInterval, Log: log, Out: os.Stdout,
	}, mods)
	return err
}

// onlyGroups is mods with only the groups list names (as --processors).
func onlyGroups(mods []*stream.Module, list string) ([]*stream.Module, error) {
	keep, err := selectGroups(mods, list)
	if err != nil {
		return nil, err
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("--processors=%q leaves nothing to benchmark", list)
	}
	var out []*stream.Module
	for _, m := range mods {
		c := *m
		c.Groups = slices.DeleteFunc(slices.Clone(m.Groups), func(g stream.Group) bool {
			return !slices.ContainsFunc(keep, func(k stream.Group) bool { return k.Name == g.Name })
		})
		if len(c.Groups) > 0 {
			out = append(out, &c)
		}
	}
	return out, nil
}
