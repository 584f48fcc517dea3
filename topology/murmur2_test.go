package topology

import (
	"testing"

	"github.com/IBM/sarama"
)

// Vectors from the Java client's UtilsTest.testMurmur2.
func TestMurmur2MatchesJavaClient(t *testing.T) {
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for in, want := range cases {
		if got := int32(murmur2([]byte(in))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestSaramaPartitionerAgreesWithPartitionFor(t *testing.T) {
	p := sarama.NewCustomHashPartitioner(NewHash)("t")
	for _, key := range []string{"trace-1", "trace-2", "abc", "21", "foobar", "acme-corp|router", "x"} {
		for _, n := range []int32{1, 3, 6, 7} {
			got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			if want := PartitionFor([]byte(key), n); got != want {
				t.Errorf("key %q n=%d: sarama chose %d, Java client chooses %d", key, n, got, want)
			}
		}
	}
}

// PartitionsOf answers what finding the topic in Contract answers, for
// every contract topic and for names that are none.
func TestPartitionsOfIsTheContract(t *testing.T) {
	for _, name := range []string{"", "nope", GroupTable("aistream-agent-quality"), FeedbackEvents + "x"} {
		if n, ok := PartitionsOf(name); ok || n != 0 {
			t.Errorf("PartitionsOf(%q) = %d, %v; not a contract topic", name, n, ok)
		}
	}
	for _, c := range Contract() {
		if n, ok := PartitionsOf(c.Name); !ok || n != c.Partitions {
			t.Errorf("PartitionsOf(%q) = %d, %v; the contract has %d", c.Name, n, ok, c.Partitions)
		}
	}
}
