package codecs

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Encode of a payload that writes itself is byte for byte the reflection
// path's (encoding/json), error included, on random values.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	envOf := func() Envelope {
		var e Envelope
		fill(r, reflect.ValueOf(&e).Elem(), 0)
		e.Data = nil
		return e
	}
	for i := 0; i < 5000; i++ {
		var s Signal
		fill(r, reflect.ValueOf(&s).Elem(), 0)
		switch r.IntN(40) {
		case 0:
			s.Weight = math.NaN()
		case 1:
			s.Context.LatencyMS = math.Inf(-1)
		case 2:
			s.Feedback.Timestamp = NewTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		env := envOf()
		if r.IntN(40) == 0 {
			env.Timestamp = NewTime(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		// The context alone, and spliced into its signal, are its parts of
		// the signal's bytes.
		ctx, ctxOK := s.Context.AppendJSON(nil)
		if wantCtx, err := Marshal(s.Context); ctxOK != (err == nil) || ctxOK && !bytes.Equal(ctx, wantCtx) {
			t.Fatalf("SignalContext.AppendJSON wrote %s (%v), encoding/json %s (%v)", ctx, ctxOK, wantCtx, err)
		}
		whole, wholeOK := s.AppendJSON(nil)
		if spliced, ok := s.AppendJSONWithContext(nil, ctx); ctxOK && (ok != wholeOK || !bytes.Equal(spliced, whole)) {
			t.Fatalf("AppendJSONWithContext wrote\n%s (%v)\nAppendJSON\n%s (%v)", spliced, ok, whole, wholeOK)
		}
		for _, payload := range []any{s, &s} {
			got, gotErr := Encode(env, payload)
			want, wantErr := encodeReflect(env, payload)
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("Encode: error %v, want %v", gotErr, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode wrote\n%s\nencoding/json\n%s", got, want)
			}
		}
	}
	// A nil pointer is null, as encoding/json writes it.
	got, err := Encode(Envelope{}, (*Signal)(nil))
	want, _ := encodeReflect(Envelope{}, (*Signal)(nil))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("nil signal: %s, %v; want %s", got, err, want)
	}
}

// Every string encoding/json escapes one way or another, one byte or rune
// at a time and mixed.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	var all []string
	for c := 0; c < 0x100; c++ {
		all = append(all, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	all = append(all, "\u2028", "\u2029", "x\u2028y\u2029", "é🙂", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x80", strings.Repeat("<&>\"\\", 50))
	for _, s := range all {
		want, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 1e-6, 1e-7, 9.99999e-7, 1e20, 1e21, 1e21 - 1, 5e-324, math.MaxFloat64, 0.1, 1.0 / 3, 123456789012345678}
	for i := 0; i < 20000; i++ {
		fs = append(fs, math.Float64frombits(r.Uint64()))
	}
	for _, f := range fs {
		want, wantErr := Marshal(f)
		got, ok := AppendFloat(nil, f)
		if ok != (wantErr == nil) || ok && !bytes.Equal(got, want) {
			t.Fatalf("AppendFloat(%v) = %s %v, want %s %v", f, got, ok, want, wantErr)
		}
	}
}

func BenchmarkEncodeSignal(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	var s Signal
	for s.Context.Decisions == nil || s.Context.Thinking == nil {
		s = Signal{}
		fill(r, reflect.ValueOf(&s).Elem(), 0)
	}
	env := Envelope{EventID: "ls-1", EventType: "learning_signal.correction", TenantID: "acme", Timestamp: NewTime(time.Now()), Source: "aistream"}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Encode(env, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeReflect(env, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
