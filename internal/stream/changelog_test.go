package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeSink is a broker the test answers for: every record produced waits
// in sent until ack or fail answers it, with the offset its topic and
// partition reached, like the broker.
type fakeSink struct {
	mu       sync.Mutex
	sent     []*kgo.Record
	promises map[*kgo.Record]func(*kgo.Record, error)
	offsets  map[string]int64
	closed   bool
}

func newFakeSink() *fakeSink {
	return &fakeSink{promises: map[*kgo.Record]func(*kgo.Record, error){}, offsets: map[string]int64{}}
}

func (f *fakeSink) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		promise(r, kgo.ErrClientClosed)
		return
	}
	f.sent = append(f.sent, r)
	f.promises[r] = promise
	f.mu.Unlock()
}

// Flush waits until every record sent was answered.
func (f *fakeSink) Flush(ctx context.Context) error {
	for {
		f.mu.Lock()
		n := len(f.promises)
		f.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Close fails what is not answered, like kgo.Client.Close.
func (f *fakeSink) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	for {
		m, ok := f.take()
		if !ok {
			return
		}
		f.fail(m, kgo.ErrClientClosed)
	}
}

func (f *fakeSink) records() (out []*kgo.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(out, f.sent...)
}
func (f *fakeSink) take() (m *kgo.Record, ok bool) {
	return f.takeIf(func(*kgo.Record) bool { return true })
}
func (f *fakeSink) waitSent(t *testing.T, n int) []*kgo.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r := f.records(); len(r) >= n {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records produced, want %d: %v", len(f.records()), n, describe(f.records()))
		}
		time.Sleep(time.Millisecond)
	}
}

// takeIf removes the first record sent that match accepts.
func (f *fakeSink) takeIf(match func(*kgo.Record) bool) (*kgo.Record, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.sent {
		if match(m) {
			f.sent = append(f.sent[:i], f.sent[i+1:]...)
			return m, true
		}
	}
	return nil, false
}

// answer calls m's promise, once.
func (f *fakeSink) answer(m *kgo.Record, err error) {
	f.mu.Lock()
	promise := f.promises[m]
	delete(f.promises, m)
	if err == nil {
		f.offsets[m.Topic]++
		m.Offset = f.offsets[m.Topic]
	}
	f.mu.Unlock()
	promise(m, err)
}

// ack answers m as written at the next offset of its topic.
func (f *fakeSink) ack(m *kgo.Record) { f.answer(m, nil) }

func (f *fakeSink) fail(m *kgo.Record, err error) { f.answer(m, err) }

func describe(ms []*kgo.Record) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Topic+"/"+keyOf(m)+"="+valueOf(m))
	}
	return out
}

func keyOf(m *kgo.Record) string {
	if m.Key == nil {
		return "<null>"
	}
	return string(m.Key)
}

func valueOf(m *kgo.Record) string {
	if m.Value == nil {
		return "<tombstone>"
	}
	return string(m.Value)
}

// messageValue is valueOf for the message a promise finished with.
func messageValue(m *sarama.ProducerMessage) string {
	if m.Value == nil {
		return "<tombstone>"
	}
	b, _ := m.Value.Encode()
	return string(b)
}

// result records how a promise finished.
type result struct {
	mu     sync.Mutex
	done   bool
	err    error
	offset int64
	value  string
}

func watch(p *goka.Promise) *result {
	r := new(result)
	p.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.done, r.err = true, err
		if msg != nil {
			r.offset, r.value = msg.Offset, messageValue(msg)
		}
	})
	return r
}

func (r *result) finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// wait returns the offset and value of the record r finished with, and
// its error.
func (r *result) wait(t *testing.T) (int64, string, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r.finished() {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.offset, r.value, r.err
		}
		if time.Now().After(deadline) {
			t.Fatal("promise not finished")
		}
		time.Sleep(time.Millisecond)
	}
}

const testGroup = "g"

var testChangelog = string(goka.GroupTable(testGroup))

// mergingProducer is a group's producer merging every interval, holding
// at most maxBytes; the fake broker answers nothing by itself.
func mergingProducer(t *testing.T, interval time.Duration, maxBytes int) (*producer, *fakeSink) {
	t.Helper()
	f := newFakeSink()
	p := newProducer(f, NewMetrics(), testGroup, 0)
	p.merge = newChangelogMerge(p, testChangelog, interval, maxBytes)
	return p, f
}

// closeProducer closes p while answering what it still produces.
func closeProducer(t *testing.T, p *producer, f *fakeSink) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(time.Millisecond):
		}
		for {
			m, ok := f.take()
			if !ok {
				break
			}
			f.ack(m)
		}
	}
}

// Writes of one key between two flushes become one changelog record; each
// superseded write's promise finishes when that record is acknowledged,
// with its offset, and not before.
func TestChangelogMergeFinishesSupersededWritesWithTheLaterAck(t *testing.T) {
	p, f := mergingProducer(t, time.Hour, 1<<20)
	var rs []*result
	for i := range 100 {
		rs = append(rs, watch(p.Emit(testChangelog, "hot", fmt.Appendf(nil, "v%d", i))))
	}
	if got := f.records(); len(got) != 0 {
		t.Fatalf("held writes produced before a flush: %v", describe(got))
	}
	p.merge.flush(false)
	sent := f.waitSent(t, 1)
	if len(sent) != 1 || keyOf(sent[0]) != "hot" || valueOf(sent[0]) != "v99" {
		t.Fatalf("produced %v, want one record hot=v99", describe(sent))
	}
	time.Sleep(20 * time.Millisecond)
	for i, r := range rs {
		if r.finished() {
			t.Fatalf("write %d finished before its record was acknowledged", i)
		}
	}
	m, _ := f.take()
	f.ack(m)
	for i, r := range rs {
		off, v, err := r.wait(t)
		if err != nil || off != 1 || v != "v99" {
			t.Errorf("write %d finished with %v, offset %d, value %q; want the ack of v99 at offset 1", i, err, off, v)
		}
	}
	closeProducer(t, p, f)
}

// A failed record fails every write it carried.
func TestChangelogMergeErrorReachesEverySupersededWrite(t *testing.T) {
	p, f := mergingProducer(t, time.Hour, 1<<20)
	a := watch(p.Emit(testChangelog, "k", []byte("1")))
	b := watch(p.Emit(testChangelog, "k", []byte("2")))
	other := watch(p.Emit(testChangelog, "other", []byte("x")))
	p.merge.flush(false)
	f.waitSent(t, 2)
	boom := errors.New("broker says no")
	m, _ := f.takeIf(func(m *kgo.Record) bool { return keyOf(m) == "k" })
	f.fail(m, boom)
	for _, r := range []*result{a, b} {
		if _, _, err := r.wait(t); !errors.Is(err, boom) {
			t.Errorf("write of k finished with %v, want %v", err, boom)
		}
	}
	if other.finished() {
		t.Error("another key's write finished with k's failure")
	}
	closeProducer(t, p, f)
	if _, _, err := other.wait(t); err != nil {
		t.Errorf("other key: %v", err)
	}
}

// A delete (nil value) is a write like any other: it supersedes and is
// superseded, and a key's last word is what is produced.
func TestChangelogMergeTombstones(t *testing.T) {
	p, f := mergingProducer(t, time.Hour, 1<<20)
	set := watch(p.Emit(testChangelog, "a", []byte("1")))
	del := watch(p.Emit(testChangelog, "a", nil))
	p.Emit(testChangelog, "b", nil)
	p.Emit(testChangelog, "b", []byte("back"))
	p.merge.flush(false)
	sent := f.waitSent(t, 2)
	got := map[string]string{}
	for _, m := range sent {
		got[keyOf(m)] = valueOf(m)
	}
	if len(sent) != 2 || got["a"] != "<tombstone>" || got["b"] != "back" {
		t.Fatalf("produced %v, want a's tombstone and b=back", describe(sent))
	}
	m, _ := f.takeIf(func(m *kgo.Record) bool { return keyOf(m) == "a" })
	f.ack(m)
	for _, r := range []*result{set, del} {
		if _, v, err := r.wait(t); err != nil || v != "<tombstone>" {
			t.Errorf("write of a finished with %v %q, want the tombstone's ack", err, v)
		}
	}
	closeProducer(t, p, f)
}

// Held bytes past the bound are produced at once; the interval produces
// the rest; Close produces what is still held, and nothing is lost.
func TestChangelogMergeFlushesOnSizeIntervalAndClose(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		p, f := mergingProducer(t, time.Hour, 100)
		p.Emit(testChangelog, "a", make([]byte, 60))
		if n := len(f.records()); n != 0 {
			t.Fatalf("%d records produced below the bound", n)
		}
		p.Emit(testChangelog, "a", make([]byte, 70)) // 71 held: still below
		if n := len(f.records()); n != 0 {
			t.Fatalf("%d records produced below the bound (a superseded value counts once)", n)
		}
		p.Emit(testChangelog, "b", make([]byte, 40)) // 112: past it
		if sent := f.waitSent(t, 2); len(sent) != 2 {
			t.Fatalf("produced %v, want a and b", describe(sent))
		}
		closeProducer(t, p, f)
	})
	t.Run("interval", func(t *testing.T) {
		p, f := mergingProducer(t, 10*time.Millisecond, 1<<20)
		r := watch(p.Emit(testChangelog, "a", []byte("x")))
		m := f.waitSent(t, 1)[0]
		f.take()
		f.ack(m)
		if _, _, err := r.wait(t); err != nil {
			t.Fatal(err)
		}
		closeProducer(t, p, f)
	})
	t.Run("close", func(t *testing.T) {
		p, f := mergingProducer(t, time.Hour, 1<<20)
		var rs []*result
		for i := range 10 {
			rs = append(rs, watch(p.Emit(testChangelog, fmt.Sprint(i%3), []byte{byte(i)})))
		}
		closeProducer(t, p, f)
		for i, r := range rs {
			if _, _, err := r.wait(t); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	})
}

// Outputs, the loop topic and null-key records are never held; the
// changelog is merged only with a group and an interval.
func TestChangelogMergeOnlyTheGroupsChangelog(t *testing.T) {
	p, f := mergingProducer(t, time.Hour, 1<<20)
	p.Emit("output", "k", []byte("1"))
	p.Emit("output", "k", []byte("2"))
	p.Emit(testGroup+"-loop", "k", []byte("loop"))
	p.EmitWithHeaders(testChangelog, "", []byte("n"), goka.Headers{HeaderNullKey: nil})
	if sent := f.waitSent(t, 4); len(sent) != 4 {
		t.Fatalf("produced %v, want all four at once", describe(sent))
	}
	closeProducer(t, p, f)

	for _, c := range []struct {
		group string
		flush time.Duration
	}{{"", time.Second}, {testGroup, 0}} {
		if p := newProducer(newFakeSink(), nil, c.group, c.flush); p.merge != nil {
			t.Errorf("group %q, interval %s: merging", c.group, c.flush)
		}
	}
	if p := newProducer(newFakeSink(), nil, testGroup, time.Second); p.merge == nil || p.merge.topic != testChangelog {
		t.Errorf("a group's producer does not merge its changelog %s", testChangelog)
	}
}

// Flushes racing with writes keep each key's records in write order, and
// the last record of each key is its last write.
func TestChangelogMergeKeepsOrderPerKey(t *testing.T) {
	p, f := mergingProducer(t, time.Millisecond, 64)
	const keys, writes = 4, 500
	var wg sync.WaitGroup
	for k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				p.Emit(testChangelog, fmt.Sprint(k), fmt.Appendf(nil, "%06d", i))
			}
		}()
	}
	wg.Wait()
	p.merge.flush(false)
	// Produce is synchronous: every record is in sent.
	sent := f.records()
	last := map[string]string{}
	for _, m := range sent {
		k, v := keyOf(m), valueOf(m)
		if v <= last[k] {
			t.Fatalf("key %s: %s produced after %s", k, v, last[k])
		}
		last[k] = v
	}
	for k := range keys {
		if got := last[fmt.Sprint(k)]; got != fmt.Sprintf("%06d", writes-1) {
			t.Errorf("key %d: last record %q, want its last write", k, got)
		}
	}
	if len(sent) >= keys*writes {
		t.Errorf("%d records for %d writes: nothing merged", len(sent), keys*writes)
	}
	closeProducer(t, p, f)
}
