package etcd

import (
	"context"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// A follower learns only of revisions under its prefix from events; writes
// elsewhere advance etcd's revision without telling it. Revision and
// RequestProgress confirm that it has everything up to etcd's revision.
func TestProgressConfirmsAFollowerIsCurrent(t *testing.T) {
	s := open(t)
	ctx := ctxT(t)
	put(t, s, "mine/a", "1")
	v := &view{}
	f := store.NewFollower(s, "mine/", v)
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go f.Run(runCtx)

	mine := put(t, s, "mine/b", "2")
	if err := f.Wait(ctx, mine); err != nil {
		t.Fatal(err)
	}
	// Writes outside the prefix move the revision past the follower.
	for range 3 {
		put(t, s, "other/x", "y")
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev <= mine || f.Applied() >= rev {
		t.Fatalf("revision %d, follower at %d: the writes elsewhere should be ahead of it", rev, f.Applied())
	}
	waitProgress(t, s, f, rev)
	if got, _ := v.get("mine/b"); got != "2" {
		t.Fatalf("view lost mine/b: %q", got)
	}

	// Events after a progress notification still arrive: the watch goes on
	// from the revision the notification named.
	later := put(t, s, "mine/c", "3")
	if err := f.Wait(ctx, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.get("mine/c"); got != "3" {
		t.Fatalf("view after progress lacks mine/c: %q", got)
	}
}

// A progress notification reaches the watch channel as a response with no
// events, after the events before it.
func TestWatchSendsProgressAfterEvents(t *testing.T) {
	s := open(t)
	ctx := ctxT(t)
	from := put(t, s, "p/a", "1")
	ch := s.Watch(ctx, "p/", from)
	ev := put(t, s, "p/b", "2")
	put(t, s, "q/elsewhere", "x")
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.Revision != ev || len(r.Events) != 1 {
		t.Fatalf("first response %+v, want the event at %d", r, ev)
	}
	// Ask until the notification comes (a watch still catching up gets none).
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-ch:
			if r.Err != nil || len(r.Events) != 0 {
				t.Fatalf("after the event, got %+v, want a progress notification", r)
			}
			if r.Revision < rev {
				t.Fatalf("progress at %d, want at least %d", r.Revision, rev)
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no progress notification")
		}
	}
}

// waitProgress asks for progress until f reaches rev, within the test's
// context.
func waitProgress(t *testing.T, s *Store, f *store.Follower, rev int64) {
	t.Helper()
	ctx := ctxT(t)
	for f.Applied() < rev {
		if err := s.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		f.Wait(wctx, rev)
		cancel()
		if ctx.Err() != nil {
			t.Fatalf("follower at %d never confirmed %d", f.Applied(), rev)
		}
	}
}
