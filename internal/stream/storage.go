package stream

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
	ldbiter "github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// offsetKey is where goka's leveldb storage keeps the table offset the
// local copy has reached; this storage keeps it there too, so state
// directories written by either open with the other.
const offsetKey = "__offset"

// restoreBatchBytes is how much of a restore is written to leveldb at
// once: below leveldb's write buffer (4 MiB), so a batch goes through its
// journal like any write.
const restoreBatchBytes = 1 << 20

// leveldbBuilder stores each table partition in its own leveldb under
// dir, at the path goka's storage.DefaultBuilder uses.
func leveldbBuilder(dir string) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		db, err := leveldb.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%d", topic, partition)), nil)
		if err != nil {
			return nil, fmt.Errorf("open local state of %s/%d in %s: %w", topic, partition, dir, err)
		}
		return newLeveldbStorage(db), nil
	}
}

// leveldbStorage is goka's leveldb storage (goka/storage.New) except for
// how writes reach leveldb. goka's writes every record with its own leveldb
// Put, one journal write (a write syscall) each, and after every changelog
// acknowledgement a second Put for the offset: restoring a table spent most
// of its time there, and processing about a tenth of its CPU. This one
// keeps the latest write of each key not yet in leveldb in pending (a read
// sees it at once), so a key written many times between two flushes, like
// a hot trace's graph, costs one leveldb write (Kafka Streams' record cache
// does the same for its stores). A flush builds one leveldb batch from
// pending, with the table offset reached, and writes it once the pending
// values reach restoreBatchBytes, once the bytes written since the last
// flush (superseded writes included) reach flushWrittenBytes, and on
// MarkRecovered, on Close and before iterating.
//
// Crash recovery: the offset on disk never runs ahead of the records it
// covers. goka writes a record here before producing it to the changelog
// and sets the offset once the changelog has it, so every record at or
// below the offset written with a batch was written here before the flush:
// the batch holds it, or a later write of its key, or an earlier flush did.
// A crash loses at most the writes not yet flushed; the next start restores
// the table from the offset on disk, and the changelog holds every record
// the lost writes had that was acknowledged (the ones that were not are the
// same loss as with goka's storage: their input was not committed and is
// redelivered).
type leveldbStorage struct {
	db        *leveldb.DB
	restoring atomic.Bool

	mu      sync.Mutex
	batch   *leveldb.Batch     // reused by flush
	pending map[string]pending // the latest write of each key not yet in leveldb
	size    int                // bytes of pending's keys and values
	written int                // bytes written since the last flush, superseded writes included
	offset  int64              // the table offset reached
	// offsetSet: offset was set; offsetDirty: and not written since.
	offsetSet, offsetDirty bool
}

// flushWrittenBytes bounds the bytes written (superseded writes included)
// between two flushes, so the offset on disk keeps moving while one key is
// rewritten over and over: a restart restores at most about that much of
// the changelog again.
const flushWrittenBytes = 16 * restoreBatchBytes

// pending is a write not yet in leveldb.
type pending struct {
	value   []byte
	deleted bool
}

func newLeveldbStorage(db *leveldb.DB) *leveldbStorage {
	s := &leveldbStorage{db: db, batch: new(leveldb.Batch), pending: map[string]pending{}}
	s.restoring.Store(true)
	return s
}

func (s *leveldbStorage) Open() error { return nil }

// flush writes the pending records and the offset they reach in one
// leveldb batch; s.mu is held.
func (s *leveldbStorage) flush() error {
	if len(s.pending) == 0 && !s.offsetDirty {
		return nil
	}
	s.batch.Reset()
	for k, p := range s.pending {
		if p.deleted {
			s.batch.Delete([]byte(k))
		} else {
			s.batch.Put([]byte(k), p.value)
		}
	}
	if s.offsetSet {
		s.batch.Put([]byte(offsetKey), []byte(strconv.FormatInt(s.offset, 10)))
	}
	err := s.db.Write(s.batch, nil)
	s.batch.Reset()
	if err != nil {
		// Kept: the next flush writes it again, before the offset moves on.
		return fmt.Errorf("write pending records to leveldb: %w", err)
	}
	clear(s.pending)
	s.size, s.written, s.offsetDirty = 0, 0, false
	return nil
}

// readable makes every write so far visible to iterators.
func (s *leveldbStorage) readable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush()
}

// write makes a write the key's pending one, and flushes once the pending
// or the written bytes are big enough.
func (s *leveldbStorage) write(key string, value []byte, del bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.pending[key]; ok {
		s.size -= len(key) + len(old.value)
	}
	s.pending[key] = pending{value: value, deleted: del}
	n := len(key) + len(value)
	s.size += n
	s.written += n
	if s.size < restoreBatchBytes && s.written < flushWrittenBytes {
		return nil
	}
	return s.flush()
}

// lookup returns a write not yet in leveldb.
func (s *leveldbStorage) lookup(key string) (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[key]
	return p, ok
}

func (s *leveldbStorage) Set(key string, value []byte) error {
	if err := s.write(key, value, false); err != nil {
		return fmt.Errorf("error setting to leveldb (key %s): %w", key, err)
	}
	return nil
}

func (s *leveldbStorage) Delete(key string) error {
	if err := s.write(key, nil, true); err != nil {
		return fmt.Errorf("error deleting from leveldb (key %s): %w", key, err)
	}
	return nil
}

func (s *leveldbStorage) Has(key string) (bool, error) {
	if p, ok := s.lookup(key); ok {
		return !p.deleted, nil
	}
	return s.db.Has([]byte(key), nil)
}

func (s *leveldbStorage) Get(key string) ([]byte, error) {
	if p, ok := s.lookup(key); ok {
		if p.deleted {
			return nil, nil
		}
		return p.value, nil
	}
	v, err := s.db.Get([]byte(key), nil)
	if err == leveldb.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error getting from leveldb (key %s): %w", key, err)
	}
	return v, nil
}

// GetOffset returns the table offset the local copy has reached, def if
// it has none.
func (s *leveldbStorage) GetOffset(def int64) (int64, error) {
	s.mu.Lock()
	o, ok := s.offset, s.offsetSet
	s.mu.Unlock()
	if ok {
		return o, nil
	}
	data, err := s.db.Get([]byte(offsetKey), nil)
	if err == leveldb.ErrNotFound {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("error reading the offset from leveldb: %w", err)
	}
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("error decoding offset %q: %w", data, err)
	}
	return v, nil
}

// SetOffset records the table offset reached; it is written with the next
// batch.
func (s *leveldbStorage) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.offsetSet, s.offsetDirty = offset, true, true
	return nil
}

// MarkRecovered ends the restore: what it batched is written.
func (s *leveldbStorage) MarkRecovered() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.restoring.Load() {
		return nil
	}
	// Even a restore that had nothing to load writes its offset (flush
	// does when it moved), as goka's storage does here.
	err := s.flush()
	s.restoring.Store(false)
	return err
}

func (s *leveldbStorage) Close() error {
	s.mu.Lock()
	err := s.flush()
	s.mu.Unlock()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *leveldbStorage) Iterator() (storage.Iterator, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	return &ldbIterator{s.db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})}, nil
}

func (s *leveldbStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	if len(limit) > 0 {
		return &ldbIterator{s.db.NewIterator(&util.Range{Start: start, Limit: limit}, nil)}, nil
	}
	return &ldbIterator{s.db.NewIterator(util.BytesPrefix(start), nil)}, nil
}

// ldbIterator iterates over the records, never the offset.
type ldbIterator struct{ it ldbiter.Iterator }

func (i *ldbIterator) Next() bool {
	for i.it.Next() {
		if string(i.it.Key()) != offsetKey {
			return true
		}
	}
	return false
}

func (i *ldbIterator) Seek(key []byte) bool {
	if !i.it.Seek(key) {
		return false
	}
	return string(i.it.Key()) != offsetKey || i.Next()
}

func (i *ldbIterator) Err() error             { return i.it.Error() }
func (i *ldbIterator) Key() []byte            { return i.it.Key() }
func (i *ldbIterator) Value() ([]byte, error) { return i.it.Value(), nil }
func (i *ldbIterator) Release()               { i.it.Release() }
