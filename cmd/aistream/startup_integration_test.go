package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/aistream/aistream/internal/kafkatest"
)

// Defect: some bad settings were found only after the replica had joined
// its consumer groups (a rebalance in a live deployment), then it died with
// a long trace. Each must stop start-up with exit code 2 and one line that
// names the setting, before any group is joined or topic created.
func TestIntegrationBadSettingsStopStartupBeforeAnySideEffect(t *testing.T) {
	bin := buildBinary(t)
	brokers := strings.Join(kafkatest.Brokers(t), ",")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	openTokens := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(openTokens, []byte(`{"tokens": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	secure := func(more ...string) []string { return append([]string{"--insecure-no-auth=false"}, more...) }
	cases := []struct {
		name, want string
		args       []string
		env        []string
	}{
		{"HTTP address in use", "AISTREAM_HTTP_ADDR", []string{"--http-addr", busy.Addr().String()}, nil},
		{"state dir is a file", "AISTREAM_STATE_DIR", []string{"--state-dir", file}, nil},
		{"group prefix with illegal characters", "KAFKA_CONSUMER_GROUP", []string{"--consumer-group", "bad prefix!"}, nil},
		{"group prefix too long", "KAFKA_CONSUMER_GROUP", []string{"--consumer-group", strings.Repeat("p", 240)}, nil},
		{"empty bootstrap servers", "KAFKA_BOOTSTRAP_SERVERS", []string{"--bootstrap-servers", " "}, nil},
		{"neither token file nor --insecure-no-auth", "AISTREAM_TOKEN_FILE", secure(), nil},
		{"token file missing", "aistream tokens create", secure("--token-file", file+".none"), nil},
		{"token file readable by others", "chmod 600", secure("--token-file", openTokens), nil},
		{"token file not JSON", "is not valid", secure("--token-file", file), nil},
	}
	adm := kadm.NewClient(kafkatest.Client(t))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("startup-%d-%d", time.Now().UnixNano(), i)
			args := append([]string{"run", "--bootstrap-servers", brokers, "--state-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--consumer-group", prefix}, c.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(append(os.Environ(), "AISTREAM_INSECURE_NO_AUTH=true"), c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 2 {
					t.Fatalf("exit %v, want code 2; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running after 20 s; stderr:\n%s", stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, c.want) {
				t.Errorf("want one line naming %s, got:\n%s", c.want, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			groups, err := adm.ListGroups(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups.Groups() {
				if strings.HasPrefix(g, prefix) {
					t.Errorf("group %s was joined before the bad setting was reported", g)
				}
			}
		})
	}
}
