package stream

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/lovoo/goka/storage"
)

func key(i int) string { return fmt.Sprintf("key-%06d", i) }

// restoreInto writes records from..to-1 as goka's restore does: each
// record, then the offset it reached.
func restoreInto(t *testing.T, st storage.Storage, from, to int, value []byte) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := st.Set(key(i), value); err != nil {
			t.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func open(t *testing.T, b storage.Builder) storage.Storage {
	t.Helper()
	st, err := b("table", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	return st
}

// A restore cut short (the process killed: what is batched is lost) leaves
// an offset on disk whose records are all there, and resumes after it.
func TestCutRestoreResumesAfterTheRecordsItWrote(t *testing.T) {
	dir := t.TempDir()
	value := bytes.Repeat([]byte("v"), 1000)
	st := open(t, leveldbBuilder(dir))
	const n = 3500 // three batches and a part
	restoreInto(t, st, 0, n, value)
	if o, err := st.GetOffset(-1); err != nil || o != n-1 {
		t.Fatalf("offset while restoring: %d %v, want %d", o, err, n-1)
	}
	// Killed: leveldb closes without this storage writing its batch.
	if err := st.(*leveldbStorage).db.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, leveldbBuilder(dir))
	o, err := st.GetOffset(-1)
	if err != nil {
		t.Fatal(err)
	}
	if o < 0 || o >= n-1 {
		t.Fatalf("offset on disk after the kill: %d, want one of an earlier batch (0 to %d)", o, n-2)
	}
	for i := 0; i <= int(o); i++ {
		if v, err := st.Get(key(i)); err != nil || !bytes.Equal(v, value) {
			t.Fatalf("record %d at or below the offset on disk (%d) is missing: %q %v", i, o, v, err)
		}
	}
	restoreInto(t, st, int(o)+1, n, value)
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if v, _ := st.Get(key(i)); !bytes.Equal(v, value) {
			t.Fatalf("record %d missing after the resumed restore", i)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// Reads during a restore see every write so far; after MarkRecovered
// writes and offsets go to disk at once.
func TestStorageReadsWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	st := open(t, leveldbBuilder(dir))
	restoreInto(t, st, 0, 10, []byte("a"))
	if err := st.Delete(key(3)); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(key(9)); err != nil || string(v) != "a" {
		t.Errorf("Get during the restore: %q %v", v, err)
	}
	if ok, _ := st.Has(key(3)); ok {
		t.Error("a key deleted during the restore is still there")
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	if err := st.Set("after", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOffset(42); err != nil {
		t.Fatal(err)
	}
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	it.Release()
	if len(keys) != 10 || keys[0] != "after" || keys[1] != key(0) {
		t.Errorf("iterated %v: want the 9 restored keys left and \"after\", never the offset", keys)
	}
	// Killed after recovery: nothing is waiting in a batch.
	if err := st.(*leveldbStorage).db.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, leveldbBuilder(dir))
	defer st.Close()
	if o, _ := st.GetOffset(-1); o != 42 {
		t.Errorf("offset after a kill past recovery: %d, want 42", o)
	}
	if v, _ := st.Get("after"); string(v) != "b" {
		t.Errorf("write after recovery lost: %q", v)
	}
}

// State directories written by goka's storage open with this one, and the
// other way round: same files, same offset key.
func TestStorageSharesGokasFormat(t *testing.T) {
	for _, c := range []struct {
		name          string
		write, reread func(string) storage.Builder
	}{
		{"goka then aistream", storage.DefaultBuilder, leveldbBuilder},
		{"aistream then goka", leveldbBuilder, storage.DefaultBuilder},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st := open(t, c.write(dir))
			restoreInto(t, st, 0, 5, []byte("x"))
			if err := st.MarkRecovered(); err != nil {
				t.Fatal(err)
			}
			if err := st.SetOffset(7); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = open(t, c.reread(dir))
			defer st.Close()
			if o, err := st.GetOffset(-1); err != nil || o != 7 {
				t.Errorf("offset: %d %v, want 7", o, err)
			}
			if v, _ := st.Get(key(4)); string(v) != "x" {
				t.Errorf("value: %q", v)
			}
		})
	}
}
