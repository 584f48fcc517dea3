package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func resolveServe(t *testing.T, dev bool, env map[string]string, args ...string) (Serve, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := BindServe(fs, func(k string) string { return env[k] }, dev)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve()
}

func TestServeDefaultsEnvAndFlags(t *testing.T) {
	s, err := resolveServe(t, false, map[string]string{"AISTREAM_TOKEN_FILE": "/etc/aistream/tokens.json"})
	if err != nil {
		t.Fatal(err)
	}
	if s != (Serve{Processors: "all", Views: true, ApplyTopics: true, TokenFile: "/etc/aistream/tokens.json"}) {
		t.Errorf("run defaults: %+v", s)
	}
	if s, err = resolveServe(t, false, nil, "--insecure-no-auth"); err != nil || !s.InsecureNoAuth {
		t.Errorf("--insecure-no-auth: %+v %v", s, err)
	}
	if _, err = resolveServe(t, false, nil, "--views=false"); err != nil {
		t.Errorf("a processors-only replica needs no token file: %v", err)
	}
	data := filepath.Join(t.TempDir(), "dev")
	s, err = resolveServe(t, true,
		map[string]string{"AISTREAM_VIEWS": "false", "AISTREAM_APPLY_TOPICS": "0", "AISTREAM_PROCESSORS": "none", "AISTREAM_DATA_DIR": data, "AISTREAM_BROKER_ADDR": "127.0.0.1:19999"},
		"--views", "--processors", "context-graph")
	if err != nil {
		t.Fatal(err)
	}
	want := Serve{Processors: "context-graph", Views: true, ApplyTopics: false, DataDir: data, BrokerAddr: "127.0.0.1:19999"}
	if s != want {
		t.Errorf("dev from env and flags: %+v, want %+v", s, want)
	}
	if fi, err := os.Stat(data); err != nil || !fi.IsDir() {
		t.Errorf("data dir not created: %v", err)
	}
}

func TestServeRejections(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	cases := []struct {
		name string
		dev  bool
		env  map[string]string
		want string
	}{
		{"no token file, no --insecure-no-auth", false, nil,
			`AISTREAM_TOKEN_FILE (--token-file): the API needs a token file: create one with "aistream tokens create --tenant T --token-file F" and pass --token-file F, or run without authentication with --insecure-no-auth`},
		{"token file and --insecure-no-auth", false, map[string]string{"AISTREAM_TOKEN_FILE": "t.json", "AISTREAM_INSECURE_NO_AUTH": "true"},
			`AISTREAM_INSECURE_NO_AUTH (--insecure-no-auth): it contradicts AISTREAM_TOKEN_FILE (--token-file): give one of them`},
		{"views not a boolean", false, map[string]string{"AISTREAM_VIEWS": "yes please"},
			`AISTREAM_VIEWS (--views)="yes please" is not valid: use true or false`},
		{"apply-topics not a boolean", false, map[string]string{"AISTREAM_APPLY_TOPICS": "sometimes"},
			`AISTREAM_APPLY_TOPICS (--apply-topics)="sometimes" is not valid: use true or false`},
		{"broker without port", true, map[string]string{"AISTREAM_DATA_DIR": data, "AISTREAM_BROKER_ADDR": "localhost"},
			`AISTREAM_BROKER_ADDR (--broker-addr)="localhost" is not valid: use host:port, e.g. 127.0.0.1:9092`},
		{"broker port zero", true, map[string]string{"AISTREAM_DATA_DIR": data, "AISTREAM_BROKER_ADDR": "127.0.0.1:0"},
			`AISTREAM_BROKER_ADDR (--broker-addr)="127.0.0.1:0" is not valid: the port must be a number from 1 to 65535`},
		{"data dir is a file", true, map[string]string{"AISTREAM_DATA_DIR": file},
			`AISTREAM_DATA_DIR (--data-dir)="` + file + `" is not valid: it is a file, not a directory: choose a directory path`},
	}
	for _, c := range cases {
		_, err := resolveServe(t, c.dev, c.env)
		checkMessage(t, c.name, err, c.want)
	}
}

// Flags win: a bad value in the environment does not matter when the flag
// replaces it.
func TestServeFlagOverridesBadEnvBoolean(t *testing.T) {
	s, err := resolveServe(t, false, map[string]string{"AISTREAM_VIEWS": "yes please"}, "--views=false")
	if err != nil || s.Views {
		t.Errorf("--views=false over AISTREAM_VIEWS=\"yes please\": %+v, %v", s, err)
	}
}

// "run" has no embedded broker: its flags do not exist there.
func TestServeDevFlagsOnlyInDev(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	BindServe(fs, func(string) string { return "" }, false)
	if fs.Lookup("broker-addr") != nil || fs.Lookup("data-dir") != nil {
		t.Error("run binds the embedded broker's flags")
	}
}
