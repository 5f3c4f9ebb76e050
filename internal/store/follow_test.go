package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

// view is a Handler that keeps the records it is given and what it was
// told, as a service's view does.
type view struct {
	mu      sync.Mutex
	kvs     map[string]string
	resets  int
	applies [][]string // the keys of each Apply
	keep    func(key []byte) bool
}

func (v *view) Reset(kvs []store.KV, rev int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.resets++
	v.kvs = map[string]string{}
	for _, kv := range kvs {
		v.kvs[kv.Key] = string(kv.Value)
	}
}

func (v *view) Apply(resp store.WatchResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var keys []string
	for _, ev := range resp.Events {
		keys = append(keys, ev.KV.Key)
		if ev.Type == store.Delete {
			delete(v.kvs, ev.KV.Key)
		} else {
			v.kvs[ev.KV.Key] = string(ev.KV.Value)
		}
	}
	v.applies = append(v.applies, keys)
}

func (v *view) String() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var s []string
	for k, val := range v.kvs {
		s = append(s, k+"="+val)
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}

// filtered is a view that is also a Filter.
type filtered struct{ *view }

func (f filtered) Keep(key []byte) bool { return !strings.HasSuffix(string(key), "/skip") }

// rangeOnly hides bolt's Scanner: Load then Ranges.
type rangeOnly struct{ store.Store }

func put(t *testing.T, st store.Store, kv ...string) int64 {
	t.Helper()
	var txn store.Txn
	for i := 0; i+1 < len(kv); i += 2 {
		txn.Puts = append(txn.Puts, store.KV{Key: kv[i], Value: []byte(kv[i+1])})
	}
	rev, err := st.Txn(context.Background(), txn)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// A Follower loads what is under its prefix (only what a Filter keeps,
// scanned or ranged), then applies each transaction under the prefix as
// one change, and Wait returns once a revision is applied: what a write
// acknowledged after Wait relies on.
func TestFollower(t *testing.T) {
	for _, tt := range []struct {
		name   string
		scan   bool
		filter bool
	}{{"scanned", true, false}, {"ranged", false, false}, {"scanned, filtered", true, true}, {"ranged, filtered", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			db, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var st store.Store = db
			if !tt.scan {
				st = rangeOnly{db}
			}
			put(t, db, "p/a", "1", "p/skip", "x", "q/a", "other")
			v := &view{}
			var h store.Handler = v
			if tt.filter {
				h = filtered{v}
			}
			f := store.NewFollower(st, "p/", h)
			ctx, cancel := context.WithCancel(context.Background())
			if err := f.Load(ctx); err != nil {
				t.Fatal(err)
			}
			want := "[p/a=1 p/skip=x]"
			if tt.filter {
				want = "[p/a=1]"
			}
			if got := v.String(); got != want || v.resets != 1 {
				t.Fatalf("after Load: %s (%d resets), want %s", got, v.resets, want)
			}
			done := make(chan error, 1)
			go func() { done <- f.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != context.Canceled {
					t.Errorf("Run: %v, want context.Canceled", err)
				}
			}()

			rev := put(t, db, "p/b", "2", "p/c", "3", "q/b", "not mine")
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			if err := f.Wait(wctx, rev); err != nil {
				t.Fatalf("Wait for a write under the prefix: %v", err)
			}
			if f.Applied() < rev {
				t.Fatalf("Applied %d after Wait(%d)", f.Applied(), rev)
			}
			v.mu.Lock()
			applies := fmt.Sprint(v.applies)
			v.mu.Unlock()
			// One transaction, one Apply, with only the prefix's records.
			if applies != "[[p/b p/c]]" {
				t.Fatalf("applied %s, want one change of p/b and p/c", applies)
			}
			if _, err := db.Txn(ctx, store.Txn{Deletes: []string{"p/a"}}); err != nil {
				t.Fatal(err)
			}
			rev = put(t, db, "p/d", "4")
			if err := f.Wait(wctx, rev); err != nil {
				t.Fatal(err)
			}
			want = "[p/b=2 p/c=3 p/d=4 p/skip=x]"
			if tt.filter {
				want = "[p/b=2 p/c=3 p/d=4]"
			}
			if got := v.String(); got != want {
				t.Fatalf("view %s, want %s", got, want)
			}
		})
	}
}

// Wait for a revision no write under the prefix brings ends with its
// context.
func TestFollowerWaitEndsWithItsContext(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := store.NewFollower(db, "p/", &view{})
	if err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	rev := put(t, db, "q/a", "elsewhere")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Wait(ctx, rev); err != context.Canceled {
		t.Fatalf("Wait for a revision outside the prefix: %v, want context.Canceled", err)
	}
	// A revision the follower has already seen needs no wait.
	if err := f.Wait(ctx, f.Applied()); err != nil {
		t.Fatalf("Wait for the applied revision: %v", err)
	}
}
