package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Handler keeps an in-memory view of the records under one prefix. Reset
// replaces the whole view; Apply applies the changes of one revision (all the
// records one Txn wrote, so a view never shows half a transaction).
type Handler interface {
	Reset(kvs []KV, rev int64)
	Apply(resp WatchResponse)
}

// Filter is a Handler that wants only some records under its prefix: Load
// skips the others without reading their values (with a Scanner store).
// Apply still sees every change under the prefix.
type Filter interface {
	Keep(key []byte) bool
}

// Skipper is a Filter that knows where a run of records it refuses ends:
// after Keep refuses key, Skip returns a later key such that Keep refuses
// every key from key up to it, or nil. A SkipScanner store seeks there, so
// that a view which refuses most of the store does not read its pages.
type Skipper interface {
	Skip(key []byte) []byte
}

// Loader is a Handler that can take a whole view record by record instead
// of as one slice: LoadFrom replaces the view with what scan puts, in key
// order. kv.Value is valid only during put. Used with a Scanner store.
type Loader interface {
	LoadFrom(scan func(put func(kv KV)) error) error
}

// Follower keeps a Handler current with the store: an initial Range, then a
// Watch from that revision, ranging again whenever the watch falls behind.
// It is how the request hot path reads without store I/O.
type Follower struct {
	st     Store
	prefix string
	h      Handler

	mu      sync.Mutex
	applied int64
	changed chan struct{} // closed and replaced whenever applied advances
}

// NewFollower returns a follower of prefix; call Load, then Run.
func NewFollower(st Store, prefix string, h Handler) *Follower {
	return &Follower{st: st, prefix: prefix, h: h, changed: make(chan struct{})}
}

// loadTries bounds how many times Load starts again when the store
// compacts the revision it was reading before it finished.
const loadTries = 3

// Load fills the handler from the store: streamed when the store is a
// Scanner (and the handler a Loader), with only the records a Filter keeps.
// A read that fails with ErrCompacted (store/etcd pages a large range at one
// revision, which etcd may compact meanwhile) is started again from nothing:
// a Loader's LoadFrom and Reset each replace the whole view, so nothing of
// the abandoned read stays.
func (f *Follower) Load(ctx context.Context) error {
	var rev int64
	var err error
	for try := 1; ; try++ {
		rev, err = f.load(ctx)
		if !errors.Is(err, ErrCompacted) || try == loadTries || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", f.prefix, err)
	}
	if r, ok := f.st.(PageReleaser); ok {
		// The scan read the records the handler keeps; the view holds
		// them now, and the pages need not stay mapped.
		r.ReleasePages()
	}
	f.advance(rev)
	return nil
}

func (f *Follower) load(ctx context.Context) (int64, error) {
	var keep func(key []byte) bool
	if fl, ok := f.h.(Filter); ok {
		keep = fl.Keep
	}
	sc, scans := f.st.(Scanner)
	scan := func(fn func(KV) error) (int64, error) {
		ss, seeks := f.st.(SkipScanner)
		if sk, ok := f.h.(Skipper); ok && seeks && keep != nil {
			return ss.ScanSkip(ctx, f.prefix, keep, sk.Skip, fn)
		}
		return sc.Scan(ctx, f.prefix, keep, fn)
	}
	var rev int64
	var err error
	switch l, loads := f.h.(Loader); {
	case scans && loads:
		err = l.LoadFrom(func(put func(KV)) error {
			rev, err = scan(func(kv KV) error { put(kv); return nil })
			return err
		})
	case scans:
		var kvs []KV
		rev, err = scan(func(kv KV) error {
			kv.Value = append([]byte{}, kv.Value...)
			kvs = append(kvs, kv)
			return nil
		})
		if err == nil {
			f.h.Reset(kvs, rev)
		}
	default:
		var kvs []KV
		if kvs, rev, err = f.st.Range(ctx, f.prefix); err == nil {
			if keep != nil {
				kvs = slices.DeleteFunc(kvs, func(kv KV) bool { return !keep([]byte(kv.Key)) })
			}
			f.h.Reset(kvs, rev)
		}
	}
	return rev, err
}

// Run follows changes until ctx ends; it returns ctx's error, or the store's
// if the store fails or closes.
func (f *Follower) Run(ctx context.Context) error {
	for {
		wctx, cancel := context.WithCancel(ctx)
		err := f.follow(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, ErrCompacted) {
			return err
		}
		if err := f.Load(ctx); err != nil {
			return err
		}
	}
}

func (f *Follower) follow(ctx context.Context) error {
	for resp := range f.st.Watch(ctx, f.prefix, f.Applied()) {
		if resp.Err != nil {
			return resp.Err
		}
		if len(resp.Events) == 0 {
			// A progress notification: nothing to apply, but the view
			// now reflects every revision up to this one.
			f.advance(resp.Revision)
			continue
		}
		f.h.Apply(resp)
		f.advance(resp.Revision)
	}
	return ctx.Err()
}

// Applied is the newest revision the handler reflects.
func (f *Follower) Applied() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *Follower) advance(rev int64) {
	f.mu.Lock()
	if rev > f.applied {
		f.applied = rev
		close(f.changed)
		f.changed = make(chan struct{})
	}
	f.mu.Unlock()
}

// Wait blocks until the handler reflects revision rev, so that a write is
// visible to the next request on this node before the write is acknowledged.
// A Txn that touched nothing under the prefix still advances the store
// revision; the follower only learns of revisions under its prefix (and of
// those a progress notification reports), so callers wait only for revisions
// of their own writes to it, or ask a Progress store for progress.
func (f *Follower) Wait(ctx context.Context, rev int64) error {
	for {
		f.mu.Lock()
		applied, ch := f.applied, f.changed
		f.mu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
