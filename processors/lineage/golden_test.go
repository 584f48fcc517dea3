package lineage

import (
	"testing"

	"github.com/aistream/aistream/codecs"
)

// Record event ids and run ids are published on ai-lineage-records, and the
// dedupe window stores event hashes in every node: a replay after any
// refactoring must yield these exact values. Inputs cover unicode, empty
// parts and parts holding the NUL byte the digests separate parts with.
func TestDerivedIDsAreStable(t *testing.T) {
	for _, c := range []struct{ tenant, event, record, run string }{
		{"acme", "ev-1", "lr-3fc2791a6bfe699b1389f37601dbcc93", "a7f531ce-5168-870c-9d0f-1d7aa6d7c152"},
		{"", "", "lr-96a296d224f285c67bee93c30f8a3091", "11ae86bc-cb5f-821c-bcab-89580617a20b"},
		{"tenant-ü", "événement-🙂", "lr-a5a3bd7d78ebdc66a10339f7a7a1f354", "963ff6c9-3600-8412-84f3-7b1aba53c2b8"},
		{"a\x00b", "c", "lr-13e228567e8249fce53337f25d7970de", "558e2ec2-0cd4-8538-a44c-f4f91bf1c144"},
		{"a", "b\x00c", "lr-13e228567e8249fce53337f25d7970de", "558e2ec2-0cd4-8538-a44c-f4f91bf1c144"},
		{"acme|x", "y|z", "lr-a2358e9309f70da7eab9e525b73992bd", "e3f401e4-398a-80e4-b464-46d4f72e07df"},
	} {
		if got := RecordEventID(c.tenant, c.event); got != c.record {
			t.Errorf("RecordEventID(%q, %q) = %q, want %q", c.tenant, c.event, got, c.record)
		}
		if got := runID(c.tenant, c.event); got != c.run {
			t.Errorf("runID(%q, %q) = %q, want %q", c.tenant, c.event, got, c.run)
		}
	}
	for _, c := range []struct{ sql, hash, want string }{
		{"SELECT 1", "", "sha256:e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5"},
		{"", "", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"SELECT 'ü🙂'\x00", "", "sha256:235d967510197c7b78e9eab5f0d47bde60991d49e56c7c000f288c697a0c6c73"},
		{"SELECT 1", "md5:abc", "md5:abc"},
	} {
		if got := sqlHash(&codecs.Lineage{SQL: c.sql, SQLHash: c.hash}); got != c.want {
			t.Errorf("sqlHash(%q, %q) = %q, want %q", c.sql, c.hash, got, c.want)
		}
	}
	for _, c := range []struct {
		id   string
		want uint64
	}{
		{"ev-1", 0xe8bd59a71e7e467b},
		{"", 0xe3b0c44298fc1c14},
		{"événement-🙂", 0xd19ea64a8b670734},
		{"a\x00b", 0x59b271ae1bbcb1d3},
	} {
		n, _ := DefaultConfig().apply(nil, &Update{TenantID: "acme", Dataset: "wh.s.t", Query: QueryRef{EventID: c.id}})
		if got := n.Applied[0]; got != c.want {
			t.Errorf("hash of event %q = %#x, want %#x", c.id, got, c.want)
		}
	}
}
