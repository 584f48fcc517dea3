package config

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// KAFKA_SSL_CHECK_HOSTNAME=false skips the host name only: a certificate
// from an unknown CA is still refused.
func TestSkippingHostnameCheckStillVerifiesTheChain(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dial := func(k Kafka) error {
		tc, err := k.tlsConfig()
		if err != nil {
			t.Fatal(err)
		}
		tc.ServerName = "not-the-cert-name.example"
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), tc)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(Kafka{SSLCAFile: ca, SSLCheckHostname: false}); err != nil {
		t.Errorf("known CA, host name check off: %v", err)
	}
	if err := dial(Kafka{SSLCAFile: ca, SSLCheckHostname: true}); err == nil {
		t.Error("known CA, wrong host name, check on: accepted")
	}
	if err := dial(Kafka{SSLCheckHostname: false}); err == nil {
		t.Error("unknown CA, host name check off: accepted")
	}
}
