package lineage

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aistream/aistream/codecs"
)

// randText is a short string of the pieces encoding/json treats apart:
// quotes, backslashes, control characters, HTML characters (not escaped:
// codecs.Marshal), U+2028, non-ASCII and bytes that are not UTF-8.
func randText(r *rand.Rand) string {
	pieces := []string{"", "a", "acme", "orders.id", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", "é", "🙂", "<&>", "\u2028", "\u2029", "\xff", "\xed\xa0\x80", "/"}
	var b strings.Builder
	for n := r.IntN(5); n > 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randRecord(r *rand.Rand) Record {
	t := time.Unix(r.Int64N(7e9), r.Int64N(2)*r.Int64N(1e9))
	if r.IntN(3) == 0 {
		t = t.In(time.FixedZone("", (r.IntN(48)-24)*1800))
	}
	switch r.IntN(30) {
	case 0:
		t = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // encoding/json refuses it
	case 1:
		t = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	case 2:
		t = time.Time{}
	}
	rec := Record{RunState: randText(r), EventTime: codecs.NewTime(t), SourceEventID: randText(r),
		Run:    RecordRun{RunID: randText(r)},
		Job:    RecordJob{Namespace: randText(r), Name: randText(r), SQL: randText(r), SQLHash: randText(r), Dialect: randText(r)},
		UserID: randText(r), TraceID: randText(r), Status: randText(r)}
	datasets := func() []RecordDataset {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []RecordDataset{}
		}
		ds := make([]RecordDataset, r.IntN(4))
		for i := range ds {
			ds[i] = RecordDataset{Namespace: randText(r), Name: randText(r)}
			switch r.IntN(4) {
			case 0:
			case 1:
				ds[i].ColumnLineage = map[string][]RecordField{}
			default:
				ds[i].ColumnLineage = map[string][]RecordField{}
				for n := r.IntN(4); n > 0; n-- {
					var fs []RecordField
					switch r.IntN(4) {
					case 0:
					case 1:
						fs = []RecordField{}
					default:
						for k := r.IntN(3) + 1; k > 0; k-- {
							fs = append(fs, RecordField{Namespace: randText(r), Name: randText(r), Field: randText(r)})
						}
					}
					ds[i].ColumnLineage[randText(r)] = fs
				}
			}
		}
		return ds
	}
	rec.Inputs, rec.Outputs = datasets(), datasets()
	return rec
}

// Record.AppendJSON writes what encoding/json writes, byte for byte, and
// fails where it fails; codecs.Encode of a record (the appender's path)
// gives the reflection path's bytes and error.
func TestRecordAppendMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	failed := 0
	for i := 0; i < 5000; i++ {
		rec := randRecord(r)
		want, wantErr := codecs.Marshal(rec)
		got, ok := rec.AppendJSON(nil)
		if ok != (wantErr == nil) {
			t.Fatalf("AppendJSON ok %v, encoding/json error %v (event time %v)", ok, wantErr, rec.EventTime)
		}
		if !ok {
			failed++
			if _, err := codecs.Encode(codecs.Envelope{EventType: RecordType}, &rec); err == nil {
				t.Fatalf("Encode of a record encoding/json refuses: no error")
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON wrote\n%s\nencoding/json\n%s", got, want)
		}
		env := codecs.Envelope{EventID: randText(r), EventType: RecordType, TenantID: randText(r), Timestamp: codecs.NewTime(time.Unix(r.Int64N(4e9), 0)), Source: "aistream"}
		enc, err := codecs.Encode(env, &rec)
		if err != nil {
			t.Fatal(err)
		}
		env.Data = want
		ref, err := codecs.Marshal(env)
		if err != nil || !bytes.Equal(enc, ref) {
			t.Fatalf("Encode wrote\n%s\nencoding/json\n%s (%v)", enc, ref, err)
		}
	}
	if failed == 0 {
		t.Fatal("no record with an unencodable time drawn: the error path went untested")
	}
}
