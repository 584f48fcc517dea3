package kafkatest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// GetJSON GETs url with the given header name/value pairs (a pair with an
// empty value is left out), decodes the JSON body into out when out is not
// nil, and returns the status code.
func GetJSON(t testing.TB, url string, out any, headers ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %d, body is not JSON: %v", url, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}
