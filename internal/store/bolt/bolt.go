// Package bolt is the embedded store engine: one bbolt file, fsynced on every
// commit, with an in-memory change history that serves Watch.
//
// # Group commit
//
// Transactions that arrive while a commit is being written and fsynced wait,
// and the next commit writes all of them in one bbolt transaction with one
// fsync (the leader/follower pattern: no timer, so a lone transaction is not
// delayed). Each keeps its own revision, its own compares (checked against
// the store with the transactions before it in the batch applied) and its
// own watch response, exactly as if they had been committed one by one, in
// arrival order; none is answered before the fsync that made it durable.
// With CreateKey at concurrency 16 this is what lets writes outrun the disk's
// fsync latency (bench/scalebench).
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/trentkms/trent/internal/store"
)

var (
	kvBucket   = []byte("kv")
	metaBucket = []byte("meta")
	revKey     = []byte("rev")
)

// historyLimit is how many recent revisions Watch can replay, and
// historyBytes how much of their values the history may hold: a revision
// that writes many records (a batch of CreateKeys) counts by its size. A
// watcher further behind gets store.ErrCompacted and must Range again.
const (
	historyLimit = 8192
	historyBytes = 16 << 20
)

// DB is a store.Store on a bbolt file.
type DB struct {
	db *bbolt.DB

	// mu serialises writers so that history and watchers see revisions in order,
	// and guards history, watchers and rev.
	mu       sync.Mutex
	rev      int64
	history  []store.WatchResponse // ascending revisions, at most historyLimit
	histSize int                   // bytes of keys and values in history
	watchers map[*watcher]struct{}
	closed   bool

	// qmu guards the queue of transactions waiting for the next commit and
	// whether some Txn call is leading (committing batches).
	qmu     sync.Mutex
	queue   []*pending
	leading bool

	commits int // bbolt write transactions, for tests; guarded by mu
}

// pending is one Txn call waiting for its batch to commit.
type pending struct {
	t      store.Txn
	rev    int64
	err    error
	events []store.Event // what it wrote, once committed
	done   chan struct{} // closed when rev and err are set
	lead   chan struct{} // receives when this call is to commit the queue
}

var (
	_ store.Store        = (*DB)(nil)
	_ store.Scanner      = (*DB)(nil)
	_ store.PageReleaser = (*DB)(nil)
)

// releaseEvery is how many records a scan passes between releases of the
// pages it mapped (releaseMapped): a start's scans of a large store then
// never hold most of the file resident at once.
const releaseEvery = 16384

// releaseCommits is how many commits pass between releases of the pages
// bbolt's writes mapped (each write reads the pages it changes through the
// map): a store filled with many records does not stay resident. A
// variable for tests.
var releaseCommits = 64

// ErrLocked is returned by Open when another process has the file open: a
// bbolt file has one user at a time, and Open gives up after five seconds.
var ErrLocked = errors.New("store: the file is in use by another process")

// Open opens or creates the database file at path (mode 0600).
func Open(path string) (*DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		// bbolt takes an exclusive flock on the file; only another process
		// holding it makes Open time out.
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
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

// Scan streams a range without copying values: kv.Value points into the
// database's memory map and is valid only during fn.
func (d *DB) Scan(ctx context.Context, prefix string, keep func(key []byte) bool, fn func(kv store.KV) error) (int64, error) {
	return d.ScanSkip(ctx, prefix, keep, nil, fn)
}

// ScanSkip is Scan that seeks to skip(k), when it is after k, past the
// records from a key k that keep refuses: their pages are not read.
func (d *DB) ScanSkip(ctx context.Context, prefix string, keep func(key []byte) bool, skip func(key []byte) []byte, fn func(kv store.KV) error) (int64, error) {
	var rev int64
	err := d.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(revKey); len(v) == 8 {
			rev = int64(binary.BigEndian.Uint64(v))
		}
		c := tx.Bucket(kvBucket).Cursor()
		p := []byte(prefix)
		passed := 0
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
			if passed++; passed%releaseEvery == 0 {
				// Records behind the cursor are not read again.
				d.releaseMapped(tx)
			}
			if keep != nil && !keep(k) {
				if next := store.SkipTarget(skip, k); next != nil {
					k, v = c.Seek(next)
				} else {
					k, v = c.Next()
				}
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			kv := store.KV{Key: string(k), Value: []byte{}}
			if len(v) >= 16 {
				kv.CreateRev = int64(binary.BigEndian.Uint64(v[0:]))
				kv.ModRev = int64(binary.BigEndian.Uint64(v[8:]))
				kv.Value = v[16:len(v):len(v)]
			}
			if err := fn(kv); err != nil {
				return err
			}
			k, v = c.Next()
		}
		return nil
	})
	return rev, d.wrap(err)
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
	if len(t.Puts) == 0 && len(t.Deletes) == 0 && len(t.Compares) == 0 {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.closed {
			return 0, store.ErrClosed
		}
		return d.rev, nil
	}
	p := &pending{t: t, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	d.qmu.Lock()
	d.queue = append(d.queue, p)
	if !d.leading {
		d.leading = true
		p.lead <- struct{}{}
	}
	d.qmu.Unlock()
	// Once queued, the transaction commits or fails with its batch whatever
	// ctx does: giving up early would not undo it.
	select {
	case <-p.done:
	case <-p.lead:
		d.qmu.Lock()
		batch := d.queue
		d.queue = nil
		d.qmu.Unlock()
		d.commit(batch)
		// Hand on: whoever queued first while this batch was written leads
		// the next one.
		d.qmu.Lock()
		if len(d.queue) > 0 {
			d.queue[0].lead <- struct{}{}
		} else {
			d.leading = false
		}
		d.qmu.Unlock()
		<-p.done
	}
	return p.rev, p.err
}

// commit writes a batch in one bbolt transaction (one fsync) and answers
// every call in it. If bbolt fails the transaction (not a compare: an
// error writing), each call is committed alone, so that one bad
// transaction fails only itself.
func (d *DB) commit(batch []*pending) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if d.closed {
		for _, p := range batch {
			p.err = store.ErrClosed
		}
		return
	}
	if err := d.apply(batch); err != nil && len(batch) > 1 {
		for _, p := range batch {
			d.apply([]*pending{p})
		}
	}
	if d.commits%releaseCommits == 0 {
		d.ReleasePages()
	}
}

// apply commits batch in one bbolt transaction, sets each call's result,
// and publishes what it wrote. On a bbolt error nothing is written, every
// call gets the error and apply returns it.
func (d *DB) apply(batch []*pending) error {
	d.commits++
	next := d.rev
	err := d.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(kvBucket)
		for _, p := range batch {
			p.rev, p.err, p.events = 0, nil, nil
			if !compares(b, p.t.Compares) {
				p.err = store.ErrConflict
				continue
			}
			if len(p.t.Puts) == 0 && len(p.t.Deletes) == 0 {
				p.rev = next
				continue
			}
			rev := next + 1
			for _, key := range p.t.Deletes {
				if b.Get([]byte(key)) == nil {
					continue
				}
				if err := b.Delete([]byte(key)); err != nil {
					return err
				}
				p.events = append(p.events, store.Event{Type: store.Delete, KV: store.KV{Key: key, ModRev: rev}})
			}
			for _, kv := range p.t.Puts {
				create := rev
				if old := b.Get([]byte(kv.Key)); len(old) >= 16 {
					create = int64(binary.BigEndian.Uint64(old[0:]))
				}
				if err := b.Put([]byte(kv.Key), encode(create, rev, kv.Value)); err != nil {
					return err
				}
				p.events = append(p.events, store.Event{Type: store.Put, KV: store.KV{
					Key: kv.Key, Value: bytes.Clone(kv.Value), CreateRev: create, ModRev: rev,
				}})
			}
			if len(p.events) == 0 {
				p.rev = next // deletes of missing keys only: no change
				continue
			}
			next, p.rev = rev, rev
		}
		if next == d.rev {
			return nil
		}
		var rb [8]byte
		binary.BigEndian.PutUint64(rb[:], uint64(next))
		return tx.Bucket(metaBucket).Put(revKey, rb[:])
	})
	if err != nil {
		err = d.wrap(err)
		for _, p := range batch {
			p.rev, p.err, p.events = 0, err, nil
		}
		return err
	}
	d.rev = next
	for _, p := range batch {
		if len(p.events) == 0 {
			continue
		}
		resp := store.WatchResponse{Revision: p.rev, Events: p.events}
		d.history = append(d.history, resp)
		d.histSize += respSize(resp)
		for w := range d.watchers {
			w.push(resp)
		}
	}
	if len(d.history) > historyLimit || d.histSize > historyBytes {
		// Keep the newer half, by count and by size.
		keep, size := 0, 0
		for i := len(d.history) - 1; i >= 0 && keep < historyLimit/2; i-- {
			n := respSize(d.history[i])
			if keep > 0 && size+n > historyBytes/2 {
				break
			}
			keep, size = keep+1, size+n
		}
		d.history = append(d.history[:0:0], d.history[len(d.history)-keep:]...)
		d.histSize = size
	}
	return nil
}

func respSize(r store.WatchResponse) int {
	n := 0
	for _, e := range r.Events {
		n += len(e.KV.Key) + len(e.KV.Value)
	}
	return n
}

// compares reports whether every compare holds in b.
func compares(b *bbolt.Bucket, cs []store.Compare) bool {
	for _, c := range cs {
		v := b.Get([]byte(c.Key))
		var mod int64
		if len(v) >= 16 {
			mod = int64(binary.BigEndian.Uint64(v[8:]))
		}
		if mod != c.ModRev {
			return false
		}
	}
	return true
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
