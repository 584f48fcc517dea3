package stream

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/rs/zerolog"
)

// localCopy writes a local table copy the way goka leaves it: one key and
// the table offset of the last record applied.
func localCopy(t *testing.T, dir, table string, p int32, offset int64) {
	t.Helper()
	st, err := storage.DefaultBuilder(dir)(table, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	if err := st.Set("trace-1", []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOffset(offset); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// kept reports whether the local copy still holds its key.
func kept(t *testing.T, dir, table string, p int32) bool {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%s.%d", table, p))); os.IsNotExist(err) {
		return false
	}
	st, err := storage.DefaultBuilder(dir)(table, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.Get("trace-1")
	if err != nil {
		t.Fatal(err)
	}
	return v != nil
}

func recordID(t *testing.T, dir, table, id string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, table+identitySuffix), []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func recordedID(t *testing.T, dir, table string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, table+identitySuffix))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func TestIdentityRebuildsStaleLocalTables(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := zerolog.New(&logs)

	// Recreated: the recorded topic id is not the cluster's, although the
	// stored offsets would fit the new topic.
	localCopy(t, dir, "recreated-table", 0, 3)
	localCopy(t, dir, "recreated-table", 1, 3)
	recordID(t, dir, "recreated-table", "old-id")
	if err := ResetStale(log, dir, "recreated-table", TopicIdentity{ID: "new-id", End: map[int32]int64{0: 10, 1: 10}}); err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if kept(t, dir, "recreated-table", p) {
			t.Errorf("recreated-table.%d kept although the table topic was recreated", p)
		}
	}
	if got := recordedID(t, dir, "recreated-table"); got != "new-id" {
		t.Errorf("recorded topic id %q after the rebuild, want new-id", got)
	}

	// Ahead: same topic id, but partition 0 stored offset 41 where the
	// topic ends at 10 (goka would serve it stale); partition 1 is at the
	// topic's last record (9 of end 10) and is kept.
	localCopy(t, dir, "ahead-table", 0, 41)
	localCopy(t, dir, "ahead-table", 1, 9)
	recordID(t, dir, "ahead-table", "same-id")
	if err := ResetStale(log, dir, "ahead-table", TopicIdentity{ID: "same-id", End: map[int32]int64{0: 10, 1: 10}}); err != nil {
		t.Fatal(err)
	}
	if kept(t, dir, "ahead-table", 0) {
		t.Error("ahead-table.0 kept although its stored offset 41 is past the table topic's end 10")
	}
	if !kept(t, dir, "ahead-table", 1) {
		t.Error("ahead-table.1 dropped although it matches its table topic")
	}

	// Equal: the copy matches; without a recorded id (state from before
	// ids were kept) only the offsets decide, and the id is recorded.
	localCopy(t, dir, "equal-table", 0, 4)
	if err := ResetStale(log, dir, "equal-table", TopicIdentity{ID: "equal-id", End: map[int32]int64{0: 5}}); err != nil {
		t.Fatal(err)
	}
	if !kept(t, dir, "equal-table", 0) {
		t.Error("equal-table.0 dropped although it matches its table topic")
	}
	if got := recordedID(t, dir, "equal-table"); got != "equal-id" {
		t.Errorf("recorded topic id %q, want equal-id", got)
	}

	// Gone: the table topic does not exist (goka would refuse to start:
	// "our cache has one").
	localCopy(t, dir, "gone-table", 2, 0)
	if err := ResetStale(log, dir, "gone-table", TopicIdentity{}); err != nil {
		t.Fatal(err)
	}
	if kept(t, dir, "gone-table", 2) {
		t.Error("gone-table.2 kept although its table topic does not exist")
	}

	// One line per dropped partition, saying why.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want one per dropped partition (4):\n%s", len(lines), logs.String())
	}
	for _, want := range []string{
		`"table":"recreated-table","partition":0`, "table topic was recreated (topic id new-id, the local copy was built from old-id)",
		`"table":"ahead-table","partition":0`, "holds table offset 41 but the table topic partition ends at 10",
		`"table":"gone-table","partition":2`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
