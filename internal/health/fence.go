package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// DefaultBound is how long a confirmation that the views are current lasts
// unless FenceOptions.Bound says otherwise: long enough to ride out an etcd
// leader election (about a second with etcd's defaults), short enough that a
// change made elsewhere is honoured everywhere within seconds.
const DefaultBound = 5 * time.Second

// progressRetry is how long a confirmation waits for a watch's progress
// notification before asking again; etcd sends none while a watch is still
// catching up, and forgets the request.
const progressRetry = 100 * time.Millisecond

// FenceOptions configure NewFence.
type FenceOptions struct {
	// Bound is how long after a confirmation began the views count as
	// current. 0: DefaultBound.
	Bound time.Duration
	// Interval is the time between confirmations. 0: Bound/5, so that a
	// confirmation or two may fail (an election) without the node going
	// stale.
	Interval time.Duration
	// Now is the clock. nil: time.Now.
	Now func() time.Time
	// Log receives the transitions between current and stale. nil:
	// slog.Default().
	Log *slog.Logger
}

// Fence confirms, again and again, that a node's views of a shared store are
// current, and says whether the last confirmation is recent enough to serve.
type Fence struct {
	p         store.Progress // nil: a local store, whose views are always current
	followers []*store.Follower
	bound     time.Duration
	interval  time.Duration
	now       func() time.Time
	log       *slog.Logger
	// epoch is when the fence was made; until is the end of the last
	// confirmation's validity, as nanoseconds after epoch, so Current is
	// one clock read and one atomic load. since reads the clock as time
	// after epoch: without FenceOptions.Now only the monotonic clock,
	// which costs a third of time.Now.
	epoch   time.Time
	since   func() time.Duration
	until   atomic.Int64
	refused atomic.Uint64

	mu        sync.Mutex
	confirmed time.Time // when the last successful confirmation began
	revision  int64     // the revision it confirmed
	lastErr   error     // why the last confirmation failed; nil after a success
}

// NewFence returns a fence over the followers of st. If st does not
// implement store.Progress (store/bolt) the views are always current and
// the fence never refuses. Call Confirm once, then Run.
func NewFence(st store.Store, followers []*store.Follower, o FenceOptions) *Fence {
	f := &Fence{followers: followers, bound: o.Bound, interval: o.Interval, now: o.Now, log: o.Log}
	f.p, _ = st.(store.Progress)
	if f.bound <= 0 {
		f.bound = DefaultBound
	}
	if f.interval <= 0 {
		f.interval = f.bound / 5
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.epoch = f.now()
	if o.Now == nil {
		f.since = func() time.Duration { return time.Since(f.epoch) }
	} else {
		f.since = func() time.Duration { return f.now().Sub(f.epoch) }
	}
	return f
}

// Current reports whether the views were confirmed current less than Bound
// ago. It is on every request's path: one clock read, one atomic load.
func (f *Fence) Current() bool {
	if f.p == nil {
		return true
	}
	return int64(f.since()) < f.until.Load()
}

// Confirm confirms once that the views are current: it reads the store's
// revision linearizably, then waits until every follower has reached it,
// asking the watches for progress until they report it. On success the
// views count as current until Bound after Confirm began, since every write
// acknowledged before then is at or below the revision read. It gives up
// after Bound.
func (f *Fence) Confirm(ctx context.Context) error {
	if f.p == nil {
		return nil
	}
	start := f.now()
	ctx, cancel := context.WithTimeout(ctx, f.bound)
	defer cancel()
	rev, err := f.p.Revision(ctx)
	if err != nil {
		return f.fail(fmt.Errorf("read the store's revision: %w", err))
	}
	for _, fl := range f.followers {
		for fl.Applied() < rev {
			if err := f.p.RequestProgress(ctx); err != nil {
				return f.fail(fmt.Errorf("ask the store's watches for progress: %w", err))
			}
			wctx, wcancel := context.WithTimeout(ctx, progressRetry)
			_ = fl.Wait(wctx, rev) // a timeout only means: ask again
			wcancel()
			if ctx.Err() != nil {
				return f.fail(fmt.Errorf("a watch did not reach the store's revision %d within %s (its view is at %d)", rev, f.bound, fl.Applied()))
			}
		}
	}
	f.confirm(start, rev)
	return nil
}

func (f *Fence) confirm(start time.Time, rev int64) {
	until := int64(start.Sub(f.epoch) + f.bound)
	for {
		old := f.until.Load()
		if until <= old || f.until.CompareAndSwap(old, until) {
			break
		}
	}
	f.mu.Lock()
	if start.After(f.confirmed) {
		f.confirmed, f.revision = start, rev
	}
	f.lastErr = nil
	f.mu.Unlock()
}

func (f *Fence) fail(err error) error {
	f.mu.Lock()
	f.lastErr = err
	f.mu.Unlock()
	return err
}

// Run confirms every Interval until ctx ends, logging when the node goes
// stale and when it is current again. It returns ctx's error.
func (f *Fence) Run(ctx context.Context) error {
	if f.p == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	// A node starts out meant to serve: if the first confirmation fails,
	// that is worth the same error as losing currency later.
	current := true
	for {
		err := f.Confirm(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch now := f.Current(); {
		case current && !now:
			f.log.Error("this node's view of the store is stale: it refuses requests until the view is confirmed current again", "bound", f.bound, "err", err)
		case !current && now:
			f.log.Info("this node's view of the store is confirmed current again: it serves")
		case err != nil && now:
			f.log.Warn("could not confirm that this node's view of the store is current; it serves until the bound passes", "bound", f.bound, "err", err)
		}
		current = f.Current()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// FenceStatus is what a fence knows, for readiness and metrics.
type FenceStatus struct {
	Local     bool          // the store is local: the views are always current
	Current   bool          // the node may serve
	Bound     time.Duration // how long a confirmation lasts
	Confirmed time.Time     // when the last successful confirmation began; zero if none
	Age       time.Duration // how long ago that was
	Revision  int64         // the store revision it confirmed
	Err       error         // why the last confirmation failed; nil if it succeeded
	Refused   uint64        // requests refused while stale
}

// Status returns the fence's state now.
func (f *Fence) Status() FenceStatus {
	s := FenceStatus{Local: f.p == nil, Current: f.Current(), Bound: f.bound, Refused: f.refused.Load()}
	f.mu.Lock()
	s.Confirmed, s.Revision, s.Err = f.confirmed, f.revision, f.lastErr
	f.mu.Unlock()
	if !s.Confirmed.IsZero() {
		s.Age = f.now().Sub(s.Confirmed)
	}
	return s
}
