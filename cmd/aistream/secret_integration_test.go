package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A configured SASL password appears in no log line and no error: not at
// debug level while the process fails to reach its cluster, and not in a
// start-up configuration error.
func TestIntegrationSASLPasswordNeverLogged(t *testing.T) {
	const password = "pw-7f3a9c-never-print-me"
	bin := buildBinary(t)
	closed := freePort(t) // nothing listens there
	env := append(os.Environ(), "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
		"KAFKA_SASL_USERNAME=svc", "KAFKA_SASL_PASSWORD="+password, "AISTREAM_LOG_LEVEL=debug", "AISTREAM_LOG_FORMAT=json")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unreachable cluster", []string{"run", "--bootstrap-servers", closed, "--http-addr", freePort(t), "--state-dir", t.TempDir()}},
		{"bad setting", []string{"run", "--bootstrap-servers", closed, "--http-addr", freePort(t), "--state-dir", t.TempDir(), "--max-message-bytes", "lots"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, bin, c.args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		cancel()
		if out.Len() == 0 {
			t.Errorf("%s: no output at all; the test would not see a leak", c.name)
		}
		if strings.Contains(out.String(), password) {
			t.Errorf("%s: the SASL password appears in the output:\n%s", c.name, out.String())
		}
	}
}
