package stream_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// A dead-lettered record is logged once with its reason and origin; an
// accepted one logs nothing.
func TestDeadLetterLogged(t *testing.T) {
	var buf syncBuffer
	stream.NewRunner(&stream.Env{Log: zerolog.New(&buf)})
	defer stream.NewRunner(&stream.Env{Log: zerolog.Nop()})
	tt := tester.New(t)
	kafkatest.RunOnTester(t, tt, goka.DefineGroup("log-test",
		goka.Input(goka.Stream("log-in"), new(codec.Bytes), stream.Accept(codecs.Decoder{}, nil, []string{codecs.TypeThinking},
			func(goka.Context, *codecs.Event) {})),
		stream.DeadLetterOutput(),
	))
	tt.Consume("log-in", "k", thinking(t))
	tt.Consume("log-in", "k", []byte("not json"))

	buf.mu.Lock()
	defer buf.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(buf.b.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), buf.b.String())
	}
	var got map[string]any
	if err := json.Unmarshal(lines[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "warn", "message": "record dead-lettered", "group": "log-test",
		"source_topic": "log-in", "partition": float64(0), "offset": float64(1), "reason": string(codecs.ReasonNotJSON)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, lines[0])
		}
	}
}
