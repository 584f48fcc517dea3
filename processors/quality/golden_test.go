package quality

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// The dedupe window stores these digests in every table value: a replay
// after any refactoring must compute the same ones, or redeliveries of
// events applied before it would be counted again.
func TestDedupeDigestsAreStable(t *testing.T) {
	for _, c := range []struct {
		id   string
		want uint64
	}{
		{"evt-1", 0x7b409f932d2c88e9},
		{"", 0xe3b0c44298fc1c14},
		{"événement-🙂", 0xd19ea64a8b670734},
		{"a\x00b", 0x59b271ae1bbcb1d3},
	} {
		var a Applied
		a.add(c.id)
		if got := a.IDs[0]; got != c.want {
			t.Errorf("digest of %q = %#x, want %#x", c.id, got, c.want)
		}
	}
}

// The table holds StateCodec's bytes: a refactored codec must write exactly
// what the released one wrote, and read it back. Version 3 is version 2's
// bytes (state-v2.bin, released) with its version byte and two trailing
// counts (no offsets, no outbox); the released bytes still decode.
func TestStateCodecWritesTheGoldenBytes(t *testing.T) {
	v2, err := os.ReadFile("testdata/golden/state-v2.bin")
	if err != nil {
		t.Fatal(err)
	}
	golden := append(append([]byte{3}, v2[1:]...), 0, 0)
	s := fullState()
	raw, err := StateCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, golden) {
		t.Fatalf("encoded state differs from testdata/golden/state-v2.bin as version 3:\n got %x\nwant %x", raw, golden)
	}
	old, err := StateCodec{}.Decode(v2)
	if err != nil || !reflect.DeepEqual(old.(*State), s) {
		t.Fatalf("released version 2 bytes decode to %+v, %v", old, err)
	}
	v, err := StateCodec{}.Decode(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.(*State), s) {
		t.Fatalf("golden state decoded differently:\n got %+v\nwant %+v", v, s)
	}
}
