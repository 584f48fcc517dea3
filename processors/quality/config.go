package quality

import (
	"flag"
	"fmt"
	"time"

	"github.com/aistream/aistream/processors/window"
)

// Config is the agent-quality processor's settings.
type Config struct {
	Window      time.Duration // --quality-window
	Grace       time.Duration // --quality-grace
	IdleTimeout time.Duration // --quality-idle-timeout
	MaxSkew     time.Duration // --quality-max-skew
	Alpha       float64       // --quality-ewma-alpha
	Recent      int           // --quality-recent-windows
	// Rules are the insight thresholds: DefaultRules, or loaded by
	// --quality-rules when the flags are parsed (a bad file fails there).
	Rules Rules

	noStateCache bool // tests: the table codec decodes every read
}

// DefaultConfig returns the documented defaults (RULES.md).
func DefaultConfig() Config {
	return Config{
		Window: 5 * time.Minute, Grace: time.Minute, IdleTimeout: 2 * time.Minute, MaxSkew: time.Hour,
		Alpha: 0.2, Recent: 12, Rules: DefaultRules(),
	}
}

// RegisterFlags adds the --quality-* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Window, "quality-window", c.Window, "agent-quality: event-time tumbling window size")
	fs.DurationVar(&c.Grace, "quality-grace", c.Grace, "agent-quality: how long past a window's end (in event time) late events still count in it (at most 2 windows)")
	fs.DurationVar(&c.IdleTimeout, "quality-idle-timeout", c.IdleTimeout, "agent-quality: wall-clock time without events after which an agent's quiet time counts as event-time progress, closing the windows whose end+grace it reaches")
	fs.DurationVar(&c.MaxSkew, "quality-max-skew", c.MaxSkew, "agent-quality: how far an event's timestamp may be ahead of its Kafka record's timestamp; further ahead it is dead-lettered")
	fs.Float64Var(&c.Alpha, "quality-ewma-alpha", c.Alpha, "agent-quality: weight of the newest window in the baseline (EWMA), 0 < alpha <= 1")
	fs.Func("quality-rules", "agent-quality: JSON file of insight rule thresholds (see processors/quality/RULES.md); unset uses the defaults", func(path string) error {
		r, err := LoadRules(path)
		if err != nil {
			return err
		}
		c.Rules = r
		return nil
	})
	fs.IntVar(&c.Recent, "quality-recent-windows", c.Recent, "agent-quality: closed windows kept per tenant×agent for the quality view (1-288; fewer when their names are long, see RULES.md)")
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.Window < time.Second || c.Window > 24*time.Hour || (24*time.Hour)%c.Window != 0 {
		return fmt.Errorf("--quality-window: %s must divide a day evenly and be from 1s to 24h (e.g. 1m, 5m, 1h)", c.Window)
	}
	if c.Grace < 0 || c.Grace > maxGraceWindows*c.Window {
		return fmt.Errorf("--quality-grace: %s must be from 0 to %d windows (%s): open windows per agent, and so its state, grow with grace/window", c.Grace, maxGraceWindows, maxGraceWindows*c.Window)
	}
	if c.IdleTimeout < time.Second {
		return fmt.Errorf("--quality-idle-timeout: %s must be at least 1s", c.IdleTimeout)
	}
	if c.MaxSkew < time.Second {
		return fmt.Errorf("--quality-max-skew: %s must be at least 1s", c.MaxSkew)
	}
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		return fmt.Errorf("--quality-ewma-alpha: %v must be in (0, 1]", c.Alpha)
	}
	if c.Recent < 1 || c.Recent > 288 {
		return fmt.Errorf("--quality-recent-windows: %d must be from 1 to 288", c.Recent)
	}
	if err := c.Rules.Validate(); err != nil {
		return fmt.Errorf("--quality-rules: %w", err)
	}
	return nil
}

// maxGraceWindows bounds grace in windows, so at most maxGraceWindows+1
// windows are open per agent (see State's size bound).
const maxGraceWindows = 2

func (c Config) tumbling() window.Tumbling { return window.Tumbling{Size: c.Window, Grace: c.Grace} }

// idleCheckEvery is how often the idle-close visit runs: a quarter of the
// idle timeout, from 1s to 30s, so windows close at most that late.
func (c Config) idleCheckEvery() time.Duration {
	return min(max(c.IdleTimeout/4, time.Second), 30*time.Second)
}
