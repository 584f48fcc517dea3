package config

import (
	"flag"
	"os"
	"strconv"
)

// Serve is the configuration of the serving commands ("aistream run" and
// "aistream dev") besides Kafka and Runtime.
type Serve struct {
	// Processors is "all", "none" or a comma-separated list of the
	// processor groups to run; the caller checks the names.
	Processors  string
	Views       bool // serve the /v1 views
	ApplyTopics bool // create missing topics at start; false only checks them
	// Dev only (BindServe with dev): the embedded broker.
	DataDir    string // its log, and the default state directory beneath it
	BrokerAddr string // where it listens, host:port
	// TokenFile is the API's token file (see internal/auth); empty only
	// with InsecureNoAuth, or in dev (which then creates one).
	TokenFile string
	// InsecureNoAuth serves /v1 without authentication, scoped by the
	// X-Tenant-ID header.
	InsecureNoAuth bool
}

var (
	sProcessors  = setting{"AISTREAM_PROCESSORS", "processors", "processor groups to run here: all, none, or a comma-separated list"}
	sViews       = setting{"AISTREAM_VIEWS", "views", "serve the HTTP API and its views"}
	sApplyTopics = setting{"AISTREAM_APPLY_TOPICS", "apply-topics", "create missing topics at start; false only checks them"}
	sDataDir     = setting{"AISTREAM_DATA_DIR", "data-dir", "directory of the embedded broker's log and the local state; kept across restarts"}
	sBrokerAddr  = setting{"AISTREAM_BROKER_ADDR", "broker-addr", "where the embedded broker listens"}
	sTokenFile   = setting{"AISTREAM_TOKEN_FILE", "token-file", "JSON file of the API's hashed bearer tokens (\"aistream tokens create\" writes it); reloaded when it changes"}
	sInsecure    = setting{"AISTREAM_INSECURE_NO_AUTH", "insecure-no-auth", "serve /v1 WITHOUT authentication, scoped by the X-Tenant-ID header (any client reads any tenant)"}
)

// BindTokenFile registers --token-file (AISTREAM_TOKEN_FILE) on fs.
func BindTokenFile(fs *flag.FlagSet, env func(string) string) *string {
	if env == nil {
		env = os.Getenv
	}
	p := new(string)
	sTokenFile.bindString(fs, env, p, "")
	return p
}

// ServeFlags binds the serving commands' flags; call Resolve after fs.Parse.
type ServeFlags struct {
	dev                 bool
	processors          string
	views, applyTopics  bool
	dataDir, brokerAddr string
	tokenFile           *string
	insecure            bool
	fs                  *flag.FlagSet
	envErrs             []envErr
}

// envErr is an environment value that is not valid; it matters unless its
// flag was given (flags win).
type envErr struct {
	flag string
	err  error
}

// BindServe registers the flags on fs with defaults from the environment
// (env is os.Getenv in production); dev adds the embedded broker's.
func BindServe(fs *flag.FlagSet, env func(string) string, dev bool) *ServeFlags {
	if env == nil {
		env = os.Getenv
	}
	f := &ServeFlags{dev: dev, fs: fs}
	str := func(p *string, s setting, def string) { s.bindString(fs, env, p, def) }
	boolean := func(p *bool, s setting, def bool) {
		if v := env(s.env); v != "" {
			if b, err := strconv.ParseBool(v); err != nil {
				f.envErrs = append(f.envErrs, envErr{s.flag, &Error{Setting: s.name(), Value: v, Want: "use true or false"}})
			} else {
				def = b
			}
		}
		fs.BoolVar(p, s.flag, def, s.usage+" ["+s.env+"]")
	}
	str(&f.processors, sProcessors, "all")
	boolean(&f.views, sViews, true)
	boolean(&f.applyTopics, sApplyTopics, true)
	f.tokenFile = BindTokenFile(fs, env)
	boolean(&f.insecure, sInsecure, false)
	if dev {
		str(&f.dataDir, sDataDir, ".aistream-dev")
		str(&f.brokerAddr, sBrokerAddr, "127.0.0.1:9092")
	}
	return f
}

// Resolve validates the parsed values; the first error names the setting to
// fix. In dev it creates the data directory if it is missing (and a file in
// it, to check it is writable).
func (f *ServeFlags) Resolve() (Serve, error) {
	s := Serve{Processors: f.processors, Views: f.views, ApplyTopics: f.applyTopics, DataDir: f.dataDir, BrokerAddr: f.brokerAddr,
		TokenFile: *f.tokenFile, InsecureNoAuth: f.insecure}
	for _, e := range f.envErrs {
		if !isSet(f.fs, e.flag) {
			return s, e.err
		}
	}
	switch {
	case s.TokenFile != "" && s.InsecureNoAuth:
		return s, &Error{Setting: sInsecure.name(), Want: "it contradicts " + sTokenFile.name() + ": give one of them"}
	case s.TokenFile == "" && !s.InsecureNoAuth && !f.dev && s.Views:
		return s, &Error{Setting: sTokenFile.name(), Want: "the API needs a token file: create one with \"aistream tokens create --tenant T --token-file F\" and pass --token-file F, or run without authentication with --insecure-no-auth"}
	}
	if !f.dev {
		return s, nil
	}
	if msg := checkHostPort(f.brokerAddr, "127.0.0.1:9092", false); msg != "" {
		return s, &Error{Setting: sBrokerAddr.name(), Value: f.brokerAddr, Want: msg}
	}
	if msg := checkWritableDir(f.dataDir); msg != "" {
		return s, &Error{Setting: sDataDir.name(), Value: f.dataDir, Want: msg}
	}
	return s, nil
}
