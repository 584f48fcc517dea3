package config

import (
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const password = "hunter2-must-not-leak"

func resolveWith(t *testing.T, d Defaults, env map[string]string, args ...string) (Kafka, Runtime, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Bind(fs, func(k string) string { return env[k] }, d)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve()
}

// checkMessage fails unless err is a config.Error reading exactly want, on
// one line, without the password.
func checkMessage(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: error %v (%T), want a config.Error", what, err, err)
		return
	}
	msg := err.Error()
	if msg != want {
		t.Errorf("%s:\n got %s\nwant %s", what, msg, want)
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, password) {
		t.Errorf("%s: the message must be one line without the password: %q", what, msg)
	}
}

// unwritableDir is a directory this process cannot create files in.
func unwritableDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if f, err := os.CreateTemp(dir, "probe"); err != nil {
		return dir
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	// Root writes through modes; sysfs refuses it too.
	if f, err := os.CreateTemp("/sys", "probe"); err != nil {
		if fi, serr := os.Stat("/sys"); serr == nil && fi.IsDir() {
			return "/sys"
		}
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	t.Skip("no directory this process cannot write")
	return ""
}

// Every rejection stops start-up with one line naming the variable, the
// flag, the value and what to do.
func TestRejectionsNameVariableFlagValueAndFix(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ro := unwritableDir(t)
	longGroup := strings.Repeat("g", 227)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"empty bootstrap", nil, []string{"--bootstrap-servers="},
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers): no broker given: set it to the brokers' host:port list, e.g. kafka-0:9092,kafka-1:9092`},
		{"only commas", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": " , "}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)=" , " is not valid: no broker given: set it to the brokers' host:port list, e.g. kafka-0:9092,kafka-1:9092`},
		{"no port", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9092,kafka-1"}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)="kafka-0:9092,kafka-1" is not valid: server "kafka-1": use host:port, e.g. kafka-0:9092 (a comma-separated list of host:port)`},
		{"port out of range", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka:99999"}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)="kafka:99999" is not valid: server "kafka:99999": the port must be a number from 1 to 65535 (a comma-separated list of host:port)`},
		{"port zero", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka:0"}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)="kafka:0" is not valid: server "kafka:0": the port must be a number from 1 to 65535 (a comma-separated list of host:port)`},
		{"port name", nil, []string{"--bootstrap-servers", "kafka:kafka"},
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)="kafka:kafka" is not valid: server "kafka:kafka": the port must be a number from 1 to 65535 (a comma-separated list of host:port)`},
		{"no host", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": ":9092"}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)=":9092" is not valid: server ":9092": the host is missing: use host:port, e.g. kafka-0:9092 (a comma-separated list of host:port)`},
		{"unbracketed IPv6", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "::1:9092"}, nil,
			`KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers)="::1:9092" is not valid: server "::1:9092": use host:port, e.g. kafka-0:9092 (a comma-separated list of host:port)`},
		{"group with a space", map[string]string{"KAFKA_CONSUMER_GROUP": "ai stream"}, nil,
			`KAFKA_CONSUMER_GROUP (--consumer-group)="ai stream" is not valid: topic names begin with it: use only letters, digits, '.', '_' and '-', e.g. aistream-prod`},
		{"group with a colon", nil, []string{"--consumer-group", "team:ai"},
			`KAFKA_CONSUMER_GROUP (--consumer-group)="team:ai" is not valid: topic names begin with it: use only letters, digits, '.', '_' and '-', e.g. aistream-prod`},
		{"empty group", nil, []string{"--consumer-group="},
			`KAFKA_CONSUMER_GROUP (--consumer-group): a prefix is required, e.g. aistream`},
		{"group too long", map[string]string{"KAFKA_CONSUMER_GROUP": longGroup}, nil,
			`KAFKA_CONSUMER_GROUP (--consumer-group)="` + longGroup + `" is not valid: it has 227 characters and topic names append up to 23 more ("-agent-quality-feedback"), over Kafka's 249: use at most 226 characters`},
		{"HTTP address without port", map[string]string{"AISTREAM_HTTP_ADDR": "8080"}, nil,
			`AISTREAM_HTTP_ADDR (--http-addr)="8080" is not valid: use host:port, e.g. 127.0.0.1:8080 or :8080`},
		{"HTTP port out of range", nil, []string{"--http-addr", "127.0.0.1:80800"},
			`AISTREAM_HTTP_ADDR (--http-addr)="127.0.0.1:80800" is not valid: the port must be a number from 0 to 65535`},
		{"state dir is a file", map[string]string{"AISTREAM_STATE_DIR": file}, nil,
			`AISTREAM_STATE_DIR (--state-dir)="` + file + `" is not valid: it is a file, not a directory: choose a directory path`},
		{"state dir under a file", nil, []string{"--state-dir", file + "/state"},
			`AISTREAM_STATE_DIR (--state-dir)="` + file + `/state" is not valid: the directory cannot be created (mkdir ` + file + `: not a directory): create it or choose another path`},
		{"state dir not writable", map[string]string{"AISTREAM_STATE_DIR": ro}, nil,
			`AISTREAM_STATE_DIR (--state-dir)="` + ro + `" is not valid: the directory is not writable (permission denied): give aistream's user write access or choose another path`},
		{"empty state dir", nil, []string{"--state-dir="},
			`AISTREAM_STATE_DIR (--state-dir): a writable directory is required`},
		{"changelog flush without unit", map[string]string{"AISTREAM_CHANGELOG_FLUSH_INTERVAL": "50"}, nil,
			`AISTREAM_CHANGELOG_FLUSH_INTERVAL (--changelog-flush-interval)="50" is not valid: a duration from 0s to 10s, e.g. 50ms (0 turns merging off)`},
		{"changelog flush negative", nil, []string{"--changelog-flush-interval", "-1ms"},
			`AISTREAM_CHANGELOG_FLUSH_INTERVAL (--changelog-flush-interval)="-1ms" is not valid: a duration from 0s to 10s, e.g. 50ms (0 turns merging off)`},
		{"changelog flush too long", nil, []string{"--changelog-flush-interval", "1m"},
			`AISTREAM_CHANGELOG_FLUSH_INTERVAL (--changelog-flush-interval)="1m" is not valid: a duration from 0s to 10s, e.g. 50ms (0 turns merging off)`},
	}
	for _, c := range cases {
		env := map[string]string{"KAFKA_SASL_PASSWORD": password}
		for k, v := range c.env {
			env[k] = v
		}
		_, _, err := resolveWith(t, Defaults{Bootstrap: "localhost:9092", HTTPAddr: "127.0.0.1:8080", StateDir: tmp, TopicSuffix: "-agent-quality-feedback"}, env, c.args...)
		checkMessage(t, c.name, err, c.want)
	}
}

func TestLongestGroupPrefixThatFitsIsAccepted(t *testing.T) {
	suffix := "-agent-quality-feedback"
	group := strings.Repeat("g", MaxTopicName-len(suffix))
	k, _, err := resolveWith(t, Defaults{Bootstrap: "k:9092", HTTPAddr: "-", StateDir: "-", TopicSuffix: suffix},
		map[string]string{"KAFKA_CONSUMER_GROUP": group})
	if err != nil || k.ConsumerGroup != group {
		t.Errorf("a %d-character prefix with a %d-character suffix: %v", len(group), len(suffix), err)
	}
}

// The state directory is created when missing and left empty.
func TestStateDirIsCreatedAndLeftEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	_, r, err := resolveWith(t, Defaults{Bootstrap: "k:9092", HTTPAddr: "-", StateDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(r.StateDir)
	if err != nil || len(ents) != 0 {
		t.Errorf("state dir after Resolve: %v entries, %v", len(ents), err)
	}
}

// A state directory is touched only for a configuration valid otherwise:
// a rejected start-up leaves no trace.
func TestRejectedConfigurationCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, _, err := resolveWith(t, Defaults{Bootstrap: "k:9092", HTTPAddr: "-", StateDir: dir}, map[string]string{"KAFKA_SECURITY_PROTOCOL": "TLS"})
	if err == nil {
		t.Fatal("accepted")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir after a rejected configuration: %v", err)
	}
}

// Commands without an HTTP server or local state (Defaults "-") do not
// check settings they ignore.
func TestUnusedSettingsAreNotChecked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := resolveWith(t, Defaults{Bootstrap: "k:9092", HTTPAddr: "-", StateDir: "-"},
		map[string]string{"AISTREAM_STATE_DIR": file, "AISTREAM_HTTP_ADDR": "nonsense"})
	if err != nil {
		t.Errorf("topics-like command: %v", err)
	}
}

func TestDefaultStateDirYieldsToEnvAndFlag(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"neither", nil, nil, filepath.Join(tmp, "dev")},
		{"env", map[string]string{"AISTREAM_STATE_DIR": filepath.Join(tmp, "env")}, nil, filepath.Join(tmp, "env")},
		{"flag", nil, []string{"--state-dir", filepath.Join(tmp, "flag")}, filepath.Join(tmp, "flag")},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := Bind(fs, func(k string) string { return c.env[k] }, Defaults{Bootstrap: "k:9092", HTTPAddr: "-", StateDir: filepath.Join(tmp, "default")})
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		f.DefaultStateDir(filepath.Join(tmp, "dev"))
		_, r, err := f.Resolve()
		if err != nil || r.StateDir != c.want {
			t.Errorf("%s: state dir %q, %v; want %q", c.name, r.StateDir, err, c.want)
		}
	}
}

func TestListenBindsTheAddress(t *testing.T) {
	ln, err := Runtime{HTTPAddr: "127.0.0.1:0"}.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial the returned listener: %v", err)
	}
	c.Close()

	_, err = Runtime{HTTPAddr: ln.Addr().String()}.Listen()
	checkMessage(t, "address in use", err, `AISTREAM_HTTP_ADDR (--http-addr)="`+ln.Addr().String()+`" is not valid: the address is in use: stop the process listening there or choose another port`)
	_, err = Runtime{HTTPAddr: "192.0.2.1:8080"}.Listen()
	checkMessage(t, "foreign address", err, `AISTREAM_HTTP_ADDR (--http-addr)="192.0.2.1:8080" is not valid: no network interface of this host has that address: use 0.0.0.0, 127.0.0.1 or one of this host's addresses`)
	_, err = Runtime{HTTPAddr: "localhost"}.Listen()
	checkMessage(t, "no port", err, `AISTREAM_HTTP_ADDR (--http-addr)="localhost" is not valid: use host:port, e.g. 127.0.0.1:8080 or :8080`)
}

// Failures a test cannot provoke portably (root may bind port 80; name
// resolution depends on the host) still get a reason and a fix.
func TestListenReasons(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)},
			"permission denied: ports below 1024 need privileges, use a port from 1024 up"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}},
			"the host name does not resolve (no such host): use an IP address or a name of this host"},
	} {
		if got := listenReason(c.err); got != c.want {
			t.Errorf("%v:\n got %s\nwant %s", c.err, got, c.want)
		}
	}
}
