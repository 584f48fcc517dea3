package ids_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/aistream/aistream/internal/ids"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The formulas against SHA-256 of the byte strings they promise; the
// callers' golden tests pin the ids built on them.
func TestFormulas(t *testing.T) {
	for _, c := range []struct {
		name string
		got  ids.Sum
		want string
	}{
		{"terminated", ids.Terminated("a", "", "ü"), sha("a\x00\x00ü\x00")},
		{"terminated none", ids.Terminated(), sha("")},
		{"joined", ids.Joined("a", "", "ü"), sha("a\x00\x00ü")},
		{"joined one", ids.Joined("a"), sha("a")},
		{"joined none", ids.Joined(), sha("")},
	} {
		if got := c.got.Hex(64); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if ids.Terminated("a", "b") == ids.Joined("a", "b") {
		t.Error("the two formulas agree")
	}
}

func TestLongPartsAreHashedWhole(t *testing.T) {
	long := string(make([]byte, 1000)) + "x"
	if got, want := ids.Joined(long, "y").Hex(64), sha(long+"\x00y"); got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

func TestHexTruncates(t *testing.T) {
	s := ids.Joined("a")
	full := s.Hex(64)
	for _, n := range []int{0, 1, 24, 31, 32} {
		if got := s.Hex(n); got != full[:n] {
			t.Errorf("Hex(%d) = %q, want %q", n, got, full[:n])
		}
	}
}

func TestUUIDHasVersion8AndTheRFCVariant(t *testing.T) {
	var s ids.Sum
	for i := range s {
		s[i] = 0xff
	}
	if got, want := s.UUID(), "ffffffff-ffff-8fff-bfff-ffffffffffff"; got != want {
		t.Errorf("UUID = %s, want %s", got, want)
	}
	if s[6] != 0xff {
		t.Error("UUID changed the sum it formats")
	}
	if got, want := (ids.Sum{}).UUID(), "00000000-0000-8000-8000-000000000000"; got != want {
		t.Errorf("UUID = %s, want %s", got, want)
	}
}

func TestDigest64IsTheFirstEightBytesBigEndian(t *testing.T) {
	if got, want := ids.Digest64(""), uint64(0xe3b0c44298fc1c14); got != want {
		t.Errorf("Digest64(\"\") = %#x, want %#x", got, want)
	}
}
