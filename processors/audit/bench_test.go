package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aistream/aistream/processors/audit"
)

// BenchmarkFullBucketRewrite is the cost of one event into a full bucket:
// the table value decoded and encoded again (what bounds a hot tenant).
func BenchmarkFullBucketRewrite(b *testing.B) {
	for _, n := range []int{audit.DefaultConfig().MaxPerKey, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			bk := &audit.Bucket{}
			for i := range n {
				bk.Events = append(bk.Events, audit.Entry{EventID: fmt.Sprintf("aud-%032d", i), Time: time.Now(), Source: "aistream",
					Actor: "0123456789abcdef", Action: "read", Resource: "GET /v1/traces/trace-0123456789", Outcome: "success",
					Details: map[string]string{"status": "200", "route": "/v1/traces/{trace_id}"}})
			}
			var c audit.Codec
			raw, _ := c.Encode(bk)
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for range b.N {
				v, err := c.Decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Encode(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
