package kafkatest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Python helper scripts (testdata/python) play the AI Service's aiokafka
// clients in cross-language tests.
const (
	// PythonEnvVar names the interpreter to use (with aiokafka installed).
	PythonEnvVar = "AISTREAM_PYTHON"
	// RequirePythonEnvVar, when "1", turns a missing interpreter into a
	// failure instead of a skip (CI sets it).
	RequirePythonEnvVar = "AISTREAM_REQUIRE_PYTHON"
)

// RepoRoot is the directory of go.mod above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Python returns the interpreter for the helper scripts: $AISTREAM_PYTHON,
// else <repo>/.venv/bin/python (made by scripts/python-venv.sh). Without one
// the test is skipped, or fails when AISTREAM_REQUIRE_PYTHON=1.
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv(PythonEnvVar)
	if py == "" {
		py = filepath.Join(RepoRoot(t), ".venv", "bin", "python")
	}
	if err := exec.Command(py, "-c", "import aiokafka").Run(); err != nil {
		msg := "no Python with aiokafka at " + py + " (" + err.Error() + "): run scripts/python-venv.sh or set " + PythonEnvVar
		if os.Getenv(RequirePythonEnvVar) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// RunPython runs testdata/python/<script> with args and returns its standard
// output; a non-zero exit fails the test with its standard error, which is
// logged otherwise (a script's notes, e.g. the repeats a consumer skipped).
func RunPython(t testing.TB, py, script string, timeout time.Duration, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(RepoRoot(t), "testdata", "python", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("%s %v:\n%s", script, args, stderr.String())
	}
	return stdout.Bytes()
}
