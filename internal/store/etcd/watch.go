package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trentkms/trent/internal/store"
)

// noLeaderPause is how long Watch waits before watching again after the
// etcd member it talked to lost its leader.
const noLeaderPause = 500 * time.Millisecond

// Watch sends the changes under prefix at revisions after fromRev, one
// store.WatchResponse per etcd revision, in revision order.
//
// etcd sends every event of one revision in one watch response (it splits
// a response only at revision boundaries unless asked to fragment, which
// Watch does not), so a response never holds part of a transaction.
//
// After RequestProgress, a watch that has sent everything up to the
// revision of the member serving it sends a progress notification: a
// response with no events and that revision.
//
// The watch requires a leader: an etcd member that is cut off from its
// cluster ends it rather than leaving it silent. Watch then watches again,
// after a short pause, from the last revision it sent, so an election is
// invisible to the reader. Transport failures are retried by the client the
// same way. A revision etcd no longer retains ends the watch with
// store.ErrCompacted; any other error ends it with that error; the end of
// ctx closes the channel.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	out := make(chan store.WatchResponse)
	go func() {
		defer close(out)
		if s.closed.Load() {
			send(ctx, out, store.WatchResponse{Err: store.ErrClosed})
			return
		}
		last := fromRev
		for {
			err := s.watch(ctx, prefix, &last, out)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, rpctypes.ErrNoLeader) {
				select {
				case <-time.After(noLeaderPause):
					continue
				case <-ctx.Done():
					return
				}
			}
			send(ctx, out, store.WatchResponse{Err: err})
			return
		}
	}()
	return out
}

// watch runs one etcd watch from *last+1, advancing *last as it sends, until
// the watch fails or ctx ends.
func (s *Store) watch(ctx context.Context, prefix string, last *int64, out chan<- store.WatchResponse) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	// The client's watch channel closes only once wctx is canceled.
	defer cancel()
	wch := s.cli.Watch(wctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(*last+1))
	for {
		var (
			wr clientv3.WatchResponse
			ok bool
		)
		select {
		case wr, ok = <-wch:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			if s.closed.Load() {
				return store.ErrClosed
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.New("etcd watch: closed by the client")
		}
		if err := wr.Err(); err != nil {
			switch {
			case s.closed.Load():
				return store.ErrClosed
			case errors.Is(err, rpctypes.ErrCompacted):
				return fmt.Errorf("etcd watch %s from %d: %w", prefix, *last+1, store.ErrCompacted)
			case errors.Is(err, rpctypes.ErrNoLeader):
				return err
			}
			return fmt.Errorf("etcd watch %s: %w", prefix, err)
		}
		if wr.IsProgressNotify() {
			// Sent by etcd after every event up to the revision it names
			// (only when asked, by RequestProgress): the reader's view is
			// current to that revision, and a resumed watch may start
			// after it.
			if rev := wr.Header.Revision; rev > *last {
				if !send(ctx, out, store.WatchResponse{Revision: rev}) {
					return ctx.Err()
				}
				*last = rev
			}
			continue
		}
		// Events arrive in revision order; cut them into one response per
		// revision.
		evs := wr.Events
		for len(evs) > 0 {
			rev := evs[0].Kv.ModRevision
			n := 1
			for n < len(evs) && evs[n].Kv.ModRevision == rev {
				n++
			}
			resp := store.WatchResponse{Revision: rev, Events: make([]store.Event, 0, n)}
			for _, e := range evs[:n] {
				resp.Events = append(resp.Events, s.event(e))
			}
			if !send(ctx, out, resp) {
				return ctx.Err()
			}
			*last = rev
			evs = evs[n:]
		}
	}
}

func (s *Store) event(e *clientv3.Event) store.Event {
	if e.Type == mvccpb.Event_DELETE {
		// As bolt: a deletion carries the key and the revision that removed it.
		return store.Event{Type: store.Delete, KV: store.KV{Key: s.kv(e.Kv).Key, ModRev: e.Kv.ModRevision}}
	}
	return store.Event{Type: store.Put, KV: s.kv(e.Kv)}
}

// send hands r to out unless ctx ends first; it reports whether it did.
func send(ctx context.Context, out chan<- store.WatchResponse, r store.WatchResponse) bool {
	select {
	case out <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// Revision returns etcd's current revision by a linearizable read (a quorum
// read through the leader): every transaction acknowledged before the call
// is at or below it.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, s.wrap("revision", err)
	}
	return resp.Header.Revision, nil
}

// RequestProgress asks the etcd member serving this store's watches for a
// progress notification on each of them. etcd answers only when every watch
// of the stream has caught up with the member, and sends it on the stream
// after the events before it, so the notification's revision is a promise
// that the watch has delivered everything up to it.
func (s *Store) RequestProgress(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	// Watches run on the gRPC stream of their context's metadata; the
	// request must carry the same (WithRequireLeader) to reach them.
	if err := s.cli.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		return s.wrap("request progress", err)
	}
	return nil
}
