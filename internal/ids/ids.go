// Package ids derives the ids aistream publishes and stores (signal, insight
// and lineage record ids, run ids, dedupe digests) from their inputs, so a
// replay of the same input yields the same ids. Every id is a SHA-256 digest
// of its parts. The formulas are frozen: changing one would change ids
// already on topics and in tables, and consumers deduplicate by them.
//
// Two formulas separate the parts, because ids were published with both:
// Terminated (a NUL after every part) and Joined (a NUL between parts).
// Neither can tell a NUL inside a part from a separator ("a\x00b", "c" and
// "a", "b\x00c" give the same digest), so parts that may hold a NUL must be
// validated by their callers if that matters.
package ids

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Sum is the SHA-256 digest of an id's parts.
type Sum [sha256.Size]byte

// Terminated is the digest of parts, each followed by a NUL byte: the
// formula of signal ids and lineage record event ids.
func Terminated(parts ...string) Sum { return sum(parts, true) }

// Joined is the digest of parts joined by NUL bytes (none after the last):
// the formula of insight ids and lineage run ids.
func Joined(parts ...string) Sum { return sum(parts, false) }

func sum(parts []string, terminated bool) Sum {
	// Ids are short: a stack buffer holds most inputs, so deriving one
	// allocates only its string.
	b := make([]byte, 0, 256)
	for i, p := range parts {
		if i > 0 && !terminated {
			b = append(b, 0)
		}
		b = append(b, p...)
		if terminated {
			b = append(b, 0)
		}
	}
	return sha256.Sum256(b)
}

// Hex is the first n hex digits of s (n at most 64).
func (s Sum) Hex(n int) string { return hex.EncodeToString(s[:(n+1)/2])[:n] }

// UUID formats the first 16 bytes of s as a version 8 (custom) RFC 9562
// UUID.
func (s Sum) UUID() string {
	s[6] = s[6]&0x0f | 0x80
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// Digest64 is the first 8 bytes of the SHA-256 of s, big-endian: a fixed
// size id for dedupe windows, whatever the length of s. Two distinct ids
// collide with probability 2^-64 per pair.
func Digest64(s string) uint64 {
	h := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(h[:8])
}
