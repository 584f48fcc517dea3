package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkaprobe"
	"github.com/aistream/aistream/internal/replay"
	"github.com/aistream/aistream/internal/stream"
)

const replayUsage = `Usage: aistream replay --group <name> | --all <target> [--execute [--wait]]
       aistream replay --group <name> | --all --status [--wait]

Resets a processor group's committed offsets so that its replicas reprocess
its inputs. Without --execute it prints the plan and changes nothing. The
group must have no live members: stop its replicas first.

Targets (exactly one), as Kafka's kafka-consumer-groups spells them:
  --to-earliest                 the first offset each input partition still holds
  --to-datetime <RFC 3339>      the first record whose record timestamp (set by
                                the producer or broker, not the event's own
                                "timestamp") is at or after the time: Kafka's
                                ListOffsets by timestamp
  --by-duration <d>             the same for now minus d, e.g. 6h
  --to-offset <topic>:<partition>=<offset>[,...]
                                per partition; a group with state needs every
                                partition of every input

A group with state has its table dropped and rebuilt from the replayed input
(the table topic is recreated; each replica rebuilds its local copy at its
next start). Loop and repartition topics move to their end. Outputs are
re-emitted with the same ids. Every executed replay appends an audit event
to audit-events.

Flags:
`

// cmdReplay runs "replay".
func cmdReplay(args []string) error {
	fs := flag.NewFlagSet("aistream replay", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), replayUsage)
		fs.PrintDefaults()
	}
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "-", StateDir: "-"})
	mods := modules()
	names := strings.Join(stream.Names(mods), ", ")
	group := fs.String("group", "", "the processor group to replay, by short name: "+names)
	all := fs.Bool("all", false, "replay every processor group that has run on the cluster")
	earliest := fs.Bool("to-earliest", false, "target: the earliest offset of every input partition")
	datetime := fs.String("to-datetime", "", "target: the first record at or after this RFC 3339 time, by record timestamp")
	duration := fs.String("by-duration", "", "target: the first record at or after now minus this duration, by record timestamp")
	offsets := fs.String("to-offset", "", "target: <topic>:<partition>=<offset>[,...]")
	execute := fs.Bool("execute", false, "apply the plan (without it, only print it)")
	wait := fs.Bool("wait", false, "with --execute or --status: follow the group until its replicas have reprocessed everything (records, rate, ETA)")
	status := fs.Bool("status", false, "show how far the group is behind its end offsets instead of planning a replay")
	actor := fs.String("actor", "", "who replays, for the audit event (default: the OS user)")
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, _, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	// Every usage error comes before any cluster call.
	groups, err := replay.Groups(stream.Prefix(kc.ConsumerGroup), mods)
	if err != nil {
		return err
	}
	switch {
	case *all && *group != "":
		return configError(errors.New("--group and --all: give one"))
	case *all:
	case *group == "":
		return configError(fmt.Errorf("--group <name> or --all is required; the groups are %s", names))
	default:
		i := -1
		for j, g := range groups {
			if g.Name == *group {
				i = j
			}
		}
		if i < 0 {
			return configError(fmt.Errorf("--group=%q: unknown processor group; use one of %s", *group, names))
		}
		groups = groups[i : i+1]
	}
	var target replay.Target
	if *status {
		if *execute || *earliest || *datetime != "" || *duration != "" || *offsets != "" {
			return configError(errors.New("--status shows progress only: it takes no target and no --execute"))
		}
	} else if target, err = replay.ParseTarget(*earliest, *datetime, *duration, *offsets); err != nil {
		return configError(err)
	}
	if *wait && !*execute && !*status {
		return configError(errors.New("--wait follows an --execute or a --status"))
	}
	who, err := actorName(*actor)
	if err != nil {
		return configError(err)
	}

	ctx, stop := signalContext()
	defer stop()
	probeOpts, err := replay.ClientOptions(kc)
	if err != nil {
		return configError(err)
	}
	if err := kafkaprobe.Franz(ctx, kc, probeOpts); err != nil {
		return configError(err)
	}
	cl, adm, err := replay.Connect(kc)
	if err != nil {
		return err
	}
	defer cl.Close()
	follower := replay.Follower{Out: os.Stdout, Terminal: isTerminal(os.Stdout), Poll: time.Second, LogEvery: 10 * time.Second}
	again := "--group " + *group
	if *all {
		again = "--all"
	}

	if *status {
		spans, live, err := replay.Current(ctx, adm, groups)
		if err != nil {
			return err
		}
		if err := replay.PrintStatus(os.Stdout, spans, live); err != nil || !*wait {
			return err
		}
		return follow(ctx, follower, adm, spans)
	}

	plan, err := replay.Compute(ctx, adm, groups, target, time.Now(), *all)
	if err != nil {
		return err
	}
	if err := plan.Print(os.Stdout); err != nil {
		return err
	}
	if err := plan.Live(); err != nil {
		return err
	}
	if !*execute {
		fmt.Println("\ndry run: nothing changed; apply it with --execute")
		return nil
	}
	res, execErr := replay.Execute(ctx, adm, plan)
	var liveErr *replay.LiveError
	if errors.As(execErr, &liveErr) {
		return execErr // refused before any change
	}
	rec, err := plan.AuditRecord(who, res, execErr, time.Now())
	if err != nil {
		return errors.Join(execErr, err)
	}
	// The audit event is written even if ctx ended part way.
	actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	auditErr := cl.ProduceSync(actx, rec).FirstErr()
	if execErr != nil {
		return fmt.Errorf("replay failed part way (audit event %s): %w; do not start the replicas: fix the cause and run the same command again", plan.AuditEventID(), errors.Join(execErr, auditErr))
	}
	if auditErr != nil {
		return fmt.Errorf("replay applied, but its audit event %s could not be written to audit-events: %w", plan.AuditEventID(), auditErr)
	}
	fmt.Println()
	for _, t := range res.Tables {
		fmt.Printf("recreated table topic %s (topic id %s → %s)\n", t.Topic, orNone(t.OldID), orNone(t.NewID))
	}
	fmt.Printf("committed the target offsets of %d partitions; audit event %s appended to audit-events\n", res.Committed, plan.AuditEventID())
	if !*wait {
		fmt.Printf("next: start the replicas (aistream run); \"aistream replay %s --status --wait\" follows their progress\n", again)
		return nil
	}
	fmt.Println("start the replicas (aistream run); following their progress (Ctrl-C stops following, not the replay)")
	return follow(ctx, follower, adm, plan.Spans())
}

// follow follows spans to the end and prints the summary; an interrupt
// stops the following only.
func follow(ctx context.Context, f replay.Follower, adm *kadm.Client, spans []replay.Span) error {
	sum, err := f.Follow(ctx, adm, spans)
	if errors.Is(err, context.Canceled) {
		fmt.Println("\nstopped following; the replicas carry on")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Println("done: " + sum.String())
	return nil
}

// actorName is the audit event's actor: the flag, else the OS user.
func actorName(flagValue string) (string, error) {
	if s := strings.TrimSpace(flagValue); s != "" {
		return s, nil
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if s := os.Getenv("USER"); s != "" {
		return s, nil
	}
	return "", errors.New("--actor: the OS user is unknown; name who replays with --actor")
}

// isTerminal reports whether f is a terminal (a character device), where a
// progress bar is redrawn in place; elsewhere progress goes in log lines.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
