package replay

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is how a target is given, in the words of Kafka's own
// kafka-consumer-groups --reset-offsets.
type Kind int

// Target kinds.
const (
	ToEarliest Kind = iota + 1
	ToDatetime
	ByDuration
	ToOffset
)

// Target is where a replay moves a group's contract inputs.
type Target struct {
	Kind Kind
	// At is the record timestamp of ToDatetime.
	At time.Time
	// Ago is ByDuration's: record timestamps from the plan's time minus Ago.
	Ago time.Duration
	// Offsets are ToOffset's, by topic and partition.
	Offsets map[string]map[int32]int64
}

// ParseTarget reads the four target flags, of which exactly one must be set.
func ParseTarget(earliest bool, datetime, duration, offsets string) (Target, error) {
	var set []string
	var t Target
	if earliest {
		set = append(set, "--to-earliest")
		t.Kind = ToEarliest
	}
	if datetime != "" {
		set = append(set, "--to-datetime")
		at, err := time.Parse(time.RFC3339, datetime)
		if err != nil {
			return t, fmt.Errorf("--to-datetime=%q is not valid: use RFC 3339, e.g. 2025-03-15T10:00:00Z", datetime)
		}
		t.Kind, t.At = ToDatetime, at
	}
	if duration != "" {
		set = append(set, "--by-duration")
		d, err := time.ParseDuration(duration)
		if err != nil || d <= 0 {
			return t, fmt.Errorf("--by-duration=%q is not valid: use a positive duration, e.g. 90m or 24h", duration)
		}
		t.Kind, t.Ago = ByDuration, d
	}
	if offsets != "" {
		set = append(set, "--to-offset")
		os, err := parseOffsets(offsets)
		if err != nil {
			return t, err
		}
		t.Kind, t.Offsets = ToOffset, os
	}
	switch len(set) {
	case 0:
		return t, fmt.Errorf("a target is required: one of --to-earliest, --to-datetime, --by-duration or --to-offset")
	case 1:
		return t, nil
	default:
		return t, fmt.Errorf("%s: give exactly one target", strings.Join(set, " and "))
	}
}

// parseOffsets reads topic:partition=offset[,...].
func parseOffsets(s string) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	bad := func(item, why string) error {
		return fmt.Errorf("--to-offset=%q: %q %s; use <topic>:<partition>=<offset>[,...], e.g. agent-trace-events:0=1200,agent-trace-events:1=980", s, item, why)
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		tp, off, ok := strings.Cut(item, "=")
		i := strings.LastIndexByte(tp, ':')
		if !ok || i <= 0 {
			return nil, bad(item, "is not topic:partition=offset")
		}
		p, err := strconv.ParseInt(tp[i+1:], 10, 32)
		if err != nil || p < 0 {
			return nil, bad(item, "has no partition number")
		}
		o, err := strconv.ParseInt(off, 10, 64)
		if err != nil || o < 0 {
			return nil, bad(item, "has no offset (a number from 0)")
		}
		topic := tp[:i]
		if out[topic] == nil {
			out[topic] = map[int32]int64{}
		}
		if _, dup := out[topic][int32(p)]; dup {
			return nil, bad(item, "names its partition twice")
		}
		out[topic][int32(p)] = o
	}
	return out, nil
}

// String says the target as the plan and the audit event do.
func (t Target) String() string {
	switch t.Kind {
	case ToEarliest:
		return "to earliest"
	case ToDatetime:
		return "to " + t.At.UTC().Format(time.RFC3339Nano) + " (record timestamp)"
	case ByDuration:
		return "by " + t.Ago.String() + " (record timestamp)"
	case ToOffset:
		var parts []string
		for _, topic := range slices.Sorted(maps.Keys(t.Offsets)) {
			for _, p := range slices.Sorted(maps.Keys(t.Offsets[topic])) {
				parts = append(parts, fmt.Sprintf("%s:%d=%d", topic, p, t.Offsets[topic][p]))
			}
		}
		return "to offsets " + strings.Join(parts, ",")
	}
	return "no target"
}
