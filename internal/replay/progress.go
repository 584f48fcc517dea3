package replay

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Span is one partition a group has to commit up to.
type Span struct {
	Group     string
	Topic     string
	Partition int32
	From, To  int64
	// Internal (loop, repartition) partitions are written while the inputs
	// are processed: they count as done once committed up to their end at
	// the time the group's inputs are done, and not in the records.
	Internal bool
}

// Spans are the plan's partitions after Execute: from each target to the
// end the plan saw.
func (p *Plan) Spans() []Span {
	var out []Span
	for _, g := range p.Groups {
		for _, pp := range g.Partitions {
			if pp.Kept {
				continue
			}
			out = append(out, Span{Group: g.Group.Group, Topic: pp.Topic, Partition: pp.Partition, From: pp.Target, To: pp.End, Internal: pp.Internal})
		}
	}
	return out
}

// Current returns every group's spans from its committed offsets to the
// ends now, with its live members: what "--status" shows. A group that
// does not exist is ErrNoGroup.
func Current(ctx context.Context, adm *kadm.Client, groups []Group) ([]Span, map[string][]Member, error) {
	live, err := describe(ctx, adm, groups)
	if err != nil {
		return nil, nil, err
	}
	var spans []Span
	for _, g := range groups {
		if _, ok := live[g.Group]; !ok {
			return nil, nil, noGroup(g)
		}
		topics := append(slices.Clone(g.Inputs), g.Internal...)
		ends, err := listed(adm.ListEndOffsets(ctx, topics...))
		if err != nil {
			return nil, nil, fmt.Errorf("end offsets: %w", err)
		}
		committed, err := adm.FetchOffsets(ctx, g.Group)
		if err != nil {
			return nil, nil, fmt.Errorf("committed offsets of group %s: %w", g.Group, err)
		}
		for _, tp := range topics {
			for _, p := range slices.Sorted(maps.Keys(ends[tp])) {
				end := ends[tp][p].Offset
				from := int64(0)
				if c, ok := committed.Lookup(tp, p); ok && c.Err == nil && c.At >= 0 {
					from = min(c.At, end)
				}
				spans = append(spans, Span{Group: g.Group, Topic: tp, Partition: p, From: from, To: end, Internal: slices.Contains(g.Internal, tp)})
			}
		}
	}
	return spans, live, nil
}

// PrintStatus writes how far behind each group is: the records of its
// inputs between its committed offsets and the ends, and its live members.
func PrintStatus(w io.Writer, spans []Span, live map[string][]Member) error {
	behind := map[string]int64{}
	var order []string
	for _, s := range spans {
		if _, ok := behind[s.Group]; !ok {
			order = append(order, s.Group)
		}
		if !s.Internal {
			behind[s.Group] += s.To - s.From
		}
	}
	for _, g := range order {
		state := "caught up"
		if behind[g] > 0 {
			state = thousands(behind[g]) + " records of its inputs behind the end offsets"
		}
		if _, err := fmt.Fprintf(w, "%s: %s, %d live member(s)\n", g, state, len(live[g])); err != nil {
			return err
		}
	}
	return nil
}

// Progress is how far the groups are.
type Progress struct {
	Done, Total int64
	// Rate is records/s over the last rateWindow; 0 before any progress.
	Rate float64
	// ETA is 0 when unknown (no rate yet).
	ETA  time.Duration
	Live int // live members of the groups
	// Finished: every partition, loop and repartition topics included, is
	// committed.
	Finished bool
}

// rateWindow is what the rate and ETA average over.
const rateWindow = 10 * time.Second

// Bar renders p as one terminal line of the given bar width.
func (p Progress) Bar(width int) string {
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	n := int(frac * float64(width))
	return fmt.Sprintf("[%s%s] %3.0f%% %s", strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, p.Line())
}

// Line renders p for a log line.
func (p Progress) Line() string {
	eta := "ETA unknown"
	if p.ETA > 0 {
		eta = "ETA " + p.ETA.Round(time.Second).String()
	}
	switch {
	case p.Finished:
		eta = "done"
	case p.Live == 0 && p.Done < p.Total:
		eta = "waiting for replicas to start"
	case p.Done == p.Total:
		eta = "inputs done, finishing the loop and repartition topics"
	}
	return fmt.Sprintf("%s/%s records, %s records/s, %s, %d live member(s)", thousands(p.Done), thousands(p.Total), thousands(int64(p.Rate)), eta, p.Live)
}

// Summary is a finished follow.
type Summary struct {
	Records int64
	// Measured records were reprocessed during Elapsed, which starts at the
	// last poll without progress (the replicas may start after the replay)
	// or, when they already worked, at the first poll.
	Measured int64
	Elapsed  time.Duration
}

// Rate is the records reprocessed per second, 0 when not measured.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Measured) / s.Elapsed.Seconds()
}

func (s Summary) String() string {
	if s.Elapsed <= 0 {
		return thousands(s.Records) + " records reprocessed (too fast to measure a rate)"
	}
	return fmt.Sprintf("%s records reprocessed, %s of them in %s (%s records/s)", thousands(s.Records), thousands(s.Measured), s.Elapsed.Round(100*time.Millisecond), thousands(int64(s.Rate())))
}

// Follower follows groups until they have committed their spans.
type Follower struct {
	Out io.Writer
	// Terminal draws a progress bar redrawn in place; otherwise a line every
	// LogEvery.
	Terminal bool
	Poll     time.Duration
	LogEvery time.Duration
}

// Follow polls the groups' committed offsets until every span is done or
// ctx ends, reporting progress on f.Out, and returns the summary.
func (f Follower) Follow(ctx context.Context, adm *kadm.Client, spans []Span) (Summary, error) {
	var total int64
	groups := map[string]bool{}
	for _, s := range spans {
		groups[s.Group] = true
		if !s.Internal {
			total += s.To - s.From
		}
	}
	type sample struct {
		at   time.Time
		done int64
	}
	var samples []sample
	var base *sample // where the measured rate starts
	lastLog := time.Time{}
	for {
		done, allDone, err := f.poll(ctx, adm, spans, groups)
		if err != nil {
			return Summary{}, err
		}
		now := time.Now()
		if base == nil || base.done == 0 && done == 0 {
			base = &sample{now, done}
		}
		samples = append(samples, sample{now, done})
		for len(samples) > 1 && now.Sub(samples[0].at) > rateWindow {
			samples = samples[1:]
		}
		p := Progress{Done: done, Total: total}
		if d := now.Sub(samples[0].at).Seconds(); d > 0 {
			p.Rate = float64(done-samples[0].done) / d
		}
		if p.Rate > 0 {
			p.ETA = time.Duration(float64(total-done) / p.Rate * float64(time.Second))
		}
		finished := allDone
		p.Finished = finished
		if p.Live, err = liveMembers(ctx, adm, groups); err != nil {
			return Summary{}, err
		}
		switch {
		case f.Terminal:
			fmt.Fprintf(f.Out, "\r%s\x1b[K", p.Bar(30))
			if finished {
				fmt.Fprintln(f.Out)
			}
		case finished || now.Sub(lastLog) >= f.LogEvery:
			lastLog = now
			fmt.Fprintf(f.Out, "%s replay progress: %s\n", now.UTC().Format(time.RFC3339), p.Line())
		}
		if finished {
			return Summary{Records: total, Measured: done - base.done, Elapsed: now.Sub(base.at)}, nil
		}
		select {
		case <-ctx.Done():
			return Summary{}, ctx.Err()
		case <-time.After(f.Poll):
		}
	}
}

// poll returns the records done over the input spans and whether every
// span, internal ones included, is committed.
func (f Follower) poll(ctx context.Context, adm *kadm.Client, spans []Span, groups map[string]bool) (int64, bool, error) {
	committed := map[string]kadm.OffsetResponses{}
	for g := range groups {
		c, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			return 0, false, fmt.Errorf("committed offsets of group %s: %w", g, err)
		}
		committed[g] = c
	}
	at := func(s Span) int64 {
		if c, ok := committed[s.Group].Lookup(s.Topic, s.Partition); ok && c.Err == nil && c.At >= 0 {
			return c.At
		}
		return s.From
	}
	var done int64
	inputsDone := true
	var internal []string
	for _, s := range spans {
		if s.Internal {
			if !slices.Contains(internal, s.Topic) {
				internal = append(internal, s.Topic)
			}
			continue
		}
		done += min(max(at(s)-s.From, 0), s.To-s.From)
		inputsDone = inputsDone && at(s) >= s.To
	}
	if !inputsDone || len(internal) == 0 {
		return done, inputsDone, nil
	}
	ends, err := listed(adm.ListEndOffsets(ctx, internal...))
	if err != nil {
		return 0, false, fmt.Errorf("end offsets: %w", err)
	}
	for _, s := range spans {
		if s.Internal && at(s) < ends[s.Topic][s.Partition].Offset {
			return done, false, nil
		}
	}
	return done, true, nil
}

func liveMembers(ctx context.Context, adm *kadm.Client, groups map[string]bool) (int, error) {
	described, err := adm.DescribeGroups(ctx, slices.Collect(maps.Keys(groups))...)
	if err != nil {
		return 0, fmt.Errorf("describe groups: %w", err)
	}
	n := 0
	for _, d := range described {
		n += len(d.Members)
	}
	return n, nil
}

// thousands writes n with thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
