package stream_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/rs/zerolog"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/kafkatest"
	"github.com/aistream/aistream/internal/stream"
)

// A dead-lettered record is logged once with its reason and origin; an
// accepted one logs nothing.
func TestDeadLetterLogged(t *testing.T) {
	var buf kafkatest.SyncBuffer
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

	out := buf.String()
	lines := bytes.Split(bytes.TrimSpace([]byte(out)), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), out)
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
