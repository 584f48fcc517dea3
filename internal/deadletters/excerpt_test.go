package deadletters_test

import (
	"strings"
	"testing"

	"github.com/aistream/aistream/internal/deadletters"
)

func TestExcerptEscapesWhatDoesNotPrint(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"event_id":"evt-1"}`, `{"event_id":"evt-1"}`},
		{"tenant\tüber 日本", `tenant\tüber 日本`},
		{"line1\nline2\r\n", `line1\nline2\r\n`},
		{`back\slash`, `back\\slash`},
		{"\x1b[31mred", `\u001b[31mred`},                 // a terminal escape cannot colour the output
		{"nbsp\u00a0zwsp\u200b", `nbsp\u00a0zwsp\u200b`}, // invisible characters are visible
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"\x00", `\u0000`},
	}
	for _, c := range cases {
		got, shown := deadletters.Excerpt([]byte(c.in), 200)
		if got != c.want || shown != len(c.in) {
			t.Errorf("Excerpt(%q) = %q, %d; want %q, %d", c.in, got, shown, c.want, len(c.in))
		}
	}
}

func TestExcerptNeverSplitsACharacter(t *testing.T) {
	in := []byte("ab日本") // 日 is bytes 2-4
	for max, want := range map[int]string{2: "ab", 3: "ab", 4: "ab", 5: "ab日", 8: "ab日本"} {
		got, shown := deadletters.Excerpt(in, max)
		if got != want || shown != len(want) {
			t.Errorf("Excerpt(max %d) = %q, %d; want %q, %d", max, got, shown, want, len(want))
		}
	}
}

func TestDescribe(t *testing.T) {
	if got := deadletters.Describe(nil, 200); got != "(null)" {
		t.Errorf("a tombstone: %q", got)
	}
	if got := deadletters.Describe([]byte{}, 200); got != "(empty)" {
		t.Errorf("no bytes: %q", got)
	}
	if got := deadletters.Describe([]byte(`{"a":1}`), 200); got != `{"a":1}` {
		t.Errorf("a short value: %q", got)
	}
	long := []byte(strings.Repeat("x", 199) + "日" + strings.Repeat("y", 500))
	want := strings.Repeat("x", 199) + "… (702 bytes, the first 199 shown)"
	if got := deadletters.Describe(long, 200); got != want {
		t.Errorf("a long value:\n got %q\nwant %q", got, want)
	}
}
