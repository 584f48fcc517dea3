package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Plan is what a replay does, computed against the cluster; nothing is
// changed until Execute.
type Plan struct {
	Target Target
	// At is when the plan was computed (ByDuration counts back from it).
	At     time.Time
	Groups []GroupPlan
	// Skipped are groups of --all that never ran on this cluster.
	Skipped []string
}

// GroupPlan is one group's part of a plan.
type GroupPlan struct {
	Group
	Partitions []Partition
	// Live are the group's members when the plan was computed.
	Live []Member
}

// Partition is one partition's move.
type Partition struct {
	Topic     string
	Partition int32
	// Internal partitions (loop, repartition) move to their end.
	Internal bool
	// Kept partitions are not moved (a --to-offset naming other partitions).
	Kept bool
	// Committed is the group's committed offset, -1 when it has none.
	Committed  int64
	Target     int64
	Start, End int64
}

// Reprocess is the number of records the group reads again (or for the
// first time) from this partition.
func (p Partition) Reprocess() int64 {
	if p.Internal || p.Kept {
		return 0
	}
	return p.End - p.Target
}

// Skipped is the number of records a move forward leaves unprocessed.
func (p Partition) Skipped() int64 {
	if p.Internal || p.Kept || p.Committed < 0 {
		return 0
	}
	return max(p.Target-p.Committed, 0)
}

// Member is a live member of a group.
type Member struct {
	ID, ClientID, Host string
}

func (m Member) String() string {
	return fmt.Sprintf("member %s (client id %s, host %s)", m.ID, m.ClientID, m.Host)
}

// Records is the number of records the plan reprocesses.
func (p *Plan) Records() int64 {
	var n int64
	for _, g := range p.Groups {
		n += g.Records()
	}
	return n
}

// Records is the number of records the group reprocesses.
func (g GroupPlan) Records() int64 {
	var n int64
	for _, pp := range g.Partitions {
		n += pp.Reprocess()
	}
	return n
}

// ErrNoGroup is returned for a group that does not exist on the cluster.
var ErrNoGroup = errors.New("no such consumer group")

// LiveError refuses a replay of groups with live members.
type LiveError struct {
	Groups map[string][]Member
}

func (e *LiveError) Error() string {
	var parts []string
	for _, g := range slices.Sorted(maps.Keys(e.Groups)) {
		ms := e.Groups[g]
		var names []string
		for _, m := range ms {
			names = append(names, m.String())
		}
		parts = append(parts, fmt.Sprintf("group %s has %d live member(s): %s", g, len(ms), strings.Join(names, "; ")))
	}
	return strings.Join(parts, "; ") + "; stop every replica of the group first (a running replica commits its own offsets over the reset and keeps its old state), then run the replay again"
}

// Live returns a *LiveError when a group of the plan has live members.
func (p *Plan) Live() error {
	live := map[string][]Member{}
	for _, g := range p.Groups {
		if len(g.Live) > 0 {
			live[g.Group.Group] = g.Live
		}
	}
	if len(live) == 0 {
		return nil
	}
	return &LiveError{Groups: live}
}

// Compute plans the replay of groups to t. A group that does not exist is
// an error (ErrNoGroup) unless all is set, which skips it; all fails only
// when none exists.
func Compute(ctx context.Context, adm *kadm.Client, groups []Group, t Target, now time.Time, all bool) (*Plan, error) {
	p := &Plan{Target: t, At: now}
	live, err := describe(ctx, adm, groups)
	if err != nil {
		return nil, err
	}
	var topics []string
	for _, g := range groups {
		members, exists := live[g.Group]
		if !exists {
			if !all {
				return nil, noGroup(g)
			}
			p.Skipped = append(p.Skipped, g.Group)
			continue
		}
		p.Groups = append(p.Groups, GroupPlan{Group: g, Live: members})
		for _, tp := range append(slices.Clone(g.Inputs), g.Internal...) {
			if !slices.Contains(topics, tp) {
				topics = append(topics, tp)
			}
		}
	}
	if len(p.Groups) == 0 {
		return nil, fmt.Errorf("%w: none of %s has run on this cluster; check KAFKA_CONSUMER_GROUP", ErrNoGroup, strings.Join(p.Skipped, ", "))
	}
	if t.Kind == ToOffset {
		if err := checkOffsetTopics(p, t); err != nil {
			return nil, err
		}
	}
	starts, err := listed(adm.ListStartOffsets(ctx, topics...))
	if err != nil {
		return nil, fmt.Errorf("start offsets: %w", err)
	}
	ends, err := listed(adm.ListEndOffsets(ctx, topics...))
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	switch t.Kind {
	case ToDatetime:
		byTime, err = listed(adm.ListOffsetsAfterMilli(ctx, t.At.UnixMilli(), topics...))
	case ByDuration:
		byTime, err = listed(adm.ListOffsetsAfterMilli(ctx, now.Add(-t.Ago).UnixMilli(), topics...))
	}
	if err != nil {
		return nil, fmt.Errorf("offsets by timestamp: %w", err)
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		committed, err := adm.FetchOffsets(ctx, g.Group.Group)
		if err != nil {
			return nil, fmt.Errorf("committed offsets of group %s: %w", g.Group.Group, err)
		}
		for _, tp := range append(slices.Clone(g.Inputs), g.Internal...) {
			internal := slices.Contains(g.Internal, tp)
			ps := ends[tp]
			for _, part := range slices.Sorted(maps.Keys(ps)) {
				pp := Partition{Topic: tp, Partition: part, Internal: internal, Committed: -1,
					Start: starts[tp][part].Offset, End: ps[part].Offset}
				if c, ok := committed.Lookup(tp, part); ok && c.Err == nil && c.At >= 0 {
					pp.Committed = c.At
				}
				if err := target(&pp, t, byTime, g.Table != nil); err != nil {
					return nil, fmt.Errorf("group %s: %w", g.Group.Group, err)
				}
				g.Partitions = append(g.Partitions, pp)
			}
		}
	}
	return p, nil
}

// target sets pp's target offset.
func target(pp *Partition, t Target, byTime kadm.ListedOffsets, stateful bool) error {
	switch {
	case pp.Internal:
		pp.Target = pp.End
		return nil
	case t.Kind == ToEarliest:
		pp.Target = pp.Start
	case t.Kind == ToDatetime || t.Kind == ByDuration:
		// No record at or after the time: the end (ListOffsetsAfterMilli's
		// fallback); a time before the log start: the start.
		o, ok := byTime[pp.Topic][pp.Partition]
		pp.Target = pp.End
		if ok && o.Offset >= 0 {
			pp.Target = min(max(o.Offset, pp.Start), pp.End)
		}
	case t.Kind == ToOffset:
		o, named := t.Offsets[pp.Topic][pp.Partition]
		switch {
		case !named && stateful:
			return fmt.Errorf("--to-offset names no offset for %s:%d: the table of a group with state is dropped whole, so give every partition of every input of the group an offset (or use --to-earliest, --to-datetime or --by-duration)", pp.Topic, pp.Partition)
		case !named:
			pp.Kept, pp.Target = true, pp.Committed
		case o < pp.Start || o > pp.End:
			return fmt.Errorf("--to-offset %s:%d=%d is outside the partition's offsets %d to %d", pp.Topic, pp.Partition, o, pp.Start, pp.End)
		default:
			pp.Target = o
		}
	}
	return nil
}

// checkOffsetTopics rejects --to-offset topics and partitions the plan's
// groups do not consume from the target (inputs of the contract only).
func checkOffsetTopics(p *Plan, t Target) error {
	var inputs []string
	for _, g := range p.Groups {
		inputs = append(inputs, g.Inputs...)
	}
	for topic := range t.Offsets {
		if !slices.Contains(inputs, topic) {
			slices.Sort(inputs)
			return fmt.Errorf("--to-offset names topic %s, which the group does not consume from the target; use one of %s (loop and repartition topics always move to their end)", topic, strings.Join(slices.Compact(inputs), ", "))
		}
	}
	return nil
}

func noGroup(g Group) error {
	return fmt.Errorf("%w: %s (%s) never ran on this cluster with KAFKA_CONSUMER_GROUP=%s, or its committed offsets expired; check the prefix, or start the group once with \"aistream run\"",
		ErrNoGroup, g.Group, g.Name, strings.TrimSuffix(g.Group, "-"+g.Name))
}

// describe returns the live members of every group that exists.
func describe(ctx context.Context, adm *kadm.Client, groups []Group) (map[string][]Member, error) {
	var names []string
	for _, g := range groups {
		names = append(names, g.Group)
	}
	described, err := adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describe groups %v: %w", names, err)
	}
	out := map[string][]Member{}
	for _, name := range names {
		d, ok := described[name]
		if !ok || errors.Is(d.Err, kerr.GroupIDNotFound) || (d.Err == nil && d.State == "Dead") {
			continue
		}
		if d.Err != nil {
			return nil, fmt.Errorf("describe group %s: %w", name, d.Err)
		}
		members := []Member{}
		for _, m := range d.Members {
			members = append(members, Member{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost})
		}
		out[name] = members
	}
	return out, nil
}

// listed returns l, or its first error; a topic that does not exist is an
// error saying what to do.
func listed(l kadm.ListedOffsets, err error) (kadm.ListedOffsets, error) {
	if err != nil {
		return nil, err
	}
	for topic, ps := range l {
		for _, o := range ps {
			if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("topic %s does not exist: run \"aistream topics apply\"", topic)
			}
			if o.Err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", topic, o.Partition, o.Err)
			}
		}
	}
	return l, nil
}

// Print writes the plan: a table of every partition's move, then what
// happens to each group's state and outputs.
func (p *Plan) Print(w io.Writer) error {
	fmt.Fprintf(w, "replay %s, planned %s\n\n", p.Target, p.At.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCOMMITTED → TARGET\tREPROCESS")
	for _, g := range p.Groups {
		for _, pp := range g.Partitions {
			committed := "none"
			if pp.Committed >= 0 {
				committed = fmt.Sprint(pp.Committed)
			}
			move := fmt.Sprintf("%s → %d", committed, pp.Target)
			reprocess := fmt.Sprint(pp.Reprocess())
			switch {
			case pp.Internal:
				move += " (end)"
				reprocess = "-"
			case pp.Kept:
				move = committed + " (kept)"
				reprocess = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", g.Group.Group, pp.Topic, pp.Partition, move, reprocess)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, g := range p.Groups {
		fmt.Fprintf(w, "\n%s (%s): %d records to reprocess\n", g.Group.Group, g.Name, g.Records())
		if g.Table != nil {
			rebuilt := "from the replayed input"
			if p.Target.Kind != ToEarliest {
				rebuilt = "from the replayed input only (what came before the target is not in the rebuilt state)"
			}
			fmt.Fprintf(w, "  state:    dropped and rebuilt %s: table topic %s deleted and recreated (%d partitions, %s); every replica drops its local copy at its next start; restart processes that serve views (\"run --processors=none\") too\n",
				rebuilt, g.Table.Name, g.Table.Partitions, g.Table.Cleanup)
		} else {
			fmt.Fprintln(w, "  state:    none")
		}
		if len(g.Internal) > 0 {
			fmt.Fprintf(w, "  internal: %s reset to the end (records there derive from the replayed input, which writes them again)\n", strings.Join(g.Internal, ", "))
		}
		if len(g.Outputs) > 0 {
			fmt.Fprintf(w, "  outputs:  %s re-emitted with the same ids; downstream dedupes on event_id and keeps the highest revision per signal_id\n", strings.Join(g.Outputs, ", "))
		}
		var skipped int64
		for _, pp := range g.Partitions {
			skipped += pp.Skipped()
		}
		if skipped > 0 {
			fmt.Fprintf(w, "  warning:  the target is past the committed offset on some partitions: %d records are never processed\n", skipped)
		}
		for _, m := range g.Live {
			fmt.Fprintf(w, "  live:     %s\n", m)
		}
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "\n%s: skipped, it never ran on this cluster\n", s)
	}
	_, err := fmt.Fprintf(w, "\n%d records to reprocess in %d group(s)\n", p.Records(), len(p.Groups))
	return err
}
