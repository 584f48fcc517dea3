package config

import "fmt"

// IntFlag is an integer setting with its accepted range.
type IntFlag struct {
	Flag          string // without dashes, e.g. "lineage-max-edges"
	Value, Lo, Hi int
}

// CheckInts returns an error naming the first setting out of its range and
// what it accepts.
func CheckInts(flags ...IntFlag) error {
	for _, f := range flags {
		if f.Value < f.Lo || f.Value > f.Hi {
			return fmt.Errorf("--%s=%d is not valid: want an integer from %d to %d", f.Flag, f.Value, f.Lo, f.Hi)
		}
	}
	return nil
}
