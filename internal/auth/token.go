// Package auth holds the API's bearer tokens: their format, the token file
// that stores them hashed, and a Store that verifies a presented token and
// reloads the file without a restart.
//
// A token is "ast_<id>_<secret>": id is 16 hex digits, public (it names the
// token in "tokens list", "tokens revoke" and every audit event), and secret
// is 256 random bits in 64 hex digits. The file stores only the SHA-256 of
// the whole token. A slow password hash (bcrypt, scrypt, argon2) exists to
// make guessing a low-entropy password expensive; a 256-bit random secret
// cannot be guessed whatever the hash, so a slow hash would only add
// milliseconds of CPU to every request and buy nothing. The stored hash is
// compared in constant time (crypto/subtle), after a lookup by the public id.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/audit"
)

// Prefix starts every token, so a leaked one is recognisable (secret scanners).
const Prefix = "ast_"

const (
	idHexLen     = 16
	secretHexLen = 64
)

// Token is one token file entry: never the token itself, only its hash.
type Token struct {
	ID      string    `json:"id"`
	SHA256  string    `json:"sha256"`
	Tenant  string    `json:"tenant,omitempty"`
	Admin   bool      `json:"admin,omitempty"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
}

// Scope describes what the token may read: "admin" or "tenant <t>".
func (t Token) Scope() string {
	if t.Admin {
		return "admin"
	}
	return "tenant " + t.Tenant
}

// validate checks an entry read from a file.
func (t Token) validate() error {
	switch {
	case !isHex(t.ID, idHexLen):
		return fmt.Errorf("token id %q: want %d lowercase hex digits", t.ID, idHexLen)
	case !isHex(t.SHA256, 64):
		return fmt.Errorf("token %s: sha256 must be 64 lowercase hex digits", t.ID)
	case t.Admin && t.Tenant != "":
		return fmt.Errorf("token %s: an admin token has no tenant", t.ID)
	case !t.Admin && !codecs.ValidTenant(t.Tenant):
		return fmt.Errorf("token %s: tenant %q is not a valid tenant id", t.ID, t.Tenant)
	case t.Tenant == audit.SystemTenant:
		return fmt.Errorf("token %s: tenant %q is reserved for aistream's own audit events", t.ID, t.Tenant)
	case len(t.Name) > 200:
		return fmt.Errorf("token %s: name longer than 200 bytes", t.ID)
	}
	return nil
}

// New makes a token for tenant (or admin, with tenant empty): the token to
// hand out once, and the entry to store.
func New(tenant string, admin bool, name string, now time.Time) (string, Token, error) {
	if admin && tenant != "" {
		return "", Token{}, errors.New("a token is either for one tenant (--tenant) or admin (--admin), not both")
	}
	if !admin && !codecs.ValidTenant(tenant) {
		return "", Token{}, fmt.Errorf("tenant %q is not a valid tenant id", tenant)
	}
	if tenant == audit.SystemTenant {
		return "", Token{}, fmt.Errorf("tenant %q is reserved for aistream's own audit events; admin tokens read it", tenant)
	}
	if len(name) > 200 {
		return "", Token{}, errors.New("the name is longer than 200 bytes")
	}
	raw := make([]byte, idHexLen/2+secretHexLen/2)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, fmt.Errorf("random source: %w", err)
	}
	id := hex.EncodeToString(raw[:idHexLen/2])
	tok := Prefix + id + "_" + hex.EncodeToString(raw[idHexLen/2:])
	return tok, Token{ID: id, SHA256: hashOf(tok), Tenant: tenant, Admin: admin, Name: name, Created: now.UTC().Truncate(time.Second)}, nil
}

// ParseID returns a presented token's public id, or false when it does not
// have the token format.
func ParseID(tok string) (string, bool) {
	rest, ok := strings.CutPrefix(tok, Prefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || !isHex(id, idHexLen) || !isHex(secret, secretHexLen) {
		return "", false
	}
	return id, true
}

func hashOf(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// matches compares tok's hash with the stored one in constant time.
func (t Token) matches(tok string) bool {
	want, err := hex.DecodeString(t.SHA256)
	if err != nil {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
