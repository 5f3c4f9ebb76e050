// Package bolt is the embedded store engine: one bbolt file, fsynced on every
// commit, with an in-memory change history that serves Watch.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/trentkms/trent/internal/store"
)

var (
	kvBucket   = []byte("kv")
	metaBucket = []byte("meta")
	revKey     = []byte("rev")
)

// historyLimit is how many recent revisions Watch can replay. A watcher further
// behind gets store.ErrCompacted and must Range again.
const historyLimit = 8192

// DB is a store.Store on a bbolt file.
type DB struct {
	db *bbolt.DB

	// mu serialises writers so that history and watchers see revisions in order,
	// and guards history, watchers and rev.
	mu       sync.Mutex
	rev      int64
	history  []store.WatchResponse // ascending revisions, at most historyLimit
	watchers map[*watcher]struct{}
	closed   bool
}

var _ store.Store = (*DB)(nil)

// Open opens or creates the database file at path (mode 0600).
func Open(path string) (*DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	d := &DB{db: db, watchers: map[*watcher]struct{}{}}
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(kvBucket); err != nil {
			return err
		}
		m, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if v := m.Get(revKey); len(v) == 8 {
			d.rev = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init store %s: %w", path, err)
	}
	return d, nil
}

// record layout: createRev (8) | modRev (8) | value
func encode(create, mod int64, v []byte) []byte {
	b := make([]byte, 16+len(v))
	binary.BigEndian.PutUint64(b[0:], uint64(create))
	binary.BigEndian.PutUint64(b[8:], uint64(mod))
	copy(b[16:], v)
	return b
}

func decode(key, b []byte) store.KV {
	kv := store.KV{Key: string(key)}
	if len(b) < 16 {
		return kv
	}
	kv.CreateRev = int64(binary.BigEndian.Uint64(b[0:]))
	kv.ModRev = int64(binary.BigEndian.Uint64(b[8:]))
	// bbolt's bytes are valid only inside the transaction: copy.
	kv.Value = bytes.Clone(b[16:])
	if kv.Value == nil {
		kv.Value = []byte{}
	}
	return kv
}

func (d *DB) Get(ctx context.Context, key string) (store.KV, error) {
	var kv store.KV
	err := d.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(kvBucket).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		kv = decode([]byte(key), v)
		return nil
	})
	return kv, d.wrap(err)
}

func (d *DB) Range(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	var out []store.KV
	var rev int64
	err := d.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(revKey); len(v) == 8 {
			rev = int64(binary.BigEndian.Uint64(v))
		}
		c := tx.Bucket(kvBucket).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out = append(out, decode(k, v))
		}
		return nil
	})
	return out, rev, d.wrap(err)
}

func (d *DB) wrap(err error) error {
	if err == bbolt.ErrDatabaseNotOpen {
		return store.ErrClosed
	}
	return err
}

func (d *DB) Txn(ctx context.Context, t store.Txn) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, store.ErrClosed
	}
	if len(t.Puts) == 0 && len(t.Deletes) == 0 && len(t.Compares) == 0 {
		return d.rev, nil
	}
	next := d.rev + 1
	var events []store.Event
	err := d.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(kvBucket)
		for _, c := range t.Compares {
			v := b.Get([]byte(c.Key))
			var mod int64
			if len(v) >= 16 {
				mod = int64(binary.BigEndian.Uint64(v[8:]))
			}
			if mod != c.ModRev {
				return store.ErrConflict
			}
		}
		if len(t.Puts) == 0 && len(t.Deletes) == 0 {
			return nil
		}
		for _, key := range t.Deletes {
			if b.Get([]byte(key)) == nil {
				continue
			}
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
			events = append(events, store.Event{Type: store.Delete, KV: store.KV{Key: key, ModRev: next}})
		}
		for _, p := range t.Puts {
			create := next
			if old := b.Get([]byte(p.Key)); len(old) >= 16 {
				create = int64(binary.BigEndian.Uint64(old[0:]))
			}
			if err := b.Put([]byte(p.Key), encode(create, next, p.Value)); err != nil {
				return err
			}
			events = append(events, store.Event{Type: store.Put, KV: store.KV{
				Key: p.Key, Value: bytes.Clone(p.Value), CreateRev: create, ModRev: next,
			}})
		}
		var rb [8]byte
		binary.BigEndian.PutUint64(rb[:], uint64(next))
		return tx.Bucket(metaBucket).Put(revKey, rb[:])
	})
	if err != nil {
		return 0, d.wrap(err)
	}
	if len(events) == 0 {
		return d.rev, nil
	}
	d.rev = next
	resp := store.WatchResponse{Revision: next, Events: events}
	d.history = append(d.history, resp)
	if len(d.history) > historyLimit {
		d.history = append(d.history[:0:0], d.history[len(d.history)-historyLimit/2:]...)
	}
	for w := range d.watchers {
		w.push(resp)
	}
	return next, nil
}

func (d *DB) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	w := &watcher{prefix: prefix, out: make(chan store.WatchResponse), wake: make(chan struct{}, 1)}
	d.mu.Lock()
	switch {
	case d.closed:
		w.fail(store.ErrClosed)
	case fromRev < d.oldestRetained()-1:
		w.fail(store.ErrCompacted)
	default:
		for _, r := range d.history {
			if r.Revision > fromRev {
				w.push(r)
			}
		}
		d.watchers[w] = struct{}{}
	}
	d.mu.Unlock()
	go func() {
		w.run(ctx)
		d.mu.Lock()
		delete(d.watchers, w)
		d.mu.Unlock()
	}()
	return w.out
}

// oldestRetained is the first revision Watch can still replay.
func (d *DB) oldestRetained() int64 {
	if len(d.history) == 0 {
		return d.rev + 1
	}
	return d.history[0].Revision
}

// Close ends every watch and closes the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	for w := range d.watchers {
		w.fail(store.ErrClosed)
	}
	d.mu.Unlock()
	return d.db.Close()
}

// watcher queues responses without bound so a slow reader never blocks a
// writer; its goroutine hands them to out in order.
type watcher struct {
	prefix string
	out    chan store.WatchResponse
	wake   chan struct{}

	mu      sync.Mutex
	pending []store.WatchResponse
	failed  bool
}

func (w *watcher) push(r store.WatchResponse) {
	var evs []store.Event
	for _, e := range r.Events {
		if len(e.KV.Key) >= len(w.prefix) && e.KV.Key[:len(w.prefix)] == w.prefix {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return
	}
	w.mu.Lock()
	w.pending = append(w.pending, store.WatchResponse{Revision: r.Revision, Events: evs})
	w.mu.Unlock()
	w.signal()
}

func (w *watcher) fail(err error) {
	w.mu.Lock()
	if !w.failed {
		w.failed = true
		w.pending = append(w.pending, store.WatchResponse{Err: err})
	}
	w.mu.Unlock()
	w.signal()
}

func (w *watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	for {
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, r := range batch {
			select {
			case w.out <- r:
			case <-ctx.Done():
				return
			}
			if r.Err != nil {
				return
			}
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		}
	}
}
