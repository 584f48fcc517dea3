package stream

import "github.com/lovoo/goka"

// KeyedDecoder parses a message of one of aistream's own topics into the
// state key it belongs under and its value.
type KeyedDecoder[T any] func(raw []byte) (key string, v T, err error)

// Keyed builds the input and loop callbacks of a group that keeps state
// under a key derived from the message: a message that fails to decode is
// dead-lettered; one that is misplaced (another key, or a partition murmur2
// would not choose among partitions) is re-keyed through the loop; the rest
// is applied; a record without a value (a tombstone) is dead-lettered. Loop
// messages were placed by aistream's own producer and are applied directly.
func Keyed[T any](m *Metrics, decode KeyedDecoder[T], apply func(ctx goka.Context, v T)) (input, loop goka.ProcessCallback) {
	handle := func(ctx goka.Context, msg any, rekey bool) {
		span := startSpan(ctx)
		defer endSpan(span)
		ctx = WithTrace(ctx)
		Count(ctx, m)
		if msg == nil {
			DeadLetter(ctx, m, nil, nullValue(ctx))
			return
		}
		raw, _ := msg.([]byte)
		key, v, err := decode(raw)
		if err != nil {
			DeadLetter(ctx, m, raw, err)
			return
		}
		if rekey && Misplaced(ctx, key) {
			ctx.Loopback(key, raw)
			return
		}
		Guard(ctx, m, raw, func() { apply(ctx, v) })
	}
	input = func(ctx goka.Context, msg any) { handle(ctx, msg, true) }
	loop = func(ctx goka.Context, msg any) { handle(ctx, msg, false) }
	return input, loop
}
