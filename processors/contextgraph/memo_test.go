package contextgraph

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// TestMain runs every test of the package with the memo checking each
// encoding that copied sections of an earlier one against the full
// encoding, and fails the run if any differed. Benchmarks run without the
// check (it is a full encoding per write).
func TestMain(m *testing.M) {
	flag.Parse()
	checkSplices = flag.Lookup("test.bench").Value.String() == ""
	code := m.Run()
	if n := spliceMismatches.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "%d encodings that copied sections of the previous one differ from the full encoding\n", n)
		code = 1
	}
	os.Exit(code)
}

// checkMemo asserts the memo's invariant: every entry's graph encodes to
// the entry's bytes (so a hit is what decoding would give).
func checkMemo(t *testing.T, m *TableCodec, after string) {
	t.Helper()
	for _, e := range m.entries() {
		b, err := GraphCodec{}.Encode(e.g)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != e.b {
			t.Fatalf("after %s: the memo's graph of trace %s no longer encodes to its bytes (a handler changed it without SetValue)", after, e.g.TraceID)
		}
	}
}

// Every path of the handler, on a trace driven past every bound: new
// entries, replaced decisions and spans, older versions, duplicates,
// feedback kept and dropped (and their duplicates), another tenant's events
// for the trace (re-keyed to its scoped key, then applied there), events
// under a key that is not their trace's. After every event the memo holds
// only graphs that encode to their bytes, and past the bounds an event
// decodes nothing.
func TestMemoEntriesEncodeToTheirBytes(t *testing.T) {
	c := DefaultConfig()
	c.MaxThinkingSteps, c.MaxSpans, c.MaxDecisions, c.MaxFeedback = 4, 4, 3, 3
	h := newHarness(t, c)
	var sent []env
	send := func(e env) {
		t.Helper()
		h.event(e)
		sent = append(sent, e)
		checkMemo(t, h.memo, e.id)
	}
	for i := range 12 {
		at := time.Duration(i) * time.Second
		id := fmt.Sprint("m-", i)
		send(thinking(id+"-t", "tr-m", at, i))
		send(decision(id+"-d", "tr-m", at).with("decision_id", fmt.Sprint("dec-", i%4)))
		send(decision(id+"-d-old", "tr-m", at-time.Hour).with("decision_id", fmt.Sprint("dec-", i%4)))
		send(span(id+"-s", "tr-m", at, i%3 == 0).with("span_id", fmt.Sprint("span-", i%5)))
		send(feedback(id+"-f", "tr-m", at, "down").with("user_id", fmt.Sprint("u", i%2)))
		send(thinking(id+"-g", "tr-m", at, i).as("globex"))
		h.send(sent[len(sent)-3].topic(), "not-the-trace", sent[len(sent)-3].bytes())
		checkMemo(t, h.memo, id+" under another key")
	}
	for _, e := range sent { // every one a duplicate now
		h.event(e)
		checkMemo(t, h.memo, "duplicate "+e.id)
	}
	h.drain()

	// Past every bound, with the graph in the memo: no decode at all.
	misses := h.memo.misses()
	for i := range 20 {
		h.event(thinking(fmt.Sprint("late-", i), "tr-m", time.Hour, 100+i))
		h.event(span(fmt.Sprint("late-s-", i), "tr-m", time.Hour, false))
	}
	if h.memo.misses() != misses {
		t.Errorf("events past the bounds decoded the graph %d times, want 0", h.memo.misses()-misses)
	}
	if h.memo.hits() == 0 {
		t.Error("the memo never hit")
	}
	if h.memo.spliced.Load() == 0 {
		t.Error("no dropped feedback's encoding copied the head")
	}
	checkMemo(t, h.memo, "the late events")
	if g := h.graph("tr-m"); len(g.Thinking) != 4 || !g.Truncated.Thinking || len(g.Feedback) != 3 {
		t.Errorf("graph: %d steps (truncated %v), %d feedback", len(g.Thinking), g.Truncated.Thinking, len(g.Feedback))
	}
}

// The memo's result does not depend on it: a run with it and decoding
// every graph afresh (GraphCodec) build the same graphs and signals.
func TestMemoChangesNothingTheGroupDoes(t *testing.T) {
	c := DefaultConfig()
	c.MaxThinkingSteps, c.MaxFeedback = 5, 2
	run := func(memo bool) (graphs, signals []string) {
		h := newHarness(t, c)
		if !memo {
			h.memo.memo = nil // GraphCodec's decode every time
		}
		for i := range 30 {
			trace := fmt.Sprint("tr-", i%3)
			at := time.Duration(i) * time.Second
			h.event(thinking(fmt.Sprint("t-", i), trace, at, i))
			h.event(span(fmt.Sprint("s-", i), trace, at, i%4 == 0))
			h.event(feedback(fmt.Sprint("f-", i), trace, at, "up").with("user_id", fmt.Sprint("u", i%3)))
			h.event(thinking(fmt.Sprint("t-", i), trace, at, i)) // duplicate
		}
		for _, r := range h.drain() {
			signals = append(signals, fmt.Sprintf("%s %s %d", r.Key, r.Env.EventID, r.Sig.Revision))
		}
		for i := range 3 {
			b, _ := GraphCodec{}.Encode(h.graph(fmt.Sprint("tr-", i)))
			graphs = append(graphs, string(b))
		}
		if memo && h.memo.hits() == 0 {
			t.Error("the memo never hit")
		}
		return graphs, signals
	}
	g1, s1 := run(true)
	g2, s2 := run(false)
	if fmt.Sprint(s1) != fmt.Sprint(s2) {
		t.Errorf("signals with the memo:\n%v\nwithout:\n%v", s1, s2)
	}
	for i := range g1 {
		if g1[i] != g2[i] {
			t.Errorf("graph tr-%d differs with the memo", i)
		}
	}
}

// forget drops a graph the caller may have changed; Encode replaces a
// graph's entry; the bounds hold; concurrent partitions are safe (-race).
func TestMemoForgetsReplacesAndStaysBounded(t *testing.T) {
	m := newTableCodec()
	b, _ := GraphCodec{}.Encode(newGraph("acme", "tr-1"))
	v, _ := m.Decode(b)
	g := v.(*Graph)
	if v2, _ := m.Decode(b); v2 != v {
		t.Fatal("a second decode of the same bytes missed")
	}
	g.Events = 7 // changed, not encoded
	m.forget(g)
	if v3, _ := m.Decode(append([]byte(nil), b...)); v3 == v || v3.(*Graph).Events != 0 {
		t.Fatal("a forgotten graph was returned")
	}
	g.Events = 8
	b8, _ := m.Encode(g)
	if v4, _ := m.Decode(b8); v4 != g {
		t.Fatal("the bytes just encoded decoded again")
	}
	if len(m.entries()) != 2 { // tr-1 as decoded after the forget, and g
		t.Fatalf("%d entries, want 2", len(m.entries()))
	}

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range memoEntries {
				g := newGraph("acme", fmt.Sprintf("tr-%d-%d", w, i))
				b, _ := m.Encode(g)
				if v, _ := m.Decode(b); v.(*Graph).TraceID != g.TraceID {
					t.Errorf("decoded %s, want %s", v.(*Graph).TraceID, g.TraceID)
				}
			}
		})
	}
	wg.Wait()
	if n := len(m.entries()); n > memoEntries {
		t.Errorf("%d entries, bound %d", n, memoEntries)
	}
	big := newGraph("acme", "big")
	for i := range 400 {
		big.Thinking = append(big.Thinking, Step{EventID: fmt.Sprint(i), Content: string(make([]byte, 2000))})
	}
	for range 40 {
		big.Events++
		bb, _ := m.Encode(big)
		cp := *big
		cp.Thinking = append([]Step(nil), big.Thinking...)
		big = &cp
		_ = bb
	}
	if m.memo.Size() > memoBytes {
		t.Errorf("%d bytes held, bound %d", m.memo.Size(), memoBytes)
	}
}

// The zero TableCodec (views) is GraphCodec: nothing remembered, a fresh
// graph per decode.
func TestZeroTableCodecRemembersNothing(t *testing.T) {
	var m TableCodec
	b, err := m.Encode(newGraph("acme", "tr-v"))
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := m.Decode(b)
	v2, err := m.Decode(b)
	if err != nil || v1 == v2 || v1.(*Graph).TraceID != "tr-v" {
		t.Fatalf("decoded %v and %v (%v): want two equal, distinct graphs", v1, v2, err)
	}
	m.keep(v1.(*Graph), allSections)
	m.forget(v1.(*Graph))
	if len(m.entries()) != 0 {
		t.Fatal("the zero codec remembered a graph")
	}
}
