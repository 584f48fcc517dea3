package deadletters_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/deadletters"
	"github.com/aistream/aistream/topology"
)

// A scan over SASL/SCRAM selects the Limit oldest matching dead letters
// from every partition, from --since on, whatever order they were written
// in, and returns once it has read to the end offsets.
func TestScanSelectsTheOldestMatchesOverSCRAM(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "ops", "s3cret-pass"), kfake.SeedTopics(3, topology.DeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := config.Kafka{
		BootstrapServers: c.ListenAddrs(), SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "SCRAM-SHA-256",
		SASLUsername: "ops", SASLPassword: "s3cret-pass", ClientID: "aistream-test",
	}
	opts, err := deadletters.ClientOptions(k)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	base := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	// Second s on partition s%3, every third another reason; partition 2
	// is written first, so the order of the records is not time order.
	var recs []*kgo.Record
	for _, part := range []int{2, 0, 1} {
		for s := part; s < 30; s += 3 {
			reason := codecs.ReasonProcessing
			if s%3 == 2 {
				reason = codecs.ReasonNotJSON
			}
			r := deadRecord(int32(part), 0, []byte("t"), []byte(feedback), reason)
			r.Timestamp = base.Add(time.Duration(s) * time.Second)
			recs = append(recs, r)
		}
	}
	// Record times are the producer's: one may be older than those before it.
	late := deadRecord(0, 0, []byte("t"), []byte(feedback), codecs.ReasonProcessing)
	late.Timestamp = base.Add(5 * time.Second)
	recs = append(recs, late)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	f := deadletters.Filter{Reason: codecs.ReasonProcessing, Since: base.Add(10 * time.Second), Limit: 4}
	var p deadletters.Progress
	sel, err := deadletters.Scan(ctx, opts, f, &p)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, d := range sel.Records {
		got = append(got, int(d.Time.Sub(base)/time.Second))
	}
	// Seconds 10-29 but those ≡ 2 (mod 3).
	want := []int{10, 12, 13, 15}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("selected seconds %v, want %v", got, want)
	}
	if sel.Matched != 13 {
		t.Errorf("matched %d, want 13 (seconds 10-29 but those ≡ 2 mod 3)", sel.Matched)
	}
	// --since starts every partition at its first record from then on:
	// seconds 0-9 are not read, but the late record after them is.
	if done, total := p.Counts(); sel.Read != 21 || done != 21 || total != 21 {
		t.Errorf("read %d, progress %d/%d, want the 21 records from --since on", sel.Read, done, total)
	}

	k.SASLPassword = "wrong-pass"
	bad, err := deadletters.ClientOptions(k)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	if _, err := deadletters.Scan(short, bad, f, nil); err == nil {
		t.Error("a wrong password read the topic")
	} else if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("the error shows the password: %v", err)
	}
}
