// Package config reads aistream's configuration from KAFKA_* / AISTREAM_*
// environment variables and command-line flags (flags win), validates it, and
// builds the sarama configuration every Kafka client in the process shares.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Security protocols and SASL mechanisms, spelled as the AI Service's
// KafkaConfig (and the Java client) spell them.
var (
	SecurityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
	SASLMechanisms    = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
	InitialOffsets    = []string{"earliest", "latest"}
)

// Kafka is the connection configuration.
type Kafka struct {
	BootstrapServers []string
	SecurityProtocol string
	SASLMechanism    string
	SASLUsername     string
	SASLPassword     Secret
	ConsumerGroup    string // prefix of every group name
	ClientID         string
	SSLCAFile        string
	SSLCertFile      string
	SSLKeyFile       string
	SSLCheckHostname bool
	// InitialOffset is where a group without committed offsets starts.
	InitialOffset string
	// SessionTimeout is how long the group coordinator waits for a
	// replica's heartbeat before it declares the replica dead and hands its
	// partitions to the others; HeartbeatInterval is how often a replica
	// heartbeats, which also bounds how late it notices a rebalance. Zero
	// means the default (DefaultSessionTimeout, DefaultHeartbeatInterval).
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
}

// Group membership defaults: a SIGKILLed replica's partitions are taken over
// within about SessionTimeout + HeartbeatInterval (README "Failover").
// DefaultSessionTimeout is the broker's lowest accepted value by default
// (group.min.session.timeout.ms).
const (
	DefaultSessionTimeout    = 6 * time.Second
	DefaultHeartbeatInterval = time.Second
)

// Secret is a string that never prints itself.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// ProducerMaxBytes is the producers' record (and per-partition batch)
// limit: Kafka's default message.max.bytes.
const ProducerMaxBytes = 1 << 20

// MaxEventBytes is the largest event aistream accepts (and the default of
// AISTREAM_MAX_MESSAGE_BYTES): an accepted event is looped back whole when
// it must be re-keyed, so it must fit a record with room for key and headers.
const MaxEventBytes = 1_000_000

// Runtime is the process configuration besides Kafka.
type Runtime struct {
	HTTPAddr        string
	StateDir        string
	MaxMessageBytes int
	LogLevel        string
	LogFormat       string
	// ChangelogFlushInterval is how long a processor group holds its
	// table writes to merge a key's writes into one changelog record
	// (internal/stream/changelog.go); 0 turns merging off.
	ChangelogFlushInterval time.Duration
}

// DefaultChangelogFlushInterval is AISTREAM_CHANGELOG_FLUSH_INTERVAL's
// default: a hot key's writes merge into one record per 50 ms, and a view
// of a table sees a write at most that much later (README "Performance").
// MaxChangelogFlushInterval bounds it: an input's offset is committed only
// once its table write is flushed, and goka waits at most a minute for an
// input's writes when a partition is revoked.
const (
	DefaultChangelogFlushInterval = 50 * time.Millisecond
	MaxChangelogFlushInterval     = 10 * time.Second
)

// Error is a configuration error: it names the setting, the bad value (never a
// secret) and what is accepted.
type Error struct {
	Setting string // e.g. "KAFKA_SECURITY_PROTOCOL (--security-protocol)"
	Value   string
	Want    string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Setting, e.Want)
	}
	return fmt.Sprintf("%s=%q is not valid: %s", e.Setting, e.Value, e.Want)
}

// setting couples an environment variable with its flag.
type setting struct {
	env, flag, usage string
}

func (s setting) name() string { return fmt.Sprintf("%s (--%s)", s.env, s.flag) }

// bindString registers s's flag on fs, its default taken from the
// environment when set there.
func (s setting) bindString(fs *flag.FlagSet, env func(string) string, p *string, def string) {
	if v := env(s.env); v != "" {
		def = v
	}
	fs.StringVar(p, s.flag, def, s.usage+" ["+s.env+"]")
}

var (
	sBootstrap = setting{"KAFKA_BOOTSTRAP_SERVERS", "bootstrap-servers", "comma-separated host:port list of Kafka brokers"}
	sProtocol  = setting{"KAFKA_SECURITY_PROTOCOL", "security-protocol", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"}
	sMechanism = setting{"KAFKA_SASL_MECHANISM", "sasl-mechanism", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"}
	sUsername  = setting{"KAFKA_SASL_USERNAME", "sasl-username", "SASL user name"}
	sPassword  = setting{"KAFKA_SASL_PASSWORD", "", "SASL password (environment only, never a flag: flags show in process lists)"}
	sGroup     = setting{"KAFKA_CONSUMER_GROUP", "consumer-group", "prefix of every consumer group aistream creates"}
	sClientID  = setting{"KAFKA_CLIENT_ID", "client-id", "client id sent to the brokers"}
	sCAFile    = setting{"KAFKA_SSL_CAFILE", "ssl-cafile", "PEM file of the CA that signed the brokers' certificates"}
	sCertFile  = setting{"KAFKA_SSL_CERTFILE", "ssl-certfile", "PEM client certificate (mutual TLS)"}
	sKeyFile   = setting{"KAFKA_SSL_KEYFILE", "ssl-keyfile", "PEM client key (mutual TLS)"}
	sCheckHost = setting{"KAFKA_SSL_CHECK_HOSTNAME", "ssl-check-hostname", "verify the broker certificate's host name (true/false)"}
	sOffset    = setting{"AISTREAM_INITIAL_OFFSET", "initial-offset", "where a new group starts: earliest or latest"}
	sSession   = setting{"KAFKA_SESSION_TIMEOUT", "session-timeout", "how long the broker waits for a replica's heartbeat before it hands the replica's partitions to the others"}
	sHeartbeat = setting{"KAFKA_HEARTBEAT_INTERVAL", "heartbeat-interval", "how often a replica heartbeats (at most a third of the session timeout)"}
	sHTTP      = setting{"AISTREAM_HTTP_ADDR", "http-addr", "listen address of the HTTP API"}
	sStateDir  = setting{"AISTREAM_STATE_DIR", "state-dir", "directory of local state (goka tables)"}
	sMaxBytes  = setting{"AISTREAM_MAX_MESSAGE_BYTES", "max-message-bytes", "largest event accepted; larger ones go to the dead-letter topic"}
	sLogLevel  = setting{"AISTREAM_LOG_LEVEL", "log-level", "debug, info, warn or error"}
	sLogFormat = setting{"AISTREAM_LOG_FORMAT", "log-format", "json or console"}
	sFlush     = setting{"AISTREAM_CHANGELOG_FLUSH_INTERVAL", "changelog-flush-interval", "how long a processor group holds its table writes to merge each key's into one changelog record (0: off)"}
)

// Flags binds configuration flags to fs with defaults taken from the
// environment; call Resolve after fs.Parse.
type Flags struct {
	fs                                                        *flag.FlagSet
	env                                                       func(string) string
	bootstrap, protocol, mechanism, username, group, clientID string
	caFile, certFile, keyFile, checkHost, offset              string
	session, heartbeat                                        string
	httpAddr, stateDir, maxBytes, logLevel, logFormat         string
	changelogFlush                                            string
	topicSuffix                                               string
	usesHTTP, usesStateDir, stateDirFromEnv                   bool
}

// Defaults a caller may change before binding.
type Defaults struct {
	Bootstrap string
	// HTTPAddr and StateDir "-" mean the command has no HTTP server or no
	// local state: Resolve does not check them.
	HTTPAddr string
	StateDir string
	// TopicSuffix is the longest suffix aistream appends to
	// KAFKA_CONSUMER_GROUP to name a topic, e.g. "-agent-quality-feedback";
	// Resolve checks the two together fit Kafka's topic name limit.
	TopicSuffix string
}

// Bind registers the flags on fs. env is os.Getenv in production.
func Bind(fs *flag.FlagSet, env func(string) string, d Defaults) *Flags {
	if env == nil {
		env = os.Getenv
	}
	f := &Flags{fs: fs, env: env, topicSuffix: d.TopicSuffix, usesHTTP: d.HTTPAddr != "-", usesStateDir: d.StateDir != "-"}
	f.stateDirFromEnv = env(sStateDir.env) != ""
	str := func(p *string, s setting, def string) { s.bindString(fs, env, p, def) }
	str(&f.bootstrap, sBootstrap, d.Bootstrap)
	str(&f.protocol, sProtocol, "PLAINTEXT")
	str(&f.mechanism, sMechanism, "")
	str(&f.username, sUsername, "")
	str(&f.group, sGroup, "aistream")
	str(&f.clientID, sClientID, "aistream")
	str(&f.caFile, sCAFile, "")
	str(&f.certFile, sCertFile, "")
	str(&f.keyFile, sKeyFile, "")
	str(&f.checkHost, sCheckHost, "true")
	str(&f.offset, sOffset, "earliest")
	str(&f.session, sSession, DefaultSessionTimeout.String())
	str(&f.heartbeat, sHeartbeat, DefaultHeartbeatInterval.String())
	str(&f.httpAddr, sHTTP, d.HTTPAddr)
	str(&f.stateDir, sStateDir, d.StateDir)
	str(&f.maxBytes, sMaxBytes, strconv.Itoa(MaxEventBytes))
	str(&f.logLevel, sLogLevel, "info")
	str(&f.logFormat, sLogFormat, "console")
	str(&f.changelogFlush, sFlush, DefaultChangelogFlushInterval.String())
	return f
}

// DefaultStateDir sets the state directory to dir unless AISTREAM_STATE_DIR
// or --state-dir gave one. Call it after fs.Parse, before Resolve.
func (f *Flags) DefaultStateDir(dir string) {
	if !f.stateDirFromEnv && !isSet(f.fs, sStateDir.flag) {
		f.stateDir = dir
	}
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// Resolve validates the parsed values; the first error names the setting to
// fix. It creates the state directory if it is missing (and a file in it, to
// check it is writable), and has no other side effect; the HTTP address is
// checked here as host:port and bound by Runtime.Listen.
func (f *Flags) Resolve() (Kafka, Runtime, error) {
	var errs []error
	bad := func(s setting, v, want string) { errs = append(errs, &Error{Setting: s.name(), Value: v, Want: want}) }

	k := Kafka{
		SecurityProtocol: strings.ToUpper(strings.TrimSpace(f.protocol)),
		SASLMechanism:    strings.ToUpper(strings.TrimSpace(f.mechanism)),
		SASLUsername:     f.username,
		SASLPassword:     Secret(f.env(sPassword.env)),
		ConsumerGroup:    strings.TrimSpace(f.group),
		ClientID:         strings.TrimSpace(f.clientID),
		SSLCAFile:        f.caFile,
		SSLCertFile:      f.certFile,
		SSLKeyFile:       f.keyFile,
		InitialOffset:    strings.ToLower(strings.TrimSpace(f.offset)),
	}
	for _, s := range strings.Split(f.bootstrap, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if msg := checkHostPort(s, brokerExample, false); msg != "" {
			bad(sBootstrap, f.bootstrap, fmt.Sprintf("server %q: %s (a comma-separated list of host:port)", s, msg))
			break
		}
		k.BootstrapServers = append(k.BootstrapServers, s)
	}
	if len(k.BootstrapServers) == 0 && len(errs) == 0 {
		bad(sBootstrap, f.bootstrap, "no broker given: set it to the brokers' host:port list, e.g. kafka-0:9092,kafka-1:9092")
	}
	if !contains(SecurityProtocols, k.SecurityProtocol) {
		bad(sProtocol, f.protocol, "use one of "+strings.Join(SecurityProtocols, ", "))
	}
	sasl := strings.HasPrefix(k.SecurityProtocol, "SASL_")
	switch {
	case sasl && k.SASLMechanism == "":
		k.SASLMechanism = "PLAIN"
	case !sasl && k.SASLMechanism != "" && contains(SecurityProtocols, k.SecurityProtocol):
		bad(sMechanism, f.mechanism, "a SASL mechanism needs KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT or SASL_SSL")
	}
	if k.SASLMechanism != "" && !contains(SASLMechanisms, k.SASLMechanism) {
		bad(sMechanism, f.mechanism, "use one of "+strings.Join(SASLMechanisms, ", "))
	}
	if sasl && (k.SASLUsername == "" || k.SASLPassword == "") {
		errs = append(errs, &Error{Setting: sUsername.name() + " and " + sPassword.env, Want: "both are required with " + k.SecurityProtocol})
	}
	if msg := checkGroupPrefix(k.ConsumerGroup, f.topicSuffix); msg != "" {
		bad(sGroup, f.group, msg)
	}
	for _, file := range []struct {
		s    setting
		path string
	}{{sCAFile, k.SSLCAFile}, {sCertFile, k.SSLCertFile}, {sKeyFile, k.SSLKeyFile}} {
		if file.path == "" {
			continue
		}
		if _, err := os.Stat(file.path); err != nil {
			bad(file.s, file.path, "the file cannot be read: "+errors.Unwrap(err).Error())
		}
	}
	if (k.SSLCertFile == "") != (k.SSLKeyFile == "") {
		errs = append(errs, &Error{Setting: sCertFile.name() + " and " + sKeyFile.name(), Want: "set both or neither"})
	}
	if b, err := strconv.ParseBool(f.checkHost); err != nil {
		bad(sCheckHost, f.checkHost, "use true or false")
	} else {
		k.SSLCheckHostname = b
	}
	if !contains(InitialOffsets, k.InitialOffset) {
		bad(sOffset, f.offset, "use earliest or latest")
	}
	if d, msg := parseDuration(f.session, minSessionTimeout, maxSessionTimeout, DefaultSessionTimeout); msg != "" {
		bad(sSession, f.session, msg)
	} else {
		k.SessionTimeout = d
		if h, msg := parseDuration(f.heartbeat, minHeartbeatInterval, d/3, min(DefaultHeartbeatInterval, d/3)); msg != "" {
			bad(sHeartbeat, f.heartbeat, msg+fmt.Sprintf(" (a third of %s %s: the broker must miss three heartbeats before it drops a live replica)", sSession.env, d))
		} else {
			k.HeartbeatInterval = h
		}
	}

	r := Runtime{HTTPAddr: f.httpAddr, StateDir: f.stateDir, LogLevel: strings.ToLower(f.logLevel), LogFormat: strings.ToLower(f.logFormat)}
	if n, err := strconv.Atoi(f.maxBytes); err != nil || n < 1024 || n > MaxEventBytes {
		bad(sMaxBytes, f.maxBytes, fmt.Sprintf("a byte count from 1024 to %d (an accepted event must fit one produced record, e.g. when it is re-keyed)", MaxEventBytes))
	} else {
		r.MaxMessageBytes = n
	}
	if f.usesHTTP {
		if msg := checkHostPort(r.HTTPAddr, httpExample, true); msg != "" {
			bad(sHTTP, r.HTTPAddr, msg)
		}
	}
	if !contains([]string{"debug", "info", "warn", "error"}, r.LogLevel) {
		bad(sLogLevel, f.logLevel, "use debug, info, warn or error")
	}
	if !contains([]string{"json", "console"}, r.LogFormat) {
		bad(sLogFormat, f.logFormat, "use json or console")
	}
	if d, msg := parseDuration(f.changelogFlush, 0, MaxChangelogFlushInterval, DefaultChangelogFlushInterval); msg != "" {
		bad(sFlush, f.changelogFlush, msg+" (0 turns merging off)")
	} else {
		r.ChangelogFlushInterval = d
	}
	// Last: the only check that writes, and only for an otherwise valid
	// configuration.
	if f.usesStateDir && len(errs) == 0 {
		if msg := checkWritableDir(r.StateDir); msg != "" {
			bad(sStateDir, r.StateDir, msg)
		}
	}
	if len(errs) > 0 {
		return k, r, errs[0]
	}
	return k, r, nil
}

// Bounds of the group membership settings. A broker accepts session
// timeouts from group.min.session.timeout.ms to group.max.session.timeout.ms
// (6s and 30m by default); below its minimum every replica's JoinGroup is
// refused (SessionTimeoutRefused), so going under 6s needs the broker's
// minimum lowered first.
const (
	minSessionTimeout    = time.Second
	maxSessionTimeout    = 30 * time.Minute
	minHeartbeatInterval = 100 * time.Millisecond
)

// parseDuration returns the duration v or what is wrong with it.
func parseDuration(v string, lo, hi, example time.Duration) (time.Duration, string) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < lo || d > hi {
		return 0, fmt.Sprintf("a duration from %s to %s, e.g. %s", lo, hi, example)
	}
	return d, ""
}

// SessionTimeoutRefused is the error for a JoinGroup the broker refused
// with INVALID_SESSION_TIMEOUT: timeout lies outside the broker's bounds.
func SessionTimeoutRefused(timeout time.Duration) error {
	return &Error{Setting: sSession.name(), Value: timeout.String(),
		Want: "the broker refused it: it accepts session timeouts from its group.min.session.timeout.ms to group.max.session.timeout.ms (6s to 30m by default); use one in that range or change the broker's bounds"}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
