package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/internal/kafkaprobe"
	"github.com/aistream/aistream/topology"
)

// progressEvery is how often a long step prints where it is.
const progressEvery = 3 * time.Second

// planShown is how many dead letters of each kind the replay plan lists.
const planShown = 5

// cmdDeadLetters runs "dead-letters list|replay".
func cmdDeadLetters(args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return &exitError{code: 2, err: errors.New(`dead-letters needs a subcommand: list or replay`)}
	}
	verb := args[0]
	fs := flag.NewFlagSet("aistream dead-letters "+verb, flag.ContinueOnError)
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "-", StateDir: "-"})
	var reasons []string
	for _, r := range codecs.Reasons() {
		reasons = append(reasons, string(r.Reason))
	}
	reason := fs.String("reason", "", "only dead letters with this reason: "+strings.Join(reasons, ", "))
	sourceTopic := fs.String("source-topic", "", "only dead letters read from this topic, e.g. "+topology.FeedbackEvents)
	group := fs.String("group", "", "only dead letters this group rejected (the aistream-group header, e.g. aistream-context-graph)")
	since := fs.String("since", "", "only dead letters rejected at or after this RFC 3339 time (their record timestamp)")
	until := fs.String("until", "", "only dead letters rejected before this RFC 3339 time (their record timestamp)")
	limit := fs.Int("limit", deadletters.DefaultLimit, "select at most this many, the oldest first")
	format := new(string)
	execute := new(bool)
	actor := new(string)
	if verb == "list" {
		format = fs.String("format", "text", "text, or json: one object per line")
	} else {
		execute = fs.Bool("execute", false, "re-drive (without it, only print the plan)")
		actor = fs.String("actor", "", "who re-drives, for the audit event (default: the OS user)")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	kc, _, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	f, err := parseFilter(*reason, *sourceTopic, *group, *since, *until, *limit)
	if err != nil {
		return configError(err)
	}
	if verb == "list" && *format != "text" && *format != "json" {
		return configError(&config.Error{Setting: "--format", Value: *format, Want: "use text or json"})
	}
	if *actor = strings.TrimSpace(*actor); *execute && *actor == "" {
		if *actor = osUser(); *actor == "" {
			return configError(errors.New("--actor: the OS user is unknown; name who re-drives with --actor"))
		}
	}
	opts, err := deadletters.ClientOptions(kc)
	if err != nil {
		return configError(err)
	}

	ctx, stop := signalContext()
	defer stop()
	if err := kafkaprobe.Franz(ctx, kc, opts); err != nil {
		return configError(err)
	}
	sel, err := scan(ctx, opts, f)
	if err != nil {
		return err
	}
	if verb == "list" {
		return printList(os.Stdout, os.Stderr, sel, f, *format == "json")
	}
	plan := deadletters.NewPlan(sel.Records)
	printPlan(os.Stdout, sel, f, plan, *execute)
	if !*execute {
		return nil
	}
	return executeReplay(ctx, opts, f, plan, *actor)
}

// parseFilter checks the filter flags; each error names its flag.
func parseFilter(reason, sourceTopic, group, since, until string, limit int) (deadletters.Filter, error) {
	f := deadletters.Filter{SourceTopic: strings.TrimSpace(sourceTopic), Group: strings.TrimSpace(group), Limit: limit}
	if reason = strings.TrimSpace(reason); reason != "" {
		r, err := deadletters.ParseReason(reason)
		if err != nil {
			return f, err
		}
		f.Reason = r
	}
	for _, t := range []struct {
		flag, value string
		into        *time.Time
	}{{"--since", since, &f.Since}, {"--until", until, &f.Until}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, strings.TrimSpace(t.value))
		if err != nil {
			return f, &config.Error{Setting: t.flag, Value: t.value, Want: "an RFC 3339 time, e.g. 2025-03-15T10:00:00Z (compared with the dead letter's record timestamp)"}
		}
		*t.into = v
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, &config.Error{Setting: "--since and --until", Want: "--since must be before --until"}
	}
	if limit < 1 {
		return f, &config.Error{Setting: "--limit", Value: fmt.Sprint(limit), Want: "a count of at least 1"}
	}
	return f, nil
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// scan reads the dead-letter topic with progress lines on stderr.
func scan(ctx context.Context, opts []kgo.Opt, f deadletters.Filter) (deadletters.Selection, error) {
	var p deadletters.Progress
	done := progressLines(os.Stderr, "read", "dead letters", &p)
	sel, err := deadletters.Scan(ctx, opts, f, &p)
	done()
	return sel, err
}

// progressLines prints what p counts to w every progressEvery until the
// returned function is called.
func progressLines(w io.Writer, verb, what string, p *deadletters.Progress) func() {
	start := time.Now()
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				done, total := p.Counts()
				fmt.Fprintf(w, "dead-letters: %s %d/%d %s (%.0f/s)\n", verb, done, total, what, float64(done)/time.Since(start).Seconds())
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}

// listed is a dead letter as "list --format json" prints it.
type listed struct {
	Time            time.Time `json:"time"`
	Partition       int32     `json:"partition"`
	Offset          int64     `json:"offset"`
	SourceTopic     string    `json:"source_topic"`
	SourcePartition int32     `json:"source_partition"`
	SourceOffset    int64     `json:"source_offset"`
	Group           string    `json:"group"`
	Reason          string    `json:"reason"`
	Error           string    `json:"error"`
	// Key is null for a null key; Key and Value are escaped like the text
	// output (deadletters.Excerpt).
	Key        *string `json:"key"`
	Value      *string `json:"value"`
	ValueBytes int     `json:"value_bytes"`
	// ValueCut says Value is only the first deadletters.ExcerptBytes.
	ValueCut bool `json:"value_cut"`
	// TruncatedFrom is the original size when the dead letter keeps only
	// the head of the message.
	TruncatedFrom int `json:"truncated_from,omitempty"`
}

func printList(out, info io.Writer, sel deadletters.Selection, f deadletters.Filter, asJSON bool) error {
	for _, d := range sel.Records {
		if asJSON {
			l := listed{
				Time: d.Time, Partition: d.Partition, Offset: d.Offset,
				SourceTopic: d.SourceTopic, SourcePartition: d.SourcePartition, SourceOffset: d.SourceOffset,
				Group: d.Group, Reason: d.Reason, Error: d.Error, ValueBytes: len(d.Value), TruncatedFrom: d.TruncatedFrom,
			}
			if d.Key != nil {
				k, _ := deadletters.Excerpt(d.Key, len(d.Key))
				l.Key = &k
			}
			if d.Value != nil {
				v, shown := deadletters.Excerpt(d.Value, deadletters.ExcerptBytes)
				l.Value, l.ValueCut = &v, shown < len(d.Value)
			}
			b, err := codecs.Marshal(l)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s\n", b)
			continue
		}
		fmt.Fprintf(out, "%s  %s\n", d.Time.Format(time.RFC3339Nano), d.ID())
		fmt.Fprintf(out, "  reason  %s\n", d.Reason)
		fmt.Fprintf(out, "  error   %s\n", oneLine(d.Error))
		fmt.Fprintf(out, "  source  %s  group %s\n", source(d), d.Group)
		fmt.Fprintf(out, "  key     %s\n", deadletters.Describe(d.Key, deadletters.ExcerptBytes))
		fmt.Fprintf(out, "  value   %s\n", deadletters.Describe(d.Value, deadletters.ExcerptBytes))
		if d.Truncated() {
			fmt.Fprintf(out, "  cut     the dead letter keeps the first %d of %d bytes (aistream-truncated-from)\n", len(d.Value), d.TruncatedFrom)
		}
	}
	summary := out
	if asJSON {
		summary = info // stdout stays one JSON object per line
	}
	fmt.Fprintln(summary, matched(sel, f))
	return nil
}

// matched says how many dead letters the selection holds of how many.
func matched(sel deadletters.Selection, f deadletters.Filter) string {
	s := fmt.Sprintf("%d of the %d dead letters read match the filter (%s)", sel.Matched, sel.Read, f)
	if sel.Matched > len(sel.Records) {
		s += fmt.Sprintf("; the %d oldest selected (narrow the filter, or raise --limit)", len(sel.Records))
	}
	return s
}

func source(d deadletters.DeadLetter) string {
	s := d.SourceTopic
	if s == "" {
		s = "(unknown)"
	}
	if d.SourcePartition >= 0 && d.SourceOffset >= 0 {
		s += fmt.Sprintf("/%d/%d", d.SourcePartition, d.SourceOffset)
	}
	return s
}

// oneLine escapes an error header for one line of output.
func oneLine(s string) string {
	t, _ := deadletters.Excerpt([]byte(s), len(s))
	return t
}

func printPlan(w io.Writer, sel deadletters.Selection, f deadletters.Filter, p deadletters.Plan, execute bool) {
	if !execute {
		fmt.Fprintln(w, "dry run: nothing is produced (add --execute to re-drive)")
	}
	fmt.Fprintln(w, matched(sel, f))
	fmt.Fprintf(w, "%d to re-drive to their source topic; skipped: %d duplicate messages of those; refused: %d (%d truncated, %d tombstones, %d without a source topic)\n",
		len(p.Redrive), len(p.Duplicates), len(p.Truncated)+len(p.Tombstones)+len(p.NoSource), len(p.Truncated), len(p.Tombstones), len(p.NoSource))
	if len(p.Redrive) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE TOPIC\tREASON\tRECORDS")
		for _, c := range p.Counts() {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", c.SourceTopic, c.Reason, c.Records)
		}
		_ = tw.Flush()
		fmt.Fprintf(w, "first %d to re-drive:\n", min(planShown, len(p.Redrive)))
		for _, d := range p.Redrive[:min(planShown, len(p.Redrive))] {
			fmt.Fprintf(w, "  %s -> %s  key %s  %d bytes  %s\n", d.ID(), d.SourceTopic, deadletters.Describe(d.Key, 64), len(d.Value), d.Reason)
		}
	}
	refused := func(what, why string, ds []deadletters.DeadLetter) {
		if len(ds) == 0 {
			return
		}
		fmt.Fprintf(w, "refused %d %s: %s\n", len(ds), what, why)
		for _, d := range ds[:min(planShown, len(ds))] {
			fmt.Fprintf(w, "  %s (from %s, %s)\n", d.ID(), source(d), d.Reason)
		}
	}
	refused("truncated", "the dead letter keeps only the head of the message (aistream-truncated-from), so its bytes are not what was rejected; the whole message may still be on its source topic at the offset shown", p.Truncated)
	refused("tombstones", "a record without a value is no event and would be rejected again", p.Tombstones)
	refused("without a source topic", "aistream-source-topic is missing or names the dead-letter topic", p.NoSource)
}

// executeReplay re-drives the plan and appends its audit event, also when
// the re-drive failed or was interrupted.
func executeReplay(ctx context.Context, opts []kgo.Opt, f deadletters.Filter, p deadletters.Plan, actor string) error {
	// The audit event must not be refused after the re-drive.
	if _, _, err := deadletters.AuditRecord(f, p, actor, deadletters.Result{}, time.Now()); err != nil {
		return configError(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	defer cl.Close()
	start := time.Now()
	var prog deadletters.Progress
	done := progressLines(os.Stderr, "re-drove", "dead letters", &prog)
	res := deadletters.Redrive(ctx, cl, p.Redrive, start, &prog)
	done()
	took := time.Since(start).Seconds()
	fmt.Printf("re-drove %d dead letters in %.1fs (%.0f/s), %d failed\n", res.Redriven, took, float64(res.Redriven)/took, res.Failed)

	rec, id, err := deadletters.AuditRecord(f, p, actor, res, time.Now())
	if err != nil {
		return err
	}
	// The audit event is written even when ctx ended: an interrupted
	// re-drive is an operation with an outcome too.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadletters.StallTimeout)
	defer cancel()
	if err := cl.ProduceSync(actx, rec).FirstErr(); err != nil {
		return fmt.Errorf("the re-drive is done but its audit event was not written to %s: %w (running the same command again re-drives the same records, which changes nothing downstream, and writes it)", topology.AuditEvents, err)
	}
	fmt.Printf("audit event %s written to %s\n", id, topology.AuditEvents)
	if res.Err != nil {
		return fmt.Errorf("%d of %d re-drives failed, the first with: %w (running the same command again is safe: processors deduplicate by event_id)", res.Failed, len(p.Redrive), res.Err)
	}
	return nil
}
