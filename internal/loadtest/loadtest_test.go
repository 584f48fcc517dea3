package loadtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond, 0.999: 999 * time.Millisecond} {
		if got := quantile(d, q); got != want {
			t.Errorf("quantile %v = %v, want %v", q, got, want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing must be 0")
	}
}

// Every target is called, a wrong status counts as an error with its path,
// and the header reaches the server.
func TestRunCountsPerTarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	h := http.Header{}
	h.Set("Authorization", "Bearer t")
	rs, err := Run(context.Background(), Config{BaseURL: srv.URL, Header: h, Clients: 4, Duration: 300 * time.Millisecond, Rate: 400,
		Targets: []Target{{Name: "ok", Paths: []string{"/a", "/b"}}, {Name: "bad", Paths: []string{"/bad"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Requests == 0 || rs[0].Errors != 0 || rs[0].P99 <= 0 {
		t.Errorf("ok target: %+v", rs[0])
	}
	if rs[1].Requests == 0 || rs[1].Errors != rs[1].Requests || !strings.Contains(rs[1].FirstError, "/bad: status 500") {
		t.Errorf("bad target: %+v", rs[1])
	}
	var out bytes.Buffer
	Print(&out, "t", rs, "ok")
	if !strings.Contains(out.String(), "1.00x") {
		t.Errorf("report without the ratio to the base target:\n%s", out.String())
	}
}
