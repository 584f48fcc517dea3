package stream

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
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

// ioWritten is the bytes leveldb has written to its files so far.
func ioWritten(t *testing.T, st storage.Storage) uint64 {
	t.Helper()
	var s leveldb.DBStats
	if err := st.(*leveldbStorage).db.Stats(&s); err != nil {
		t.Fatal(err)
	}
	return s.IOWrite
}

// A key written many times between two flushes costs one leveldb write of
// its latest value; reads see the latest at once, before and after.
func TestStorageMergesAKeysWritesUntilTheFlush(t *testing.T) {
	st := open(t, leveldbBuilder(t.TempDir()))
	defer st.Close()
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	const n, size = 100, 10_000
	before := ioWritten(t, st)
	for i := range n {
		v := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		if err := st.Set("hot", v); err != nil {
			t.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get("hot"); !bytes.Equal(got, v) {
			t.Fatalf("write %d: Get does not see it", i)
		}
	}
	if err := st.(*leveldbStorage).readable(); err != nil {
		t.Fatal(err)
	}
	written := ioWritten(t, st) - before
	if written > 2*size {
		t.Errorf("%d writes of %d bytes to one key wrote %d bytes to leveldb, want about one value", n, size, written)
	}
	last := bytes.Repeat([]byte{byte('a' + (n-1)%26)}, size)
	if got, err := st.(*leveldbStorage).db.Get([]byte("hot"), nil); err != nil || !bytes.Equal(got, last) {
		t.Errorf("leveldb after the flush holds %d bytes (%v), want the latest value", len(got), err)
	}
	if o, _ := st.GetOffset(-1); o != n-1 {
		t.Errorf("offset %d, want %d", o, n-1)
	}
}

// Deletes merge like writes: the key's last word is what reaches leveldb.
func TestStorageMergesDeletes(t *testing.T) {
	dir := t.TempDir()
	st := open(t, leveldbBuilder(dir))
	for _, step := range []func() error{
		func() error { return st.Set("gone", []byte("1")) },
		func() error { return st.Delete("gone") },
		func() error { return st.Delete("back") },
		func() error { return st.Set("back", []byte("2")) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := st.Has("gone"); ok {
		t.Error("deleted key still there before the flush")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, leveldbBuilder(dir))
	defer st.Close()
	if ok, _ := st.Has("gone"); ok {
		t.Error("deleted key back after the flush")
	}
	if v, _ := st.Get("back"); string(v) != "2" {
		t.Errorf("key written after its delete: %q, want 2", v)
	}
}

// The pending bytes stay bounded whatever is written: the latest values
// below restoreBatchBytes (plus the write that crossed it), and the bytes
// written between flushes below flushWrittenBytes.
func TestStoragePendingBytesStayBounded(t *testing.T) {
	st := open(t, leveldbBuilder(t.TempDir()))
	defer st.Close()
	ls := st.(*leveldbStorage)
	value := make([]byte, 50_000)
	flushes, prev := 0, 0
	for i := range 2000 {
		k := "hot"
		if i%2 == 1 {
			k = key(i)
		}
		if err := st.Set(k, value); err != nil {
			t.Fatal(err)
		}
		ls.mu.Lock()
		size, written := ls.size, ls.written
		ls.mu.Unlock()
		if size >= restoreBatchBytes || written >= flushWrittenBytes {
			t.Fatalf("after write %d: %d bytes pending, %d written since the flush", i, size, written)
		}
		if written < prev {
			flushes++
		}
		prev = written
	}
	if flushes < 50 {
		t.Errorf("%d flushes for 100 MB written", flushes)
	}
}

// A crash at any point leaves an offset on disk at or below which every
// record's key holds that record or a later one, however a hot key's
// writes were merged; resuming the restore from it ends in the latest.
func TestMergedWritesKeepTheOffsetBehindTheRecords(t *testing.T) {
	for _, crashAt := range []int{137, 1000, 2999} {
		t.Run(fmt.Sprint(crashAt), func(t *testing.T) {
			dir := t.TempDir()
			st := open(t, leveldbBuilder(dir))
			if err := st.MarkRecovered(); err != nil {
				t.Fatal(err)
			}
			// Changelog record i: the hot key every other record (big),
			// another key otherwise; written, then acknowledged.
			keyOfRecord := func(i int) string {
				if i%2 == 0 {
					return "hot"
				}
				return key(i % 200)
			}
			valueOfRecord := func(i int) []byte {
				v := fmt.Appendf(nil, "%08d:", i)
				if i%2 == 0 {
					return append(v, make([]byte, 40_000)...)
				}
				return append(v, make([]byte, 500)...)
			}
			write := func(st storage.Storage, from, to int) {
				for i := from; i < to; i++ {
					if err := st.Set(keyOfRecord(i), valueOfRecord(i)); err != nil {
						t.Fatal(err)
					}
					if err := st.SetOffset(int64(i)); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(st, 0, crashAt)
			if err := st.(*leveldbStorage).db.Close(); err != nil { // killed
				t.Fatal(err)
			}
			st = open(t, leveldbBuilder(dir))
			defer st.Close()
			o, err := st.GetOffset(-1)
			if err != nil {
				t.Fatal(err)
			}
			if o >= int64(crashAt) {
				t.Fatalf("offset on disk %d, past the last record %d", o, crashAt-1)
			}
			for i := 0; i <= int(o); i++ {
				v, err := st.Get(keyOfRecord(i))
				if err != nil || len(v) < 9 {
					t.Fatalf("record %d (at or below the offset %d): key %s missing (%v)", i, o, keyOfRecord(i), err)
				}
				var at int
				fmt.Sscanf(string(v[:8]), "%d", &at)
				if at < i {
					t.Fatalf("record %d (at or below the offset %d): key %s holds the older record %d", i, o, keyOfRecord(i), at)
				}
			}
			write(st, int(o)+1, 3000)
			if v, _ := st.Get("hot"); !bytes.HasPrefix(v, []byte("00002998:")) {
				t.Errorf("hot key after the resumed restore: %.9q, want record 2998", v)
			}
		})
	}
}
