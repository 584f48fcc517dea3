package auth

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

func writeFile(t *testing.T, path string, toks ...Token) {
	t.Helper()
	if err := (&File{Tokens: toks}).Save(path); err != nil {
		t.Fatal(err)
	}
}

func TestTokenVerifyAndScope(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tokA, a, err := New("acme", false, "ci", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokAdmin, adm, _ := New("", true, "", time.Now())
	writeFile(t, path, a, adm)
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), tokA) || strings.Contains(string(b), strings.Split(tokA, "_")[2]) {
		t.Fatal("the token file holds a token or its secret")
	}
	s, err := Open(path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if sc, ok := s.Verify(tokA); !ok || sc.Tenant != "acme" || sc.Admin || sc.Actor != a.ID {
		t.Fatalf("tenant token: %+v %v", sc, ok)
	}
	if sc, ok := s.Verify(tokAdmin); !ok || !sc.Admin || sc.Tenant != "" {
		t.Fatalf("admin token: %+v %v", sc, ok)
	}
	// Same id, other secret; a wrong format; empty.
	forged := tokA[:len(tokA)-1] + map[bool]string{true: "0", false: "1"}[tokA[len(tokA)-1] != '0']
	for _, bad := range []string{forged, "", "ast_", tokA + "0", strings.ToUpper(tokA), "Bearer " + tokA} {
		if _, ok := s.Verify(bad); ok {
			t.Errorf("%q verified", bad)
		}
	}
}

func TestReloadKeepsLastGoodSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok1, t1, _ := New("acme", false, "", time.Now())
	writeFile(t, path, t1)
	s, err := Open(path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tok2, t2, _ := New("globex", false, "", time.Now())
	f, _ := Load(path)
	f.Tokens = append(f.Tokens, t2)
	f.Revoke(t1.ID)
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	if _, ok := s.Verify(tok1); ok {
		t.Error("a revoked token still verifies after the reload")
	}
	if _, ok := s.Verify(tok2); !ok {
		t.Error("a new token does not verify after the reload")
	}
	if err := os.WriteFile(path, []byte(`{"tokens": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	if _, ok := s.Verify(tok2); !ok {
		t.Error("a broken file dropped the last good tokens")
	}
	if got := testutil.ToFloat64(s.reloads.WithLabelValues("error")); got != 1 {
		t.Errorf("reload errors = %v, want 1", got)
	}
}

func TestLoadRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	_, tk, _ := New("acme", false, "", time.Now())
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, tk)
	cases := map[string]func() string{
		"readable by others": func() string {
			p := filepath.Join(dir, "o.json")
			writeFile(t, p, tk)
			_ = os.Chmod(p, 0o644)
			return p
		},
		"group writable": func() string {
			p := filepath.Join(dir, "gw.json")
			writeFile(t, p, tk)
			_ = os.Chmod(p, 0o660)
			return p
		},
		"symlink to a readable-by-others file": func() string {
			o := filepath.Join(dir, "o2.json")
			writeFile(t, o, tk)
			_ = os.Chmod(o, 0o644)
			p := filepath.Join(dir, "l2.json")
			_ = os.Symlink(o, p)
			return p
		},
		"directory": func() string { return dir },
		"too big": func() string {
			p := filepath.Join(dir, "big.json")
			_ = os.WriteFile(p, make([]byte, MaxFileBytes+1), 0o600)
			return p
		},
		"unknown field": func() string {
			p := filepath.Join(dir, "u.json")
			_ = os.WriteFile(p, []byte(`{"tokens": [], "token": "x"}`), 0o600)
			return p
		},
		"bad tenant": func() string {
			p := filepath.Join(dir, "t.json")
			bad := tk
			bad.Tenant = "../x"
			writeFile(t, p, bad)
			return p
		},
		"duplicate id": func() string { p := filepath.Join(dir, "d.json"); writeFile(t, p, tk, tk); return p },
		"missing":      func() string { return filepath.Join(dir, "none.json") },
	}
	for name, mk := range cases {
		if _, err := Load(mk()); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := Load(good); err != nil {
		t.Fatal(err)
	}
	// What Kubernetes mounts: a symlink (into ..data) to a file the pod's
	// fsGroup may read.
	mounted := filepath.Join(dir, "mounted.json")
	writeFile(t, mounted, tk)
	_ = os.Chmod(mounted, 0o440)
	link := filepath.Join(dir, "link.json")
	_ = os.Symlink(mounted, link)
	if _, err := Load(link); err != nil {
		t.Errorf("a group-readable file through a symlink (a Kubernetes mount): %v", err)
	}
}

// The system tenant of aistream's own audit events gets no token: only
// admins read it.
func TestSystemTenantIsReserved(t *testing.T) {
	if _, _, err := New("aistream", false, "", time.Now()); err == nil {
		t.Error("a token for the system tenant was issued")
	}
	entry := Token{ID: "0123456789abcdef", SHA256: strings.Repeat("a", 64), Tenant: "aistream"}
	if err := entry.validate(); err == nil {
		t.Error("a token file entry for the system tenant is accepted")
	}
}

// SIGHUP reloads even a change the poll cannot see (same size and mtime).
func TestSIGHUPReloads(t *testing.T) {
	// The test process survives a SIGHUP sent before Watch listens, and one
	// still in flight when the test ends: hup stays registered for the rest
	// of the test binary (never Stopped; a full channel drops the signal).
	// Stopping it let a late SIGHUP take the default action and kill the
	// binary ("signal: hangup" in a CI run).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok1, t1, _ := New("acme", false, "one", time.Now())
	writeFile(t, path, t1)
	fi, _ := os.Stat(path)
	s, err := Open(path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, time.Hour)
	tok2, t2, _ := New("acme", false, "two", t1.Created)
	writeFile(t, path, t2)
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
		t.Fatalf("sizes differ (%d, %d): the test needs a change the poll cannot see", fi.Size(), fi2.Size())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
		_, ok1 := s.Verify(tok1)
		if _, ok2 := s.Verify(tok2); ok2 && !ok1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the token file")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
