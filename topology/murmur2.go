package topology

import "hash"

// The AI Service produces with aiokafka, which (like the Java client) places a
// keyed record on partition toPositive(murmur2(key)) % n. Every producer, loop,
// table and view in aistream must agree with it, or a view cannot find a key
// the AI Service produced. sarama's and goka's default is FNV-1a.

// murmur2 is Kafka's variant of MurmurHash2 (seed 0x9747b28c), as in the Java
// client's org.apache.kafka.common.utils.Utils.murmur2.
func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	n := length / 4
	for i := 0; i < n; i++ {
		k := uint32(data[i*4]) | uint32(data[i*4+1])<<8 | uint32(data[i*4+2])<<16 | uint32(data[i*4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n*4:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// PartitionFor returns the partition the Java client and aiokafka choose for
// key among n partitions.
func PartitionFor(key []byte, n int32) int32 {
	if n <= 0 {
		return 0
	}
	return int32(murmur2(key)&0x7fffffff) % n
}

// murmur2Hash adapts murmur2 to hash.Hash32 for sarama and goka. Sum32 is
// already masked to 31 bits: sarama's and goka's partitioners take the
// absolute value of the signed hash, the Java client masks the sign bit, and
// the two agree only on non-negative values.
type murmur2Hash struct{ buf []byte }

// NewHash returns the project's partitioning hash; pass it to
// goka.WithHasher, goka.WithViewHasher, goka.WithEmitterHasher and
// sarama.NewCustomHashPartitioner.
func NewHash() hash.Hash32 { return &murmur2Hash{} }

func (h *murmur2Hash) Write(p []byte) (int, error) { h.buf = append(h.buf, p...); return len(p), nil }
func (h *murmur2Hash) Sum(b []byte) []byte {
	s := h.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}
func (h *murmur2Hash) Reset()         { h.buf = h.buf[:0] }
func (h *murmur2Hash) Size() int      { return 4 }
func (h *murmur2Hash) BlockSize() int { return 4 }
func (h *murmur2Hash) Sum32() uint32  { return murmur2(h.buf) & 0x7fffffff }
